"""Streamed bodies and Server-Sent Events over real sockets: chunks as they
come, sync and async producers, client disconnects, failing generators,
Last-Event-ID and the route's event schema."""

from __future__ import annotations

import asyncio
import queue
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import msgspec
import pytest

from spikard import (
    EventSchemaError,
    EventSourceResponse,
    Request,
    ServerSentEvent,
    Spikard,
    StreamingResponse,
)
from spikard.testing import TestClient

WAIT = 10.0  # seconds a test waits for an event before it fails


def parse_events(text: str) -> list[dict[str, str]]:
    """Events as a browser parses them (LF line ends are all the core writes)."""
    events, cur, data = [], {}, []
    for line in text.split("\n"):
        if line == "":
            if data or cur:
                if data:
                    cur["data"] = "\n".join(data)
                events.append(cur)
            cur, data = {}, []
            continue
        field, _, value = line.partition(":")
        value = value[1:] if value.startswith(" ") else value
        if field == "data":
            data.append(value)
        elif field:
            cur[field] = value
        else:
            cur.setdefault("comment", value)
    return events


def raw_get(port: int, path: str) -> socket.socket:
    """A GET on a plain socket (the test decides when it goes away)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=WAIT)
    s.sendall(f"GET {path} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
    return s


async def as_async(gen: Iterator[bytes]) -> AsyncIterator[bytes]:
    """The same producer as an async generator (closing it closes gen)."""
    try:
        for chunk in gen:
            yield chunk
    finally:
        gen.close()


# ---------------------------------------------------------------- streaming


def test_chunks_go_out_as_they_come() -> None:
    app = Spikard()
    release = threading.Event()

    @app.get("/export")
    def export() -> StreamingResponse:
        def rows() -> Iterator[bytes]:
            yield b'{"i":0}\n'
            # the client must already hold the first chunk: nothing is buffered
            assert release.wait(WAIT), "the first chunk never reached the client"
            yield b'{"i":1}\n'
            yield ""  # an empty chunk does not end the body
            yield '{"i":2}\n'

        return StreamingResponse(rows(), status_code=206, headers={"X-Export": "yes"}, media_type="application/x-ndjson")

    with TestClient(app) as client, httpx.Client(base_url=client.base_url, timeout=WAIT) as h:
        with h.stream("GET", "/export") as r:
            assert r.status_code == 206
            assert r.headers["content-type"] == "application/x-ndjson"
            assert r.headers["x-export"] == "yes"
            assert "content-length" not in r.headers
            assert r.headers["transfer-encoding"] == "chunked"
            chunks = r.iter_bytes()
            assert next(chunks) == b'{"i":0}\n'
            release.set()
            rest = b"".join(chunks)
        assert rest == b'{"i":1}\n{"i":2}\n'


def test_bare_generators_sync_and_async() -> None:
    app = Spikard()

    @app.get("/sync/{n:int}")
    def count(n: int) -> Iterator[str]:
        for i in range(n):
            yield f"{i};"

    @app.get("/async")
    async def acount() -> AsyncIterator[bytes]:
        for i in range(3):
            await asyncio.sleep(0)
            yield str(i).encode()

    @app.get("/returns-async")
    def returns_async(request: Request) -> StreamingResponse:
        async def gen() -> AsyncIterator[str]:
            yield request.path  # the request stays readable while streaming
            yield "!"

        return StreamingResponse(gen(), media_type="text/plain")

    with TestClient(app) as client:
        r = client.get("/sync/4")
        assert r.status_code == 200 and r.text == "0;1;2;3;"
        assert "content-length" not in r.headers
        r = client.get("/async")
        assert r.status_code == 200 and r.text == "012"
        r = client.get("/returns-async")
        assert r.text == "/returns-async!" and r.headers["content-type"] == "text/plain"
        assert client.get("/sync/x").status_code == 422  # validated before any stream


def test_sync_app_runs_async_producers() -> None:
    """An app without async handlers is served by the native loop: an async
    generator returned there runs on a loop of its own."""
    app = Spikard()

    @app.get("/a")
    def a() -> StreamingResponse:
        async def gen() -> AsyncIterator[bytes]:
            await asyncio.sleep(0)
            yield b"from a private loop"

        return StreamingResponse(gen())

    with TestClient(app) as client:
        assert client.server is not None and not client.server.uses_asyncio
        assert client.get("/a").content == b"from a private loop"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_a_failing_generator_cuts_the_body_off(kind: str, caplog: pytest.LogCaptureFixture) -> None:
    app = Spikard()

    def broken() -> Iterator[bytes]:
        yield b"partial"
        raise ValueError("boom")

    async def abroken() -> AsyncIterator[bytes]:
        yield b"partial"
        raise ValueError("boom")

    @app.get("/broken")
    async def route() -> StreamingResponse:
        return StreamingResponse(broken() if kind == "sync" else abroken())

    @app.get("/ok")
    def ok() -> str:
        return "still serving"

    with TestClient(app) as client, httpx.Client(base_url=client.base_url, timeout=WAIT) as h:
        with pytest.raises(httpx.RemoteProtocolError):
            h.get("/broken")  # never a complete-looking body
        assert client.get("/ok").text == "still serving"
    assert any("ValueError: boom" in (r.exc_text or "") for r in caplog.records)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_client_gone_closes_the_generator(kind: str) -> None:
    app = Spikard()
    closed: queue.Queue[int] = queue.Queue()
    first = threading.Event()

    def endless() -> Iterator[bytes]:
        n = 0
        try:
            while True:
                yield b"x" * 65536
                n += 1
                first.set()
        finally:
            closed.put(n)

    @app.get("/endless")
    def route() -> StreamingResponse:
        return StreamingResponse(endless() if kind == "sync" else as_async(endless()), media_type="application/octet-stream")

    @app.get("/ok")
    async def ok() -> str:
        return "ok"

    with TestClient(app) as client:
        assert client.server is not None
        s = raw_get(client.server.port, "/endless")
        assert s.recv(64).startswith(b"HTTP/1.1 200")
        assert first.wait(WAIT)
        s.close()
        n = closed.get(timeout=WAIT)  # the generator's finally ran
        assert n >= 1
        assert client.get("/ok").text == "ok"


def test_a_slow_sync_generator_does_not_block_the_server() -> None:
    app = Spikard()
    release = threading.Event()

    @app.get("/slow")
    def slow() -> Iterator[bytes]:
        yield b"start;"
        assert release.wait(WAIT)
        yield b"end"

    @app.get("/fast")
    def fast() -> str:
        return "fast"

    with TestClient(app) as client, httpx.Client(base_url=client.base_url, timeout=WAIT) as h:
        with h.stream("GET", "/slow") as r:
            chunks = r.iter_bytes()
            assert next(chunks) == b"start;"
            # the producer is blocked; the drain loop is not
            assert client.get("/fast").text == "fast"
            release.set()
            assert b"".join(chunks) == b"end"


def test_head_and_chunk_types() -> None:
    app = Spikard()

    @app.get("/bad-chunk")
    def bad() -> Iterator[Any]:
        yield b"ok"
        yield 42  # neither bytes nor str: the stream fails

    with TestClient(app) as client, httpx.Client(base_url=client.base_url, timeout=WAIT) as h:
        with pytest.raises(httpx.RemoteProtocolError):
            h.get("/bad-chunk")
        r = h.head("/bad-chunk")
        assert r.status_code == 200 and r.content == b""


# ---------------------------------------------------------------------- SSE


class Tick(msgspec.Struct):
    n: int


def test_event_stream_fields_and_last_event_id() -> None:
    app = Spikard()

    @app.sse("/feed", keep_alive_ms=-1)
    async def feed(request: Request) -> AsyncIterator[ServerSentEvent | dict[str, int] | str]:
        start = int(request.last_event_id or 0)
        for i in range(start + 1, start + 3):
            yield ServerSentEvent({"n": i}, event="tick", id=i)
        yield ServerSentEvent("two\nlines", comment="note", retry=2500)
        yield {"plain": 1}
        yield "text"

    with TestClient(app) as client:
        r = client.get("/feed", headers={"Last-Event-ID": "41", "Accept": "text/event-stream"})
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream"
        assert "content-length" not in r.headers
        events = parse_events(r.text)
        assert events == [
            {"event": "tick", "id": "42", "data": '{"n":42}'},
            {"event": "tick", "id": "43", "data": '{"n":43}'},
            {"comment": "note", "retry": "2500", "data": "two\nlines"},
            {"data": '{"plain":1}'},
            {"data": "text"},
        ]


def test_event_source_response_on_any_route() -> None:
    app = Spikard()

    @app.get("/events")
    def events() -> EventSourceResponse:
        def gen() -> Iterator[ServerSentEvent]:
            yield ServerSentEvent("a", id="1")
            yield ServerSentEvent(event="ping", id="2")  # no data: sets the id only

        return EventSourceResponse(gen(), headers={"X-Feed": "1"})

    with TestClient(app) as client:
        r = client.get("/events")
        assert r.headers["content-type"] == "text/event-stream" and r.headers["x-feed"] == "1"
        assert "data: a" in r.text and "id: 2" in r.text


def test_event_schema_rejects_at_the_yield() -> None:
    app = Spikard()
    rejected: list[str] = []

    @app.sse("/typed", event_schema=Tick, keep_alive_ms=-1)
    def typed() -> Iterator[Any]:
        for data in ({"n": 1}, {"n": "x"}, "not json", Tick(n=2)):
            try:
                yield data
            except EventSchemaError as e:
                rejected.append(str(e))

    @app.sse("/strict", event_schema={"type": "object", "required": ["n"]}, keep_alive_ms=-1)
    def strict() -> Iterator[Any]:
        yield {"n": 1}
        yield {"m": 2}  # not caught: the stream fails
        yield {"n": 3}

    with TestClient(app) as client, httpx.Client(base_url=client.base_url, timeout=WAIT) as h:
        r = client.get("/typed")
        assert [e["data"] for e in parse_events(r.text)] == ['{"n":1}', '{"n":2}']
        assert len(rejected) == 2 and all("event_schema" in m or "schema" in m for m in rejected)
        with pytest.raises(httpx.RemoteProtocolError):
            h.get("/strict")
        assert client.get("/typed").status_code == 200


def test_sse_route_in_the_document() -> None:
    doc = {
        "version": 1,
        "routes": [{"method": "GET", "path": "/e", "handler": "e", "sse": {"keep_alive_ms": -1}}],
    }
    app = Spikard.from_document(doc)

    @app.handler("e")
    def e(request: Request) -> Iterator[str]:
        yield "bare generator on an sse route"

    with TestClient(app) as client:
        r = client.get("/e")
        assert r.headers["content-type"] == "text/event-stream"
        assert parse_events(r.text) == [{"data": "bare generator on an sse route"}]


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_shutdown_ends_open_streams(kind: str) -> None:
    """A stream whose client stopped reading (its producer blocked by
    backpressure) does not hold the shutdown up: the write fails, the
    generator is closed."""
    app = Spikard()
    closed = threading.Event()
    started = threading.Event()

    def endless() -> Iterator[bytes]:
        try:
            while True:
                started.set()
                yield b"y" * 65536
        finally:
            closed.set()

    @app.get("/endless")
    async def route() -> StreamingResponse:
        return StreamingResponse(endless() if kind == "sync" else as_async(endless()))

    client = TestClient(app, grace_ms=300).start()
    assert client.server is not None
    s = raw_get(client.server.port, "/endless")
    try:
        assert started.wait(WAIT)
        client.close()  # returns: the blocked producer was released
        assert closed.wait(WAIT)
    finally:
        s.close()
