"""TestClient: the app served by libspikard on a free 127.0.0.1 port, in a
background thread, and an HTTP client pointed at it (httpx when installed,
urllib otherwise). Real sockets, the real core: what the tests see is what
clients see.

    with TestClient(app) as client:
        r = client.get("/users/1")
        assert r.status_code == 200
"""

from __future__ import annotations

import asyncio
import json as _json
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from ._server import Server, _new_loop

try:
    import httpx as _httpx
except ImportError:  # pragma: no cover - depends on the environment
    _httpx = None  # type: ignore[assignment]

__all__ = ["TestClient", "SimpleResponse"]


class SimpleResponse:
    """The urllib fallback's answer (the httpx.Response attributes tests use)."""

    def __init__(self, status_code: int, headers: list[tuple[str, str]], content: bytes) -> None:
        self.status_code = status_code
        self.headers = _CIDict(headers)
        self.content = content

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return _json.loads(self.content)


class _CIDict(dict[str, str]):
    def __init__(self, items: list[tuple[str, str]]) -> None:
        super().__init__()
        self.raw = items
        for k, v in items:
            k = k.lower()
            self[k] = f"{self[k]}, {v}" if k in self else v

    def __getitem__(self, k: str) -> str:
        return super().__getitem__(k.lower())

    def __contains__(self, k: object) -> bool:
        return isinstance(k, str) and super().__contains__(k.lower())

    def get_list(self, k: str) -> list[str]:
        return [v for n, v in self.raw if n.lower() == k.lower()]


class TestClient:
    """Serves ``app`` for the duration of a ``with`` block (or start/close)."""

    __test__ = False  # not a pytest test class

    def __init__(self, app: Any, *, host: str = "127.0.0.1", grace_ms: int = 5000, timeout: float = 30.0) -> None:
        self.app = app
        self.host = host
        self.grace_ms = grace_ms
        self.timeout = timeout
        self.server: Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._client: Any = None

    @property
    def base_url(self) -> str:
        assert self.server is not None, "the TestClient is not started"
        return f"http://{self.host}:{self.server.port}"

    def start(self) -> TestClient:
        self.server = Server(self.app)
        try:
            self.server.listen(self.host, 0)
        except BaseException:
            self.server.close()
            raise
        self._thread = threading.Thread(target=self._serve, name="spikard-testclient", daemon=True)
        self._thread.start()
        if _httpx is not None:
            self._client = _httpx.Client(base_url=self.base_url, timeout=self.timeout)
        return self

    def _serve(self) -> None:
        assert self.server is not None
        try:
            if self.server.uses_asyncio:
                loop = _new_loop("auto")
                try:
                    loop.run_until_complete(self.server.serve_async())
                finally:
                    loop.close()
            else:
                self.server.serve()
        except BaseException as e:  # pragma: no cover - surfaced by close()
            self._error = e

    def close(self) -> None:
        """Graceful shutdown, then the app is freed."""
        if self.server is None:
            return
        if self._client is not None:
            self._client.close()
            self._client = None
        self.server.shutdown(self.grace_ms)
        if self._thread is not None:
            self._thread.join()
        self.server.close()
        self.server = None
        if self._error is not None:
            raise self._error

    def __enter__(self) -> TestClient:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------- requests

    def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | list[tuple[str, Any]] | None = None,
        headers: Mapping[str, str] | None = None,
        cookies: Mapping[str, str] | None = None,
        json: Any = None,
        content: bytes | str | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Any:
        """Sends a request; returns an httpx.Response (or a SimpleResponse)."""
        if self.server is None:
            raise RuntimeError("the TestClient is not started (use it in a with block)")
        if self._client is not None:
            hdrs = dict(headers or {})
            if cookies:
                hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            return self._client.request(
                method, url, params=params, headers=hdrs, json=json, content=content, data=data
            )
        return self._urllib(method, url, params, headers, cookies, json, content, data)

    def _urllib(
        self, method: str, url: str, params: Any, headers: Any, cookies: Any, json: Any, content: Any, data: Any
    ) -> SimpleResponse:
        target = self.base_url + url
        if params:
            target += ("&" if "?" in url else "?") + urllib.parse.urlencode(params, doseq=True)
        hdrs = dict(headers or {})
        body: bytes | None = None
        if json is not None:
            body = _json.dumps(json).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif data is not None:
            body = urllib.parse.urlencode(data, doseq=True).encode()
            hdrs.setdefault("Content-Type", "application/x-www-form-urlencoded")
        elif content is not None:
            body = content.encode() if isinstance(content, str) else content
        if cookies:
            hdrs["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        req = urllib.request.Request(target, data=body, headers=hdrs, method=method)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return SimpleResponse(resp.status, list(resp.headers.items()), resp.read())
        except urllib.error.HTTPError as e:
            return SimpleResponse(e.code, list(e.headers.items()), e.read())

    def get(self, url: str, **kw: Any) -> Any:
        return self.request("GET", url, **kw)

    def post(self, url: str, **kw: Any) -> Any:
        return self.request("POST", url, **kw)

    def put(self, url: str, **kw: Any) -> Any:
        return self.request("PUT", url, **kw)

    def patch(self, url: str, **kw: Any) -> Any:
        return self.request("PATCH", url, **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.request("DELETE", url, **kw)

    def head(self, url: str, **kw: Any) -> Any:
        return self.request("HEAD", url, **kw)

    def options(self, url: str, **kw: Any) -> Any:
        return self.request("OPTIONS", url, **kw)


_ = asyncio  # the loop helpers come from _server
