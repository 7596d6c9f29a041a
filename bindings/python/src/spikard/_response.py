"""Answers: what a handler may return, and how it becomes (status, headers, body)."""

from __future__ import annotations

import http
import importlib
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Mapping
from datetime import datetime, timezone
from email.utils import format_datetime
from typing import Any

import msgspec

__all__ = ["Response", "HTTPException", "Continue", "Answer"]

# (status, header block, body) answers; (changes,) finishes without answering;
# a callable is a deferred answer (a stream) that takes the request itself.
Answer = tuple[int, bytes, bytes] | tuple[bytes] | Callable[[Any], "str | None"]

JSON = "application/json"
TEXT = "text/plain; charset=utf-8"
OCTETS = "application/octet-stream"

_BaseModel: Any = None
_pydantic_to_json: Any = None
try:  # Pydantic is optional: its models are encoded by pydantic-core.
    _BaseModel = importlib.import_module("pydantic").BaseModel
    _pydantic_to_json = importlib.import_module("pydantic_core").to_json
except ImportError:  # pragma: no cover - depends on the environment
    pass


def _enc_hook(obj: Any) -> Any:
    if _BaseModel is not None and isinstance(obj, _BaseModel):
        return obj.model_dump(mode="json")
    raise NotImplementedError(f"spikard cannot encode {type(obj).__name__} as JSON")


_encoder = msgspec.json.Encoder(enc_hook=_enc_hook)
json_encode: Callable[[Any], bytes] = _encoder.encode


def to_json(obj: Any) -> bytes:
    """JSON bytes of any value a handler may return."""
    if _BaseModel is not None and isinstance(obj, _BaseModel):
        data: bytes = _pydantic_to_json(obj)
        return data
    return json_encode(obj)


def _check_header(name: str, value: str) -> None:
    if not name or any(c in name for c in "\r\n:") or "\r" in value or "\n" in value:
        raise ValueError(f"invalid response header {name!r}: {value!r} (no CR, LF, or ':' in the name)")


def header_block(headers: Iterable[tuple[str, str]]) -> bytes:
    """The ABI's header block: "Name: value" lines, each ended by \\n."""
    out = []
    for k, v in headers:
        v = str(v)
        _check_header(k, v)
        out.append(f"{k}: {v}\n")
    return "".join(out).encode("latin-1")


def header_list(headers: Mapping[str, str] | Iterable[tuple[str, str]] | None) -> list[tuple[str, str]]:
    """Headers given as a mapping or as (name, value) pairs, as pairs."""
    if headers is None:
        return []
    if isinstance(headers, Mapping):
        return list(headers.items())
    return list(headers)


class Response:
    """A full answer: body, status, headers, cookies and media type.

    ``body`` may be None (no body), str (text/plain), bytes (octets), or any
    JSON-encodable value: dicts, lists, msgspec Structs, Pydantic models,
    dataclasses, attrs classes (application/json).
    """

    __slots__ = ("body", "status", "headers", "cookies", "media_type")

    def __init__(
        self,
        body: Any = None,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
        cookies: Iterable[str] | None = None,
        media_type: str | None = None,
    ) -> None:
        self.body = body
        self.status = status
        self.headers = header_list(headers)
        self.cookies: list[str] = list(cookies) if cookies is not None else []
        self.media_type = media_type

    def set_header(self, name: str, value: str) -> None:
        """Adds a header (repeat the name to send it twice)."""
        self.headers.append((name, value))

    def set_cookie(
        self,
        key: str,
        value: str = "",
        *,
        max_age: int | None = None,
        expires: datetime | str | int | None = None,
        path: str | None = "/",
        domain: str | None = None,
        secure: bool = False,
        httponly: bool = False,
        samesite: str | None = "lax",
    ) -> None:
        """Adds a Set-Cookie header."""
        parts = [f"{key}={value}"]
        if max_age is not None:
            parts.append(f"Max-Age={int(max_age)}")
        if expires is not None:
            if isinstance(expires, datetime):
                expires = format_datetime(expires.astimezone(timezone.utc), usegmt=True)
            elif isinstance(expires, int):
                expires = format_datetime(
                    datetime.fromtimestamp(datetime.now(timezone.utc).timestamp() + expires, timezone.utc),
                    usegmt=True,
                )
            parts.append(f"Expires={expires}")
        if path:
            parts.append(f"Path={path}")
        if domain:
            parts.append(f"Domain={domain}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        if samesite:
            parts.append(f"SameSite={samesite.capitalize()}")
        self.cookies.append("; ".join(parts))

    def delete_cookie(self, key: str, *, path: str | None = "/", domain: str | None = None) -> None:
        """Adds a Set-Cookie header that removes the cookie."""
        self.set_cookie(key, "", max_age=0, expires="Thu, 01 Jan 1970 00:00:00 GMT", path=path, domain=domain)

    def answer(self) -> Answer:
        """(status, header block, body) for libspikard."""
        body = self.body
        media = self.media_type  # None: from the body's type; "": no Content-Type
        if body is None:
            data = b""
        elif isinstance(body, (bytes, bytearray, memoryview)):
            data = bytes(body)
            media = OCTETS if media is None else media
        elif isinstance(body, str):
            data = body.encode()
            media = TEXT if media is None else media
        else:
            data = to_json(body)
            media = JSON if media is None else media
        lines = list(self.headers)
        if media and not any(k.lower() == "content-type" for k, _ in lines):
            lines.insert(0, ("Content-Type", media))
        lines += [("Set-Cookie", c) for c in self.cookies]
        return (self.status, header_block(lines), data)

    def __repr__(self) -> str:
        return f"Response(status={self.status}, media_type={self.media_type!r})"


class Continue:
    """What a lifecycle hook returns to let the request go on (returning None
    does too), with changes: the response ``status`` and ``headers`` so far,
    ``request_headers`` later phases and the handler see, and request
    ``state`` (under ``Request.state``)."""

    __slots__ = ("status", "headers", "request_headers", "state")

    def __init__(
        self,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        request_headers: Mapping[str, str] | None = None,
        state: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.headers = dict(headers or {})
        self.request_headers = dict(request_headers or {})
        self.state = dict(state or {})

    def answer(self) -> tuple[bytes]:
        doc: dict[str, Any] = {}
        if self.status is not None:
            doc["status"] = self.status
        for k, v in self.headers.items():
            _check_header(k, v)
        for k, v in self.request_headers.items():
            _check_header(k, v)
        if self.headers:
            doc["headers"] = self.headers
        if self.request_headers:
            doc["request_headers"] = self.request_headers
        if self.state:
            doc["state"] = self.state
        return (to_json(doc) if doc else b"",)


CONTINUE = (b"",)


class HTTPException(Exception):
    """Raise it to answer an error status: a problem document (RFC 9457),
    ``{"type", "title", "status", "detail"}`` with ``application/problem+json``."""

    def __init__(
        self,
        status_code: int,
        detail: Any = None,
        headers: Mapping[str, str] | None = None,
        *,
        type: str = "about:blank",
        title: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.status_code = status_code
        try:
            phrase = http.HTTPStatus(status_code).phrase
        except ValueError:
            phrase = "Error"
        self.title = title or phrase
        self.detail = detail if detail is not None else phrase
        self.headers = dict(headers or {})
        self.type = type
        self.extra = dict(extra or {})
        super().__init__(status_code, self.detail)

    def answer(self) -> Answer:
        doc: dict[str, Any] = {"type": self.type, "title": self.title, "status": self.status_code}
        doc["detail"] = self.detail
        doc.update(self.extra)
        lines = [("Content-Type", "application/problem+json"), *self.headers.items()]
        return (self.status_code, header_block(lines), to_json(doc))


def make_encoder(status: int, headers: Iterable[tuple[str, str]] = (), *, sse: bool = False) -> Callable[[Any], Answer]:
    """The function that turns one route's return values into answers; the
    header blocks are prepared once, here. A (sync or async) iterator is a
    streamed body (an event stream on an ``sse`` route)."""
    from ._stream import EventSourceResponse, StreamingResponse

    extra = list(headers)
    stream_cls = EventSourceResponse if sse else StreamingResponse
    json_h = header_block([("Content-Type", JSON), *extra])
    text_h = header_block([("Content-Type", TEXT), *extra])
    bytes_h = header_block([("Content-Type", OCTETS), *extra])
    bare_h = header_block(extra)
    no_body = status in (204, 304) or status < 200
    base_model = _BaseModel
    pyd_json = _pydantic_to_json
    enc = json_encode

    def encode(result: Any) -> Answer:
        t = type(result)
        if t is dict or t is list:
            return (status, json_h, enc(result))
        if result is None:
            return (status, bare_h, b"") if no_body else (status, json_h, b"null")
        if isinstance(result, Response):
            return result.answer()
        if isinstance(result, Continue):
            return result.answer()
        if t is str:
            return (status, text_h, result.encode())
        if t is bytes or t is bytearray or t is memoryview:
            return (status, bytes_h, bytes(result))
        if base_model is not None and isinstance(result, base_model):
            return (status, json_h, pyd_json(result))
        if isinstance(result, StreamingResponse):
            return result
        if isinstance(result, (Iterator, AsyncIterable)):
            return stream_cls(result, status_code=status, headers=extra)
        return (status, json_h, enc(result))

    return encode
