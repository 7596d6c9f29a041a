"""The package is typed (py.typed, strict mypy) and user code type-checks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import spikard

USER = textwrap.dedent(
    """
    from typing import Annotated
    import msgspec
    from spikard import Spikard, Query, Header, Request, Response, HTTPException
    from spikard.testing import TestClient

    class Item(msgspec.Struct):
        name: str
        price: float

    app = Spikard(cors={"allow_origins": ["*"]})

    @app.get("/items/{item_id:int}")
    def get_item(item_id: int, q: Annotated[str | None, Query(max_length=5)] = None) -> dict[str, object]:
        return {"id": item_id, "q": q}

    @app.post("/items", status_code=201)
    async def create(item: Item, x_token: Annotated[str, Header()], request: Request) -> Item:
        if not x_token:
            raise HTTPException(401, "no token")
        return item

    @app.get("/r")
    def r() -> Response:
        return Response("x", status=200)

    from collections.abc import AsyncIterator, Iterator
    from spikard import (
        EventSchemaError, EventSourceResponse, ServerSentEvent, StreamingResponse, WebSocket, WebSocketClose,
    )

    @app.get("/export")
    def export() -> StreamingResponse:
        def rows() -> Iterator[bytes]:
            yield b"1"
        return StreamingResponse(rows(), media_type="application/x-ndjson", headers={"X-A": "1"})

    @app.get("/lines")
    async def lines() -> AsyncIterator[str]:
        yield "a"

    @app.sse("/feed", event_schema=Item, keep_alive_ms=15000)
    async def feed(request: Request) -> AsyncIterator[ServerSentEvent]:
        last: str | None = request.last_event_id
        try:
            yield ServerSentEvent(Item(name="x", price=1.0), event="item", id=last, retry=1000)
        except EventSchemaError:
            pass

    @app.get("/events")
    def events() -> EventSourceResponse:
        return EventSourceResponse(iter(["a"]))

    @app.websocket("/ws/{room}", subprotocols=["chat"], message_schema=Item)
    class Chat:
        def on_connect(self, ws: WebSocket) -> None:
            ws.send_json({"room": ws.path_params["room"]})

        async def on_message(self, ws: WebSocket, message: str | bytes) -> str | bytes | None:
            await ws.send_text("seen")
            if message == "bye":
                raise WebSocketClose(4000, "bye")
            return message

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None:
            ws.state.clear()

    def check() -> None:
        with TestClient(app) as client:
            status: int = client.get("/items/1").status_code
            assert status == 200
    """
)


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy")
    return subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", *args], capture_output=True, text=True)


def test_package_is_typed() -> None:
    pkg = Path(spikard.__file__).parent
    assert (pkg / "py.typed").is_file()
    res = _mypy("--strict", "-p", "spikard")
    assert res.returncode == 0, res.stdout + res.stderr


def test_user_code_type_checks(tmp_path: Path) -> None:
    f = tmp_path / "user_app.py"
    f.write_text(USER)
    res = _mypy("--strict", "--ignore-missing-imports", str(f))
    assert res.returncode == 0, res.stdout + res.stderr
