"""Sync and async handlers, answers of every kind, errors."""

from __future__ import annotations

import asyncio
import logging

import pytest

from spikard import HTTPException, Request, Response, Spikard
from spikard.testing import TestClient


def make_app() -> Spikard:
    app = Spikard()

    @app.get("/sync")
    def sync_handler() -> dict[str, str]:
        return {"kind": "sync"}

    @app.get("/async/{n:int}")
    async def async_handler(n: int, request: Request) -> dict[str, object]:
        await asyncio.sleep(0)
        return {"kind": "async", "n": n, "path": request.path}

    @app.get("/async-fast")
    async def async_fast() -> list[int]:
        return [1, 2, 3]

    @app.get("/text")
    def text() -> str:
        return "hello"

    @app.get("/bytes")
    def raw() -> bytes:
        return b"\x00\x01"

    @app.get("/none", status_code=204)
    def nothing() -> None:
        return None

    @app.post("/created", status_code=201, response_headers={"X-Kind": "created"})
    def created() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/response")
    def response() -> Response:
        r = Response({"a": 1}, status=202, headers={"X-One": "1"})
        r.set_cookie("session", "abc", httponly=True, max_age=60)
        r.set_header("X-Two", "2")
        return r

    @app.get("/response-text")
    async def response_text() -> Response:
        return Response("<p>hi</p>", media_type="text/html")

    @app.get("/missing/{id}")
    def missing(id: str) -> dict[str, str]:
        raise HTTPException(404, f"no item {id}", headers={"X-Why": "gone"})

    @app.get("/boom")
    def boom() -> dict[str, str]:
        raise ValueError("sync failure")

    @app.get("/aboom")
    async def aboom() -> dict[str, str]:
        await asyncio.sleep(0)
        raise KeyError("async failure")

    @app.get("/bad-header")
    def bad_header() -> Response:
        return Response("x", headers={"X-Evil": "a\r\nSet-Cookie: pwned=1"})

    @app.get("/unencodable")
    def unencodable() -> object:
        return object()

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(make_app()) as c:
        yield c  # type: ignore[misc]


def test_sync_and_async(client: TestClient) -> None:
    assert client.get("/sync").json() == {"kind": "sync"}
    assert client.get("/async/3").json() == {"kind": "async", "n": 3, "path": "/async/3"}
    assert client.get("/async-fast").json() == [1, 2, 3]


def test_answer_kinds(client: TestClient) -> None:
    r = client.get("/text")
    assert (r.status_code, r.headers["content-type"], r.text) == (200, "text/plain; charset=utf-8", "hello")
    r = client.get("/bytes")
    assert (r.headers["content-type"], r.content) == ("application/octet-stream", b"\x00\x01")
    r = client.get("/none")
    assert (r.status_code, r.content) == (204, b"")
    r = client.post("/created")
    assert (r.status_code, r.headers["x-kind"], r.json()) == (201, "created", {"ok": True})


def test_response_object(client: TestClient) -> None:
    r = client.get("/response")
    assert r.status_code == 202
    assert r.json() == {"a": 1}
    assert r.headers["x-one"] == "1" and r.headers["x-two"] == "2"
    cookie = r.headers["set-cookie"]
    assert cookie.startswith("session=abc") and "HttpOnly" in cookie and "Max-Age=60" in cookie
    r = client.get("/response-text")
    assert (r.headers["content-type"], r.text) == ("text/html", "<p>hi</p>")


def test_http_exception(client: TestClient) -> None:
    r = client.get("/missing/7")
    assert r.status_code == 404
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["x-why"] == "gone"
    assert r.json() == {"type": "about:blank", "title": "Not Found", "status": 404, "detail": "no item 7"}


@pytest.mark.parametrize("path", ["/boom", "/aboom", "/bad-header", "/unencodable"])
def test_exceptions_are_500_and_logged(client: TestClient, path: str, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="spikard")
    rid = f"test-{path.strip('/')}"
    r = client.get(path, headers={"X-Request-ID": rid})
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["status"] == 500
    assert r.headers["x-request-id"] == rid  # the id the traceback is logged with
    assert "pwned" not in r.headers.get("set-cookie", "")
    records = [rec for rec in caplog.records if rid in rec.getMessage()]
    assert records, caplog.text
    assert records[0].exc_info is not None  # the traceback is logged
    # and the server keeps serving
    assert client.get("/sync").json() == {"kind": "sync"}


def test_core_answers_routing_errors(client: TestClient) -> None:
    r = client.get("/nope")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = client.post("/sync")
    assert r.status_code == 405 and "GET" in r.headers["allow"]


def test_many_concurrent_requests(client: TestClient) -> None:
    import concurrent.futures

    import httpx

    def fetch(i: int) -> int:
        with httpx.Client(base_url=client.base_url) as c:
            return sum(c.get(f"/async/{i}").json()["n"] + c.get("/sync").status_code for _ in range(5))

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert list(ex.map(fetch, range(40))) == [5 * (i + 200) for i in range(40)]
