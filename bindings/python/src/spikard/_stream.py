"""Streamed answers: ``StreamingResponse``, ``EventSourceResponse`` and ``ServerSentEvent``.

A handler answers with a stream by returning a (sync or async) generator or
iterator, bare or wrapped in one of these classes. The answer's status and
headers go out at once (spikard_stream_begin); the body is produced
afterwards, off the serving thread:

- a sync iterator runs on a thread of its own, so a generator that sleeps or
  blocks never holds up the drain loop (spikard_stream_write releases the GIL
  while it waits for a slow client);
- an async iterator runs on the serving asyncio loop (or, in an app served
  without one, on a private loop on a thread of its own); each write goes
  through a small I/O thread pool, so backpressure never blocks the loop.

A generator that raises ends the body as broken (spikard_stream_fail: the
client sees an incomplete body). A client that goes away makes the next write
fail: the generator is closed (its ``finally`` runs) and the stream ends.
On an event stream, an event the route's ``sse.event_schema`` rejects raises
``EventSchemaError`` inside the generator, at its ``yield``: catch it to skip
the event and go on.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from . import _native
from ._response import header_block, header_list, to_json

__all__ = [
    "StreamingResponse",
    "EventSourceResponse",
    "ServerSentEvent",
    "ClientDisconnected",
    "EventSchemaError",
]

logger = logging.getLogger("spikard")

EINVAL = -1
ETIMEOUT = -5
ESTATE = -6
ECLOSED = -8

Content = Iterable[Any] | AsyncIterable[Any]


class ClientDisconnected(ConnectionError):
    """The client went away, or the app is shutting down: a stream write or
    a WebSocket send can no longer be delivered."""


class EventSchemaError(ValueError):
    """The route's ``sse.event_schema`` rejected an event's data: the event
    was not sent and the stream goes on. Raised inside the generator at the
    ``yield`` of that event (catch it there to skip the event)."""


def _raise_for(e: Exception, sse: bool = False) -> None:
    """Re-raises a failed library call as the binding's exception."""
    code = e.args[1] if isinstance(e, _native.SpikardError) and len(e.args) > 1 else None
    if code == ECLOSED:
        raise ClientDisconnected(e.args[0]) from None
    if sse and code == EINVAL:
        raise EventSchemaError(e.args[0]) from None
    raise e


class ServerSentEvent:
    """One Server-Sent Event. ``data`` is sent as it is when it is a str
    (each line becomes a ``data:`` field), else as JSON; ``event`` is the
    type (``message`` when absent), ``id`` what the client sends back as
    ``Last-Event-ID`` when it reconnects, ``retry`` the client's reconnection
    delay (milliseconds or a timedelta), ``comment`` comment lines sent
    first. Every member is optional."""

    __slots__ = ("data", "event", "id", "retry", "comment")

    def __init__(
        self,
        data: Any = None,
        *,
        event: str | None = None,
        id: str | int | None = None,
        retry: int | timedelta | None = None,
        comment: str | None = None,
    ) -> None:
        self.data = data
        self.event = event
        self.id = id
        self.retry = retry
        self.comment = comment

    def fields(self) -> tuple[str | None, bytes | str | None, str | None, str | None, int]:
        """(event, data, id, comment, retry_ms) as spikard_sse_send takes them."""
        data = self.data
        if data is not None and not isinstance(data, (str, bytes)):
            data = to_json(data)
        retry = self.retry
        if isinstance(retry, timedelta):
            retry_ms = int(retry.total_seconds() * 1000)
        else:
            retry_ms = int(retry or 0)
        return self.event, data, None if self.id is None else str(self.id), self.comment, retry_ms

    def __repr__(self) -> str:
        parts = [f"{k}={getattr(self, k)!r}" for k in self.__slots__ if getattr(self, k) is not None]
        return f"ServerSentEvent({', '.join(parts)})"


def _send_chunk(stream: int, item: Any) -> None:
    if not isinstance(item, (bytes, str, bytearray, memoryview)):
        raise TypeError(f"a streamed chunk is bytes or str, not {type(item).__name__}")
    try:
        _native.stream_write(stream, item)
    except _native.SpikardError as e:
        _raise_for(e)


def _send_event(stream: int, item: Any) -> None:
    ev = item if isinstance(item, ServerSentEvent) else ServerSentEvent(item)
    event, data, id_, comment, retry = ev.fields()
    try:
        _native.sse_send(stream, event, data, id_, comment, retry)
    except _native.SpikardError as e:
        _raise_for(e, sse=True)


class StreamingResponse:
    """A body produced while it is sent (chunked): ``content`` is a sync or
    async iterable of ``bytes``/``str`` chunks, written as they come.

    >>> def export():
    ...     for row in rows():
    ...         yield msgspec.json.encode(row) + b"\\n"
    >>> return StreamingResponse(export(), media_type="application/x-ndjson")
    """

    __slots__ = ("content", "status_code", "headers", "media_type")

    def __init__(
        self,
        content: Content,
        status_code: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.content = content
        self.status_code = status_code
        self.headers = header_list(headers)
        self.media_type = media_type

    _send: Callable[[int, Any], None] = staticmethod(_send_chunk)

    def header_block(self) -> bytes:
        lines = list(self.headers)
        if self.media_type and not any(k.lower() == "content-type" for k, _ in lines):
            lines.insert(0, ("Content-Type", self.media_type))
        return header_block(lines)

    def __call__(self, req: Any) -> str | None:
        """The deferred answer: begins the stream on ``req`` and starts its
        producer. Returns a failure message for spikard_respond_error when
        the stream could not begin (the request is still open), else None."""
        name = _label(req)
        try:
            stream = req.stream_begin(self.status_code, self.header_block())
        except _native.SpikardError as e:
            code = e.args[1] if len(e.args) > 1 else None
            if code in (ETIMEOUT, ECLOSED, ESTATE):  # the request is gone already
                logger.warning("stream %s could not begin: %s", name, e.args[0])
                return None
            return f"{name}: the stream could not begin: {e.args[0]}"
        except Exception as e:  # e.g. an invalid header
            return f"{name}: the stream could not begin: {type(e).__name__}: {e}"
        content = self.content
        try:
            if isinstance(content, AsyncIterable):
                _start_async(_pump_async(stream, content, self._send, name), req)
            else:
                t = threading.Thread(target=_pump_sync, args=(stream, content, self._send, name), name=f"spikard-stream-{stream}", daemon=True)
                t.start()
        except Exception as e:  # no thread or loop for the producer: the stream is begun, so fail it
            _failed(stream, name, e)
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, media_type={self.media_type!r})"


class EventSourceResponse(StreamingResponse):
    """An event stream (``text/event-stream``): ``content`` yields
    ``ServerSentEvent``s, or data (a str as it is, anything else as JSON).
    On a route declared with ``sse=`` (or ``@app.sse``) the core checks each
    event against the route's event schema and writes keep-alive comments
    while the stream is idle. The client's ``Last-Event-ID`` is
    ``request.last_event_id``."""

    __slots__ = ()

    def __init__(
        self,
        content: Content,
        status_code: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        media_type: str | None = "text/event-stream",
    ) -> None:
        super().__init__(content, status_code, headers, media_type)

    _send = staticmethod(_send_event)


def _label(req: Any) -> str:
    try:
        return f"{req.handler} (request id {req.request_id})"
    except Exception:
        return "stream"


def _failed(stream: int, name: str, exc: BaseException) -> None:
    logger.error("stream %s raised; the body is cut off", name, exc_info=exc)
    _fail_quietly(stream, f"{name}: {type(exc).__name__}: {exc}")


def _fail_quietly(stream: int, message: str) -> None:
    try:
        _native.stream_fail(stream, message)
    except _native.SpikardError:
        pass


def _end(stream: int) -> None:
    try:
        _native.stream_end(stream)
    except _native.SpikardError:
        pass


def _pump_sync(stream: int, content: Iterable[Any], send: Callable[[int, Any], None], name: str) -> None:
    """Runs on a thread of its own: writes every item of a sync iterable."""
    it: Iterator[Any] | None = None
    try:
        it = iter(content)
        item = next(it)
        while True:
            try:
                send(stream, item)
            except EventSchemaError as e:
                throw = getattr(it, "throw", None)
                if throw is None:
                    raise
                item = throw(e)  # the generator skips the event (or fails)
                continue
            item = next(it)
    except StopIteration:
        _end(stream)
    except ClientDisconnected:
        _close(it)
        _end(stream)
    except BaseException as e:
        _close(it)
        _failed(stream, name, e)


def _close(it: Any) -> None:
    close = getattr(it, "close", None)
    if close is not None:
        try:
            close()
        except Exception as e:
            logger.warning("closing a stream's generator raised: %r", e)


_io_lock = threading.Lock()
_io_pool: ThreadPoolExecutor | None = None


def _io() -> ThreadPoolExecutor:
    """The threads async producers write through (writes may block)."""
    global _io_pool
    with _io_lock:
        if _io_pool is None:
            _io_pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="spikard-stream-io")
        return _io_pool


async def _pump_async(stream: int, content: AsyncIterable[Any], send: Callable[[int, Any], None], name: str) -> None:
    """Runs on an asyncio loop: writes every item of an async iterable."""
    loop = asyncio.get_running_loop()
    pool = _io()
    it: AsyncIterator[Any] | None = None
    try:
        it = content.__aiter__()
        item = await it.__anext__()
        while True:
            try:
                await loop.run_in_executor(pool, send, stream, item)
            except EventSchemaError as e:
                athrow = getattr(it, "athrow", None)
                if athrow is None:
                    raise
                item = await athrow(e)
                continue
            item = await it.__anext__()
    except StopAsyncIteration:
        _end(stream)
    except ClientDisconnected:
        await _aclose(it)
        _end(stream)
    except asyncio.CancelledError:  # the serving loop is stopping: the body is incomplete
        logger.warning("stream %s cancelled by the shutdown; the body is cut off", name)
        await _aclose(it)
        _fail_quietly(stream, f"{name}: cancelled by the shutdown")
        raise
    except BaseException as e:
        await _aclose(it)
        _failed(stream, name, e)
        if not isinstance(e, Exception):
            raise


async def _aclose(it: Any) -> None:
    aclose = getattr(it, "aclose", None)
    if aclose is not None:
        try:
            await aclose()
        except Exception as e:
            logger.warning("closing a stream's async generator raised: %r", e)


def _start_async(coro: Any, req: Any) -> None:
    """Runs an async producer on this thread's loop, or on a private loop."""
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        from ._app import _forget, _pending

        task = loop.create_task(coro)
        _pending[task] = req
        task.add_done_callback(_forget)
        return
    threading.Thread(target=asyncio.run, args=(coro,), name="spikard-stream-loop", daemon=True).start()
