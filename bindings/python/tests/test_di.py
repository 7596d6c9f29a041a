"""Dependencies, lifecycle hooks and background tasks run by the core,
declared from Python."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec

from spikard import BackgroundTasks, Continue, HTTPException, Provide, Request, Response, Spikard
from spikard.testing import TestClient


class Settings(msgspec.Struct):
    name: str
    debug: bool = False


class Pool:
    """Not JSON: crosses as a reference to this object."""

    def __init__(self) -> None:
        self.opened = 0


@dataclass
class Events:
    log: list[str]
    done: threading.Event


def test_dependencies_values_factories_and_cleanup() -> None:
    events = Events([], threading.Event())
    pool = Pool()

    def make_pool() -> Pool:
        pool.opened += 1
        return pool

    def session(pool: Pool) -> Iterator[dict[str, int]]:
        events.log.append("open")
        yield {"id": pool.opened}
        events.log.append("close")
        events.done.set()

    async def user(settings: Settings) -> dict[str, str]:
        await asyncio.sleep(0)
        return {"name": settings.name.upper()}

    app = Spikard(dependencies={
        "settings": Settings(name="demo", debug=True),
        "pool": Provide(make_pool, singleton=True),
        "session": Provide(session),
    })

    @app.get("/deps", dependencies={"user": Provide(user)})
    def handler(settings: Settings, pool: Pool, session: dict[str, int], user: dict[str, str]) -> dict[str, Any]:
        assert isinstance(settings, Settings) and isinstance(pool, Pool)
        return {"settings": settings, "pool": pool.opened, "session": session, "user": user}

    doc = app.document()
    assert doc["dependencies"]["settings"] == {"type": "value", "value": {"name": "demo", "debug": True}}
    assert doc["dependencies"]["session"]["depends_on"] == ["pool"]
    assert doc["routes"][0]["handler_dependencies"] == ["settings", "pool", "session", "user"]
    with TestClient(app) as c:
        for _ in range(2):
            events.done.clear()
            r = c.get("/deps")
            assert r.status_code == 200, r.text
            assert r.json() == {"settings": {"name": "demo", "debug": True}, "pool": 1,
                                "session": {"id": 1}, "user": {"name": "DEMO"}}
            assert events.done.wait(10)  # the generator's cleanup ran after the response
        assert pool.opened == 1  # a singleton
        assert events.log == ["open", "close", "open", "close"]


def test_failing_factory_is_a_500() -> None:
    def broken() -> int:
        raise RuntimeError("no database")

    app = Spikard(dependencies={"db": Provide(broken)})

    @app.get("/x")
    def x(db: int) -> int:
        return db

    with TestClient(app) as c:
        r = c.get("/x")
        assert r.status_code == 500 and r.headers["content-type"] == "application/problem+json"


def test_hooks() -> None:
    app = Spikard(dependencies={"realm": "api"})
    seen: list[str] = []

    @app.on_request
    def first(request: Request) -> None:
        seen.append(f"on_request {request.method} {request.path}")

    @app.pre_handler
    def auth(request: Request, realm: str) -> Response | Continue:
        if request.headers.get("authorization") != "Bearer ok":
            return Response({"error": "unauthorized", "realm": realm}, status=401)
        return Continue(state={"user": "ann"}, request_headers={"X-User": "ann"})

    @app.on_response
    async def stamp(request: Request) -> Continue:
        return Continue(headers={"X-Hooked": "yes"})

    @app.on_error
    def handle(request: Request) -> Response:
        call = request.call or {}
        return Response({"recovered": call.get("kind")}, status=503)

    @app.get("/me")
    def me(request: Request) -> dict[str, Any]:
        return {"user": request.state.get("user"), "header": request.headers.get("x-user")}

    @app.get("/fail")
    def fail() -> None:
        raise RuntimeError("handler failed")

    @app.get("/teapot", hooks={"pre_handler": [lambda request: HTTPException_(418)]})
    def teapot() -> str:
        return "not reached"

    with TestClient(app) as c:
        r = c.get("/me")
        assert (r.status_code, r.json(), r.headers["x-hooked"]) == (401, {"error": "unauthorized", "realm": "api"}, "yes")
        r = c.get("/me", headers={"Authorization": "Bearer ok"})
        assert (r.status_code, r.json(), r.headers["x-hooked"]) == (200, {"user": "ann", "header": "ann"}, "yes")
        r = c.get("/fail", headers={"Authorization": "Bearer ok"})
        assert (r.status_code, r.json()) == (503, {"recovered": "hook"})
        r = c.get("/teapot", headers={"Authorization": "Bearer ok"})
        assert r.status_code == 418
    assert seen[:2] == ["on_request GET /me", "on_request GET /me"]


def HTTPException_(status: int) -> Response:  # noqa: N802 - a lambda-friendly helper
    raise HTTPException(status, "I'm a teapot")


def test_background_tasks() -> None:
    done = threading.Event()
    got: list[object] = []

    def record(value: object) -> None:
        got.append(value)

    async def finish() -> None:
        await asyncio.sleep(0)
        done.set()

    app = Spikard()

    @app.post("/jobs", status_code=202)
    def jobs(data: dict[str, int], tasks: BackgroundTasks) -> dict[str, bool]:
        tasks.add_task(record, data["n"])
        tasks.add_task(finish)
        return {"queued": True}

    with TestClient(app) as c:
        r = c.post("/jobs", json={"n": 7})
        assert (r.status_code, r.json()) == (202, {"queued": True})
        assert done.wait(10)
    assert got == [7]

