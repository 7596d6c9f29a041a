"""WebSockets: ``@app.websocket(path)`` handlers and the ``WebSocket`` connection.

The core does the protocol (handshake, subprotocols, origins, limits, UTF-8,
pings, the message schema, close codes) and hands each connection's events
to the route's handler one at a time, in order: open, every message, close.
The binding calls the handler's callbacks for them:

    @app.websocket("/ws/{room}")
    class Chat:                                  # one instance per connection
        def on_connect(self, ws: WebSocket) -> None:
            ws.send_json({"joined": ws.path_params["room"]})

        async def on_message(self, ws: WebSocket, message: str | bytes) -> Any:
            return message                       # a returned value is sent back

        def on_close(self, ws: WebSocket, code: int, reason: str) -> None: ...

A plain function is an ``on_message`` callback. Every callback may be sync
(run on the serving thread) or async (a task of the serving loop); the next
event of the connection waits until it finished. A callback that raises
closes the connection with 1011; one that raises ``WebSocketClose(code,
reason)`` closes it with that code.
"""

from __future__ import annotations

import inspect
import logging
import types
import typing
from collections.abc import Callable, Generator
from typing import Any

import msgspec

from . import _native
from ._request import Headers, parse_headers
from ._response import CONTINUE, header_block, to_json
from ._stream import ClientDisconnected, _raise_for
from ._types import raw_converter

__all__ = ["WebSocket", "WebSocketClose", "websocket_function", "message_type"]

logger = logging.getLogger("spikard")

KIND_MESSAGE = 1
KIND_CLOSE = 2
KIND_OPEN = 4

_OCTETS_H = header_block([("Content-Type", "application/octet-stream")])


class Sent:
    """What a send returns: the message is already written when the call
    returns, so awaiting it (``await ws.send_text(...)``, as with
    Starlette's WebSocket) is allowed and does nothing more."""

    __slots__ = ()

    def __await__(self) -> Generator[Any, None, None]:
        return
        yield  # pragma: no cover - makes this a generator

    def __repr__(self) -> str:
        return "<sent>"


_SENT = Sent()


class WebSocketClose(Exception):
    """Raise it from a callback to close the connection with ``code`` (an
    application code 4000-4999, or 1000-1003, 1007-1014) and ``reason``."""

    def __init__(self, code: int = 1000, reason: str = "") -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


class WebSocket:
    """One WebSocket connection. Sends write before they return (a stalled
    client is given up after 10 s) and work from any thread; after the
    connection closed they raise ``ClientDisconnected``.

    ``path_params`` and ``query_params`` are the upgrade request's values,
    validated and coerced by the core (the route's typed segments and
    declared ``parameters``); ``headers`` its headers; ``state`` a dict for
    the handler's own use."""

    __slots__ = ("conn", "path", "query_string", "request_id", "path_params", "query_params", "headers", "values", "state", "closed")

    def __init__(self, req: Any) -> None:
        self.conn: int = req.conn
        self.path: str = req.path
        self.query_string: str = req.query_string
        self.request_id: str = req.request_id
        values: dict[str, Any] = msgspec.json.decode(req.values) if req.values else {}
        self.values = values
        self.path_params: dict[str, Any] = values.get("path") or {}
        self.query_params: dict[str, Any] = values.get("query") or {}
        self.headers: Headers = parse_headers(req.raw_headers)
        self.state: dict[str, Any] = {}
        self.closed = False

    def send_text(self, text: str) -> Sent:
        """Sends a text message."""
        return self._send(1, text)

    def send_bytes(self, data: bytes | bytearray | memoryview) -> Sent:
        """Sends a binary message."""
        return self._send(2, data)

    def send_json(self, value: Any) -> Sent:
        """Sends ``value`` as JSON in a text message."""
        return self._send(1, to_json(value))

    def send(self, data: str | bytes | bytearray | memoryview) -> Sent:
        """Sends text for a str, binary for bytes."""
        return self._send(1 if isinstance(data, str) else 2, data)

    def _send(self, opcode: int, data: Any) -> Sent:
        try:
            _native.ws_send(self.conn, opcode, data)
        except _native.SpikardError as e:
            _raise_for(e)
        return _SENT

    def close(self, code: int = 1000, reason: str = "") -> Sent:
        """Starts the closing handshake; ``on_close`` follows when the peer
        answered. Closing a closing connection does nothing."""
        try:
            _native.ws_close(self.conn, code, reason)
        except _native.SpikardError as e:
            try:
                _raise_for(e)
            except ClientDisconnected:
                pass  # already over
        return _SENT

    def __repr__(self) -> str:
        return f"<WebSocket {self.conn} {self.path}>"


Reply = tuple[int, bytes, bytes] | tuple[bytes]


def _encode(result: Any) -> Reply:
    """A callback's return value: sent as one message (bytes binary, str
    text, anything else JSON text); None sends nothing."""
    if result is None or isinstance(result, Sent):
        return CONTINUE
    if isinstance(result, str):
        return (200, b"", result.encode())
    if isinstance(result, (bytes, bytearray, memoryview)):
        return (200, _OCTETS_H, bytes(result))
    return (200, b"", to_json(result))


def _close_code(body: bytes) -> tuple[int, str]:
    if len(body) < 2:
        return 1005, ""
    return int.from_bytes(body[:2], "big"), body[2:].decode("utf-8", "replace")


_RAW = (str, bytes, bytearray, Any, object)


def message_type(target: Any) -> Any:
    """The type ``on_message`` declares for its message (its last
    parameter), when that is not str/bytes: messages are JSON of that type,
    decoded for the callback (and, by default, the route's message schema)."""
    fn = getattr(target, "on_message", None) if isinstance(target, type) or not inspect.isroutine(target) else target
    if fn is None:
        return None
    try:
        params = [p for p in inspect.signature(fn).parameters.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        hints = typing.get_type_hints(fn, include_extras=True)
    except (TypeError, ValueError, NameError):
        return None
    if len(params) < 2 or params[-1].name not in hints:
        return None
    tp = hints[params[-1].name]
    union = typing.get_origin(tp) in (typing.Union, types.UnionType)
    if all(t in _RAW for t in (typing.get_args(tp) if union else (tp,))):
        return None
    return tp


def _message_decoder(tp: Any) -> Callable[[Any], Any] | None:
    if tp is None:
        return None
    conv = raw_converter(tp)
    if conv is not None:
        return lambda data: conv(msgspec.Raw(data))
    return msgspec.json.Decoder(tp).decode


def websocket_function(name: str, target: Any, fail: Callable[[Any, BaseException, str], str]) -> tuple[Callable[[Any], Any], bool]:
    """The route function of a WebSocket route: dispatches the connection's
    events to ``target``'s callbacks (a class, instantiated per connection;
    an object with on_connect/on_message/on_close; or an on_message
    function). Returns it and whether any callback is async."""
    if isinstance(target, type):
        make: Callable[[], Any] = target
        probe: Any = target
    elif inspect.isfunction(target) or inspect.ismethod(target) or not any(
        hasattr(target, m) for m in ("on_connect", "on_message", "on_close")
    ):
        fn = target

        class _Fn:
            on_message = staticmethod(fn)

        make, probe = _Fn, _Fn
    else:
        make, probe = (lambda: target), target
    if not any(callable(getattr(probe, m, None)) for m in ("on_connect", "on_message", "on_close")):
        raise TypeError(f"{name}: a WebSocket handler has on_connect, on_message or on_close (or is an on_message function)")
    is_async = any(
        inspect.iscoroutinefunction(getattr(probe, m, None)) for m in ("on_connect", "on_message", "on_close")
    )
    conns: dict[int, tuple[WebSocket, Any]] = {}
    decode = _message_decoder(message_type(target))

    def route(req: Any) -> Any:
        kind = req.kind
        conn = req.conn
        try:
            if kind == KIND_OPEN:
                ws = WebSocket(req)
                obj = make()
                conns[conn] = (ws, obj)
                cb = getattr(obj, "on_connect", None)
                args: tuple[Any, ...] = (ws,)
            elif kind == KIND_MESSAGE:
                entry = conns.get(conn)
                if entry is None:
                    return CONTINUE
                ws, obj = entry
                body = req.body
                if decode is not None:
                    message: Any = decode(body)
                else:
                    message = body.decode("utf-8") if req.method == "TEXT" else body
                cb = getattr(obj, "on_message", None)
                args = (ws, message)
            elif kind == KIND_CLOSE:
                entry = conns.pop(conn, None)
                if entry is None:
                    return CONTINUE
                ws, obj = entry
                ws.closed = True
                cb = getattr(obj, "on_close", None)
                args = (ws, *_close_code(req.body))
            else:
                return CONTINUE
            if cb is None:
                return CONTINUE
            r = cb(*args)
            if inspect.isawaitable(r):
                _spawn_ws(r, req, ws, name, fail)
                return None
            return CONTINUE if kind == KIND_CLOSE else _encode(r)
        except WebSocketClose as e:
            try:
                _native.ws_close(conn, e.code, e.reason)
            except _native.SpikardError as bad:
                return fail(req, bad, name)
            return CONTINUE
        except Exception as e:
            return fail(req, e, name)

    route.__qualname__ = route.__name__ = f"websocket_{name}"
    return route, is_async


def _spawn_ws(coro: Any, req: Any, ws: WebSocket, name: str, fail: Callable[[Any, BaseException, str], str]) -> None:
    from ._app import _create_task, _forget, _pending

    task = _create_task(_finish_ws(coro, req, ws, name, fail))
    if not task.done():
        _pending[task] = req
        task.add_done_callback(_forget)


async def _finish_ws(coro: Any, req: Any, ws: WebSocket, name: str, fail: Callable[[Any, BaseException, str], str]) -> None:
    closing = req.kind == KIND_CLOSE
    try:
        out = _encode(await coro)
    except WebSocketClose as e:
        try:
            _native.ws_close(ws.conn, e.code, e.reason)
        except _native.SpikardError:
            pass
        out = CONTINUE
    except Exception as e:
        req.respond_error(fail(req, e, name))
        return
    if closing or len(out) == 1:
        req.continue_()
    else:
        req.respond(*out)
