"""The request a handler can ask for (a parameter typed ``Request``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import parse_qsl

import msgspec

from . import _native

__all__ = ["Request", "Headers", "parse_headers"]


class Headers(Mapping[str, str]):
    """Request headers, case-insensitive; repeated headers joined with ", "
    (``getlist`` gives each value)."""

    __slots__ = ("_items", "_map")

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items
        m: dict[str, str] = {}
        for k, v in items:
            k = k.lower()
            m[k] = f"{m[k]}, {v}" if k in m else v
        self._map = m

    def __getitem__(self, key: str) -> str:
        return self._map[key.lower()]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and key.lower() in self._map

    def __iter__(self) -> Iterator[str]:
        return iter(self._map)

    def __len__(self) -> int:
        return len(self._map)

    def getlist(self, key: str) -> list[str]:
        key = key.lower()
        return [v for k, v in self._items if k.lower() == key]

    def raw(self) -> list[tuple[str, str]]:
        """Every header as received, in order, names as sent."""
        return list(self._items)

    def __repr__(self) -> str:
        return f"Headers({self._items!r})"


def parse_headers(raw: bytes) -> Headers:
    """Headers of the ABI's header block ("Name: value" lines, CRLF-separated)."""
    items = []
    for line in raw.decode("latin-1").split("\r\n"):
        k, sep, v = line.partition(":")
        if sep:
            items.append((k.strip(), v.strip()))
    return Headers(items)


class Request(_native.Request):
    """One request, valid until it is answered (the handler returned, or an
    async handler finished). Attributes from libspikard: ``method``, ``path``,
    ``query_string``, ``raw_headers``, ``request_id``, ``values`` (JSON of the
    validated values), ``body`` (raw bytes), ``handler``."""

    __slots__ = ()

    def _cached(self) -> dict[str, Any]:
        c = self._cache
        if c is None:
            c = self._cache = {}
        return c  # type: ignore[no-any-return]

    @property
    def headers(self) -> Headers:
        c = self._cached()
        h = c.get("headers")
        if h is None:
            h = c["headers"] = parse_headers(self.raw_headers)
        assert isinstance(h, Headers)
        return h

    @property
    def last_event_id(self) -> str | None:
        """The ``Last-Event-ID`` an event-stream client sends when it
        reconnects (the id of the last event it got), or None."""
        return self.headers.get("last-event-id")

    @property
    def cookies(self) -> dict[str, str]:
        c = self._cached()
        ck = c.get("cookies")
        if ck is None:
            ck = {}
            for raw in self.headers.getlist("cookie"):
                jar: SimpleCookie = SimpleCookie()
                try:
                    jar.load(raw)
                except Exception:
                    continue
                ck.update({k: m.value for k, m in jar.items()})
            c["cookies"] = ck
        return dict(ck)

    @property
    def query_params(self) -> dict[str, str]:
        """The query string's parameters (the last value of repeated keys)."""
        return dict(parse_qsl(self.query_string, keep_blank_values=True))

    @property
    def url(self) -> str:
        q = self.query_string
        return f"{self.path}?{q}" if q else self.path

    def json(self) -> Any:
        """The raw body decoded as JSON (the validated values are in ``values``)."""
        return msgspec.json.decode(self.body)

    @property
    def call(self) -> dict[str, Any] | None:
        """Why a hook, factory or task runs ({"kind", "phase", "name", "payload",
        "value", "response", "error", ...}); None for a route's handler."""
        return self._doc().get("call")

    @property
    def dependencies(self) -> dict[str, Any]:
        """The resolved dependencies of this invocation, as the core holds them."""
        return self._doc().get("dependencies") or {}

    @property
    def state(self) -> dict[str, Any]:
        """Request state set by lifecycle hooks (Continue(state=...))."""
        return self._doc().get("state") or {}

    def _doc(self) -> dict[str, Any]:
        c = self._cached()
        d = c.get("values")
        if d is None:
            d = c["values"] = msgspec.json.decode(self.values)
        assert isinstance(d, dict)
        return d

    def validated(self) -> dict[str, Any]:
        """The validated, coerced values document, decoded."""
        return dict(self._doc())

    def __repr__(self) -> str:
        if self.answered:
            return f"<Request {self.id} (answered)>"
        return f"<Request {self.method} {self.url}>"


_native.set_request_type(Request)
