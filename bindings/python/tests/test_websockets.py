"""WebSockets over real sockets: class and function handlers, sync and
async callbacks, echo of text/binary/JSON, close codes both ways, a failing
callback (1011), validated path and query values, sends from other threads."""

from __future__ import annotations

import asyncio
import json
import queue
import threading
from typing import Any

import msgspec
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from spikard import Spikard, WebSocket, WebSocketClose
from spikard.testing import TestClient

WAIT = 10.0


def ws_connect(client: TestClient, path: str, **kw: Any) -> ClientConnection:
    url = "ws" + client.base_url[len("http"):] + path
    return connect(url, proxy=None, compression=None, open_timeout=WAIT, close_timeout=WAIT, **kw)


def closed_with(c: ClientConnection) -> tuple[int, str]:
    """Reads until the server's close frame; its code and reason."""
    with pytest.raises(ConnectionClosed) as info:
        while True:
            c.recv(timeout=WAIT)
    rcvd = info.value.rcvd
    assert rcvd is not None, "no close frame from the server"
    return rcvd.code, rcvd.reason


class Item(msgspec.Struct):
    name: str


def make_app(events: queue.Queue[Any]) -> Spikard:
    app = Spikard()

    @app.websocket("/chat/{room}/{n:int}", parameters={"query": {"who": {"type": "string", "optional": True}}})
    class Chat:
        def on_connect(self, ws: WebSocket) -> None:
            self.count = 0
            ws.send_json({"room": ws.path_params["room"], "n": ws.path_params["n"], "who": ws.query_params.get("who")})

        def on_message(self, ws: WebSocket, message: str | bytes) -> Any:
            self.count += 1
            if message == "bye":
                raise WebSocketClose(4001, "bye")
            if message == "close-me":
                ws.close(4002, "closed by the handler")
                return None
            if message == "boom":
                raise RuntimeError("boom")
            if message == "json":
                return {"count": self.count}
            return message  # text back as text, bytes as binary

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            events.put(("close", code, reason, self.count))

    @app.websocket("/async")
    class AsyncEcho:
        async def on_connect(self, ws: WebSocket) -> None:
            await asyncio.sleep(0)
            await ws.send_text("hello")

        async def on_message(self, ws: WebSocket, message: str | bytes) -> Any:
            await asyncio.sleep(0)
            if message == "boom":
                raise ValueError("async boom")
            if message == "bye":
                raise WebSocketClose(4003, "async bye")
            return message

        async def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            events.put(("async-close", code, reason))

    @app.websocket("/fn", message_schema=Item)
    def shout(ws: WebSocket, message: str | bytes) -> str:
        assert isinstance(message, str)
        return msgspec.json.decode(message, type=Item).name.upper()

    @app.websocket("/typed")
    class Typed:
        async def on_message(self, ws: WebSocket, message: Item) -> Item:
            return Item(name=message.name * 2)  # decoded from JSON, sent back as JSON

    @app.get("/ok")
    def ok() -> str:
        return "ok"

    return app


@pytest.fixture
def events() -> queue.Queue[Any]:
    return queue.Queue()


def test_echo_text_binary_json_and_path_values(events: queue.Queue[Any]) -> None:
    with TestClient(make_app(events)) as client:
        with ws_connect(client, "/chat/lobby/7?who=ann") as c:
            assert json.loads(c.recv(timeout=WAIT)) == {"room": "lobby", "n": 7, "who": "ann"}
            c.send("héllo")
            assert c.recv(timeout=WAIT) == "héllo"
            c.send(b"\x00\x01\xff")
            assert c.recv(timeout=WAIT) == b"\x00\x01\xff"
            c.send("json")
            assert json.loads(c.recv(timeout=WAIT)) == {"count": 3}
            c.close(1000, "done")
        assert events.get(timeout=WAIT) == ("close", 1000, "done", 3)


def test_path_values_are_validated(events: queue.Queue[Any]) -> None:
    from websockets.exceptions import InvalidStatus

    with TestClient(make_app(events)) as client:
        with pytest.raises(InvalidStatus) as info:
            ws_connect(client, "/chat/lobby/not-a-number")
        assert info.value.response.status_code == 422


def test_close_codes(events: queue.Queue[Any]) -> None:
    with TestClient(make_app(events)) as client:
        with ws_connect(client, "/chat/a/1") as c:
            c.recv(timeout=WAIT)
            c.send("bye")
            assert closed_with(c) == (4001, "bye")
        assert events.get(timeout=WAIT)[:3] == ("close", 4001, "bye")
        with ws_connect(client, "/chat/a/1") as c:
            c.recv(timeout=WAIT)
            c.send("close-me")
            assert closed_with(c) == (4002, "closed by the handler")
        assert events.get(timeout=WAIT)[:2] == ("close", 4002)
        with ws_connect(client, "/chat/a/1") as c:
            c.recv(timeout=WAIT)
            c.close(4100, "client code")
        assert events.get(timeout=WAIT)[:3] == ("close", 4100, "client code")


def test_an_exception_closes_with_1011(events: queue.Queue[Any], caplog: pytest.LogCaptureFixture) -> None:
    with TestClient(make_app(events)) as client:
        with ws_connect(client, "/chat/a/1") as c:
            c.recv(timeout=WAIT)
            c.send("boom")
            assert closed_with(c)[0] == 1011
        with ws_connect(client, "/async") as c:
            assert c.recv(timeout=WAIT) == "hello"
            c.send("boom")
            assert closed_with(c)[0] == 1011
        assert client.get("/ok").text == "ok"  # the server goes on
    messages = " ".join(r.exc_text or "" for r in caplog.records)
    assert "RuntimeError: boom" in messages and "ValueError: async boom" in messages


def test_async_callbacks(events: queue.Queue[Any]) -> None:
    with TestClient(make_app(events)) as client:
        assert client.server is not None and client.server.uses_asyncio
        with ws_connect(client, "/async") as c:
            assert c.recv(timeout=WAIT) == "hello"
            for i in range(20):  # one connection's events stay in order
                c.send(f"m{i}")
            assert [c.recv(timeout=WAIT) for _ in range(20)] == [f"m{i}" for i in range(20)]
            c.send(b"\x02")
            assert c.recv(timeout=WAIT) == b"\x02"
            c.send("bye")
            assert closed_with(c) == (4003, "async bye")
        assert events.get(timeout=WAIT) == ("async-close", 4003, "async bye")


def test_function_handler_and_message_schema(events: queue.Queue[Any]) -> None:
    with TestClient(make_app(events)) as client:
        with ws_connect(client, "/fn") as c:
            c.send('{"name": "ann"}')
            assert c.recv(timeout=WAIT) == "ANN"
            c.send('{"nom": "ann"}')  # the core answers the schema failure; the handler never sees it
            problem = json.loads(c.recv(timeout=WAIT))
            assert problem["type"] == "https://spikard.dev/errors/validation-error"
            c.send('{"name": "bob"}')
            assert c.recv(timeout=WAIT) == "BOB"


def test_sends_from_another_thread() -> None:
    app = Spikard()
    connected: queue.Queue[WebSocket] = queue.Queue()
    closed = threading.Event()

    @app.websocket("/feed")
    class Feed:
        def on_connect(self, ws: WebSocket) -> None:
            connected.put(ws)

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            closed.set()

    with TestClient(app) as client:
        with ws_connect(client, "/feed") as c:
            ws = connected.get(timeout=WAIT)
            t = threading.Thread(target=lambda: [ws.send_text(f"push {i}") for i in range(3)])
            t.start()
            t.join(WAIT)
            assert [c.recv(timeout=WAIT) for _ in range(3)] == ["push 0", "push 1", "push 2"]
            ws.send_bytes(b"\x01")
            assert c.recv(timeout=WAIT) == b"\x01"
            ws.close(1000, "server done")
            assert closed_with(c) == (1000, "server done")
        assert closed.wait(WAIT)
        from spikard import ClientDisconnected

        with pytest.raises(ClientDisconnected):
            ws.send_text("too late")
        ws.close()  # closing a closed connection does nothing


def test_typed_messages(events: queue.Queue[Any]) -> None:
    """on_message's annotation is the message schema and its decoded type."""
    app = make_app(events)
    route = next(r for r in app.document()["routes"] if r["path"] == "/typed")
    assert route["websocket"]["message_schema"]["required"] == ["name"]
    with TestClient(app) as client:
        with ws_connect(client, "/typed") as c:
            c.send('{"name": "ab"}')
            assert json.loads(c.recv(timeout=WAIT)) == {"name": "abab"}
            c.send('{"name": 1}')
            assert json.loads(c.recv(timeout=WAIT))["type"] == "https://spikard.dev/errors/validation-error"
