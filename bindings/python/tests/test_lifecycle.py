"""Servers start, stop gracefully (in-flight requests finish), react to
SIGINT/SIGTERM, and run from the command line."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import httpx
import pytest

from spikard import Server, Spikard, SpikardError
from spikard.testing import TestClient


def _blocking_app(asynchronous: bool) -> tuple[Spikard, threading.Event, threading.Event]:
    started, release = threading.Event(), threading.Event()
    app = Spikard()
    if asynchronous:

        @app.get("/slow")
        async def slow_async() -> dict[str, str]:
            started.set()
            await asyncio.get_running_loop().run_in_executor(None, release.wait)
            return {"done": "async"}

    else:

        @app.get("/slow")
        def slow() -> dict[str, str]:
            started.set()
            release.wait()
            return {"done": "sync"}

    return app, started, release


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
def test_graceful_shutdown_finishes_in_flight(asynchronous: bool) -> None:
    app, started, release = _blocking_app(asynchronous)
    client = TestClient(app).start()
    url = client.base_url
    result: dict[str, object] = {}

    def call() -> None:
        result["r"] = httpx.get(url + "/slow", timeout=30)

    t = threading.Thread(target=call)
    t.start()
    assert started.wait(30)
    assert client.server is not None
    stopper = client.server.begin_shutdown(20000)
    release.set()
    t.join(30)
    stopper.join(30)
    r = result["r"]
    assert isinstance(r, httpx.Response)
    assert r.status_code == 200 and r.json() == {"done": "async" if asynchronous else "sync"}
    client.close()
    with pytest.raises(httpx.TransportError):
        httpx.get(url + "/slow", timeout=5)


def test_shutdown_cuts_off_after_grace() -> None:
    app, started, release = _blocking_app(asynchronous=True)
    client = TestClient(app, grace_ms=0).start()
    result: dict[str, object] = {}
    t = threading.Thread(target=lambda: result.setdefault("r", httpx.get(client.base_url + "/slow", timeout=30)))
    t.start()
    assert started.wait(30)
    client.close()  # grace 0: the held request is answered 503 by the core
    t.join(30)
    release.set()
    r = result["r"]
    assert isinstance(r, httpx.Response) and r.status_code == 503


def test_server_api_and_errors() -> None:
    app = Spikard()

    @app.get("/x")
    def x() -> str:
        return "x"

    with Server(app) as server:
        cfg = server.config()
        assert cfg["routes"][0]["path"] == "/x"
        port = server.listen("127.0.0.1", 0)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            busy = s.getsockname()[1]
            with pytest.raises(SpikardError) as e:
                server.listen("127.0.0.1", busy)
            assert e.value.code == -9  # SPIKARD_EIO
        assert port > 0
        server.shutdown(1000)


def test_bad_documents_are_refused() -> None:
    bad = Spikard.from_document({"version": 1, "routes": [{"method": "GET", "path": "/a", "handler": "h",
                                                          "parameters": {"query": {"n": {"type": "nope"}}}}]})
    bad.handler("h")(lambda request: "x")
    with pytest.raises(SpikardError) as e:
        Server(bad)
    assert e.value.code == -4  # SPIKARD_ECONFIG
    unbound = Spikard.from_document({"version": 1, "routes": [{"method": "GET", "path": "/a", "handler": "h"}]})
    with pytest.raises(ValueError):
        Server(unbound)
    wrong = Spikard.from_document({"version": 99, "routes": []})
    with pytest.raises(SpikardError) as e:
        Server(wrong)
    assert e.value.code == -3  # SPIKARD_EVERSION


def test_from_document() -> None:
    app = Spikard.from_document({
        "version": 1,
        "routes": [{"method": "GET", "path": "/items/{id:int}", "handler": "item",
                    "parameters": {"query": {"q": {"type": "string", "optional": True}}}}],
    })

    @app.handler("item")
    def item(request: object) -> bytes:
        from spikard import Request

        assert isinstance(request, Request)
        return request.values

    with TestClient(app) as c:
        assert c.get("/items/3?q=z").json() == {"path": {"id": 3}, "query": {"q": "z"}}


def test_workers_above_one_is_explained() -> None:
    with pytest.raises(NotImplementedError, match="SO_REUSEPORT"):
        Spikard().run(port=0, workers=2)


APP = textwrap.dedent(
    """
    from spikard import Spikard

    app = Spikard(on_shutdown=[lambda: print("bye", flush=True)])

    @app.get("/hello")
    def hello() -> dict:
        return {"hello": "world"}

    @app.get("/ahello")
    async def ahello() -> dict:
        return {"hello": "async"}
    """
)


def _start_cli(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], int]:
    (tmp_path / "myapp.py").write_text(APP)
    exe = Path(sys.executable).parent / "spikard"
    proc = subprocess.Popen(
        [str(exe), "run", "myapp:app", "--port", "0", *extra],
        cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:
        m = re.search(r"serving on http://127\.0\.0\.1:(\d+)", line)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise AssertionError("the CLI did not announce its port")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
@pytest.mark.parametrize("loop", ["auto", "asyncio"])
def test_cli_serves_and_stops_on_signals(tmp_path: Path, sig: signal.Signals, loop: str) -> None:
    proc, port = _start_cli(tmp_path, "--loop", loop)
    try:
        assert httpx.get(f"http://127.0.0.1:{port}/hello").json() == {"hello": "world"}
        assert httpx.get(f"http://127.0.0.1:{port}/ahello").json() == {"hello": "async"}
        os.kill(proc.pid, sig)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        assert "stopped" in err and "bye" in out
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cli_config_and_version(tmp_path: Path) -> None:
    (tmp_path / "myapp.py").write_text(APP)
    exe = Path(sys.executable).parent / "spikard"
    out = subprocess.run([str(exe), "config", "myapp:app"], cwd=tmp_path, capture_output=True, text=True, check=True)
    assert '"/hello"' in out.stdout
    out = subprocess.run([str(exe), "version"], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("spikard 0.1.0 (libspikard ")
    out = subprocess.run([sys.executable, "-m", "spikard", "version"], capture_output=True, text=True, check=True)
    assert "ABI" in out.stdout
