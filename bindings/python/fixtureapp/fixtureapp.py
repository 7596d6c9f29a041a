"""The Python binding's conformance fixture app (cmd/conformance/PROTOCOL.md).

Reads one JSON message per line on stdin and answers one per line on stdout:

    in:  {"app": <configuration document>, "handlers": {"h0": {...}}}
    out: {"port": N}            or {"error": "..."}
    in:  {"stop": true}
    out: {"stopped": true}

The app is built with the public API (Spikard.from_document + app.handler)
and served by spikard.Server on a background thread; logs go to stderr.
"""

from __future__ import annotations

import base64
import sys
import threading
import time
import uuid
from typing import Any

import msgspec

import spikard
from spikard import (
    Continue,
    EventSchemaError,
    EventSourceResponse,
    Request,
    Response,
    Server,
    ServerSentEvent,
    StreamingResponse,
    WebSocket,
    WebSocketClose,
)

TASK = "__fixture_task__"  # the background task handler (not in the document)


class Record(msgspec.Struct):
    state: str
    value: msgspec.Raw = msgspec.Raw(b"")


class Background(msgspec.Struct):
    state: str
    from_: str = msgspec.field(name="from")


class States:
    """The running app's named lists (background work, cleanups, resolution
    order), read by "state" handlers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.lists: dict[str, list[Any]] = {}

    def add(self, name: str, value: Any) -> None:
        with self.lock:
            self.lists.setdefault(name, []).append(value)

    def get(self, name: str) -> list[Any]:
        with self.lock:
            return list(self.lists.get(name, []))


_MISSING = object()


def pointer(doc: Any, p: str) -> Any:
    """RFC 6901; _MISSING when the document has nothing there."""
    if p == "":
        return doc
    if not p.startswith("/"):
        return _MISSING
    cur = doc
    for tok in p[1:].split("/"):
        tok = tok.replace("~1", "/").replace("~0", "~")
        if isinstance(cur, dict) and tok in cur:
            cur = cur[tok]
        elif isinstance(cur, list) and tok.isdigit() and int(tok) < len(cur):
            cur = cur[int(tok)]
        else:
            return _MISSING
    return cur


def fill(body: bytes, targets: dict[str, str], values: Any) -> bytes:
    doc = msgspec.json.decode(body)
    for target, source in targets.items():
        v = pointer(values, source)
        if v is _MISSING:
            raise LookupError(f"fill {target!r}: no {source} in the values document")
        if target == "":
            doc = v
            continue
        parent_p, _, key = target.rpartition("/")
        parent = pointer(doc, parent_p)
        if not isinstance(parent, dict):
            raise LookupError(f"fill {target!r}: the body has no object there")
        parent[key.replace("~1", "/").replace("~0", "~")] = v
    return msgspec.json.encode(doc)


class StreamSpec(msgspec.Struct):
    chunks: list[str] = []  # base64
    delay_ms: int = 0


class EventSpec(msgspec.Struct):
    event: str = ""
    id: str = ""
    retry_ms: int = 0
    data: str = ""
    comment: str = ""


class SSESpec(msgspec.Struct):
    events: list[EventSpec] = []
    delay_ms: int = 0
    resume: bool = False


class CloseOn(msgspec.Struct):
    text: str
    code: int = 1000
    reason: str = ""


class WebSocketSpec(msgspec.Struct):
    echo: bool = False
    greeting: msgspec.Raw = msgspec.Raw(b"")
    close_on: CloseOn | None = None


class HandlerSpec(msgspec.Struct, omit_defaults=True):
    status: int = 200
    headers: dict[str, str] = {}
    set_cookies: list[str] = []
    body: msgspec.Raw = msgspec.Raw(b"")
    body_raw: str | None = None
    content_type: str = ""
    echo: bool = False
    # "raise" is a keyword in Python
    raise_: bool = msgspec.field(default=False, name="raise")
    sleep_ms: int = 0
    # hooks, dependencies and background work (PROTOCOL.md)
    continue_: bool = msgspec.field(default=False, name="continue")
    require: list[str] = []
    record: list[Record] = []
    cleanup_record: list[Record] = []
    headers_from: dict[str, str] = {}
    fill: dict[str, str] = {}
    generate: str = ""
    background: Background | None = None
    state: str = ""
    # streams, event streams and WebSockets (PROTOCOL.md)
    stream: StreamSpec | None = None
    sse: SSESpec | None = None
    websocket: WebSocketSpec | None = None


class Message(msgspec.Struct):
    app: msgspec.Raw = msgspec.Raw(b"")
    handlers: dict[str, HandlerSpec] = {}
    stop: bool = False


class Raised(Exception):
    """The handler fails, as the scenario asks."""


def stream_answer(spec: HandlerSpec, s: StreamSpec, headers: list[tuple[str, str]]) -> StreamingResponse:
    """Each chunk written and flushed as it comes, after delay_ms."""
    chunks = [base64.b64decode(c) for c in s.chunks]

    def produce() -> Any:
        for c in chunks:
            if s.delay_ms > 0:
                time.sleep(s.delay_ms / 1000)
            yield c

    return StreamingResponse(produce(), status_code=spec.status, headers=headers, media_type=spec.content_type or None)


def sse_answer(spec: HandlerSpec, s: SSESpec, headers: list[tuple[str, str]], request: Request) -> EventSourceResponse:
    """The events in order; one the route's event schema rejects is skipped.
    With resume, events whose numeric id is not above the client's
    Last-Event-ID are skipped too."""
    last: int | None = None
    if s.resume and (request.last_event_id or "").isdigit():
        last = int(request.last_event_id or "")

    def events() -> Any:
        for e in s.events:
            if last is not None and e.id.isdigit() and int(e.id) <= last:
                continue
            if s.delay_ms > 0:
                time.sleep(s.delay_ms / 1000)
            try:
                yield ServerSentEvent(
                    e.data or None, event=e.event or None, id=e.id or None, retry=e.retry_ms or None,
                    comment=e.comment or None,
                )
            except EventSchemaError:
                continue

    return EventSourceResponse(events(), status_code=spec.status, headers=headers)


def websocket_handler(spec: WebSocketSpec) -> type:
    """Greets on connect, echoes each message as it came, closes on close_on.text."""
    greeting = bytes(spec.greeting).decode() if len(spec.greeting) else None

    class Handler:
        def on_connect(self, ws: WebSocket) -> None:
            if greeting is not None:
                ws.send_text(greeting)

        def on_message(self, ws: WebSocket, message: str | bytes) -> str | bytes | None:
            close_on = spec.close_on
            if close_on is not None and isinstance(message, str) and message == close_on.text:
                raise WebSocketClose(close_on.code, close_on.reason)
            return message if spec.echo else None

    return Handler


def make_handler(spec: HandlerSpec, states: States) -> Any:
    def handler(request: Request) -> Response | Continue | StreamingResponse:
        if spec.sleep_ms > 0:
            time.sleep(spec.sleep_ms / 1000)
        call = request.call or {}
        if call.get("kind") == "cleanup":
            for r in spec.cleanup_record:
                states.add(r.state, msgspec.json.decode(r.value))
            return Continue()
        values = request.validated()
        for p in spec.require:
            if pointer(values, p) is _MISSING:
                raise LookupError(f"required {p} is not in the values document {request.values!r}")
        for r in spec.record:
            states.add(r.state, msgspec.json.decode(r.value) if len(r.value) else call.get("name"))
        if spec.raise_:
            raise Raised("the handler raised, as the scenario asks")
        headers = dict(spec.headers)
        for k, p in spec.headers_from.items():
            v = pointer(values, p)
            if v is _MISSING:
                raise LookupError(f"headers_from {k}: no {p} in the values document")
            headers[k] = v if isinstance(v, str) else msgspec.json.encode(v).decode()
        if spec.background is not None:
            v = pointer(values, spec.background.from_)
            if v is _MISSING:
                raise LookupError(f"background: no {spec.background.from_} in the values document")
            request.background(TASK, msgspec.json.encode({"state": spec.background.state, "value": v}))
        if spec.continue_:
            return Continue(headers=headers)
        if spec.stream is not None:
            return stream_answer(spec, spec.stream, [*headers.items(), *(("Set-Cookie", c) for c in spec.set_cookies)])
        if spec.sse is not None:
            return sse_answer(spec, spec.sse, [*headers.items(), *(("Set-Cookie", c) for c in spec.set_cookies)], request)
        body: Any
        media: str | None
        if spec.state:
            body, media = {spec.state: states.get(spec.state)}, None
        elif spec.generate == "uuid":
            body, media = msgspec.json.encode(str(uuid.uuid4())), "application/json"
        elif spec.generate:
            raise ValueError(f"unknown generate {spec.generate!r}")
        elif spec.echo:
            body, media = request.values, "application/json"
        elif spec.body_raw is not None:
            body, media = spec.body_raw.encode(), spec.content_type
        elif len(spec.body) and bytes(spec.body) != b"null":
            body, media = bytes(spec.body), spec.content_type or "application/json"
            if spec.fill:
                body = fill(body, spec.fill, values)
        else:
            body, media = None, spec.content_type
        return Response(body, status=spec.status, headers=headers, cookies=spec.set_cookies, media_type=media)

    return handler


def task_handler(states: States) -> Any:
    def run_task(request: Request) -> Continue:
        payload = (request.call or {}).get("payload") or {}
        states.add(payload["state"], payload["value"])
        return Continue()

    return run_task


class Running:
    def __init__(self, server: Server) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.serve, name="fixture-serve", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown(5000)
        self.thread.join(10)
        self.server.close()


def start(msg: Message) -> tuple[Running, int]:
    doc = msgspec.json.decode(bytes(msg.app))
    app = spikard.Spikard.from_document(doc)
    states = States()
    for name, spec in msg.handlers.items():
        if spec.websocket is not None:
            app.handler(name)(websocket_handler(spec.websocket))
            continue
        app.handler(name)(make_handler(spec, states))
    app.handler(TASK)(task_handler(states))
    server = Server(app)
    try:
        port = server.listen("127.0.0.1", 0)
    except BaseException:
        server.close()
        raise
    return Running(server), port


def main() -> int:
    out = sys.stdout
    decoder = msgspec.json.Decoder(Message)

    def reply(obj: Any) -> None:
        out.write(msgspec.json.encode(obj).decode() + "\n")
        out.flush()

    cur: Running | None = None
    for line in sys.stdin.buffer:
        if not line.strip():
            continue
        try:
            msg = decoder.decode(line)
        except msgspec.DecodeError as e:
            reply({"error": f"bad protocol line: {e}"})
            continue
        if msg.stop:
            if cur is not None:
                cur.stop()
                cur = None
            reply({"stopped": True})
        elif len(msg.app):
            if cur is not None:
                cur.stop()
                cur = None
            try:
                cur, port = start(msg)
            except Exception as e:
                reply({"error": str(e)})
            else:
                reply({"port": port})
        else:
            reply({"error": 'unknown message: want {"app":...} or {"stop":true}'})
    if cur is not None:
        cur.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
