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


def test_workers_need_a_port() -> None:
    with pytest.raises(ValueError, match="port other than 0"):
        Spikard().run(port=0, workers=2)


def test_worker_document_sets_reuse_port() -> None:
    app = Spikard(server={"max_body_bytes": 1234})
    app.get("/")(lambda: {})
    with Server(app, reuse_port=True) as s:
        assert s.config()["server"]["reuse_port"] is True
        assert s.config()["server"]["max_body_bytes"] == 1234
    assert "reuse_port" not in app.document()["server"]


PID_APP = textwrap.dedent(
    """
    import os
    from spikard import Spikard

    app = Spikard()

    @app.get("/pid")
    def pid() -> dict:
        return {"pid": os.getpid()}
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("how", ["cli", "run"])
def test_two_workers_share_one_port(tmp_path: Path, how: str) -> None:
    (tmp_path / "pidapp.py").write_text(PID_APP + ("\napp.run(port=int(__import__('sys').argv[1]), workers=2)\n" if how == "run" else ""))
    port = _free_port()
    if how == "cli":
        cmd = [str(Path(sys.executable).parent / "spikard"), "run", "pidapp:app", "--port", str(port), "--workers", "2"]
    else:
        cmd = [sys.executable, "pidapp.py", str(port)]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    log: list[str] = []
    try:
        assert proc.stderr is not None
        started: list[int] = []
        for line in proc.stderr:
            log.append(line)
            m = re.search(rf"serving on http://127\.0\.0\.1:{port} \(.*pid (\d+)\)", line)
            if m:
                started.append(int(m.group(1)))
            if len(started) == 2:
                break
        assert len(set(started)) == 2, "".join(log)
        assert proc.pid not in started
        drain = threading.Thread(target=lambda: log.extend(proc.stderr or []), daemon=True)
        drain.start()
        # 20 requests, each on a new connection: all answer, each from one of
        # the workers. The kernel spreads connections by hash, so a round can
        # land on one worker only: new rounds (new source ports) until both
        # have answered.
        seen: set[int] = set()
        for _ in range(25):
            for _ in range(20):
                r = httpx.get(f"http://127.0.0.1:{port}/pid", headers={"Connection": "close"}, timeout=10)
                assert r.status_code == 200, r.text
                seen.add(r.json()["pid"])
            if len(seen) == 2:
                break
        assert seen == set(started)
        os.kill(proc.pid, signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, "".join(log)
        drain.join(10)
        for pid in started:
            assert not _alive(pid), f"worker {pid} still running"
        assert sum("stopped (pid" in line for line in log) == 2, "".join(log)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


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
