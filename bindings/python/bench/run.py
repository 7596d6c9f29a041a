#!/usr/bin/env python3
"""Benchmarks this binding against FastAPI (uvicorn + uvloop + httptools) and
the original spikard 0.17.2 from PyPI, on the workloads of bench/ (same
requests, same answers), single worker each, in one sitting.

    python3 bindings/python/bench/run.py --setup            # create the venvs once
    python3 bindings/python/bench/run.py --repeat 3 --duration 8

Every server is started fresh per workload and checked for the exact answer
before any timing; runs are interleaved across servers (so drift does not
favour one) and the median of --repeat runs of `wrk -t2 -c64 --latency` is
reported, with the server's CPU time per request (steadier than req/s on a
shared machine). Ratios are spikard / peer; the geometric mean is over the
workloads measured. Results go to build/python/bench/results.json too.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
BUILD = ROOT / "build" / "python"

ITEM = ('{"name":"Ergonomic Wireless Mechanical Keyboard","price":129.99,'
        '"tags":["electronics","peripherals","keyboards","wireless","usb","sale"],"in_stock":true}')

WORKLOADS = {
    "json-small": ("GET", "/json", None, {"message": "Hello, World!"}),
    "path-params": ("GET", "/users/42/posts/hello-world", None, {"id": 42, "slug": "hello-world"}),
    "query-params": ("GET", "/search?q=go&limit=10&page=2", None, {"q": "go", "limit": 10, "page": 2}),
    "json-post-validated": ("POST", "/items", ITEM, json.loads(ITEM)),
}
DEFAULT_WORKLOADS = ["json-small", "path-params", "json-post-validated"]

SERVERS = {
    # name: (venv, script, extra env)
    "spikard": (BUILD / "venv", HERE / "servers" / "spikard_app.py", {}),
    "spikard-async": (BUILD / "venv", HERE / "servers" / "spikard_app.py", {"BENCH_ASYNC": "1"}),
    "fastapi": (BUILD / "bench-fastapi", HERE / "servers" / "fastapi_app.py", {}),
    "spikard-0.17.2": (BUILD / "bench-spikard017", HERE / "servers" / "spikard017_app.py", {}),
}
SETUP = {
    "fastapi": ["fastapi", "uvicorn[standard]"],
    "spikard-0.17.2": ["spikard==0.17.2"],
}


def setup() -> None:
    for name, pkgs in SETUP.items():
        venv = SERVERS[name][0]
        if not (venv / "bin" / "python").exists():
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", *pkgs], check=True)
    venv = SERVERS["spikard"][0]
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(HERE.parent)], check=True)


class Proc:
    def __init__(self, name: str) -> None:
        venv, script, env = SERVERS[name]
        self.name = name
        self.log = tempfile.TemporaryFile()
        self.p = subprocess.Popen([str(venv / "bin" / "python"), str(script), "0"], stdout=subprocess.PIPE,
                                  stderr=self.log, env={**os.environ, **env}, text=True)
        assert self.p.stdout is not None
        line = self.p.stdout.readline()
        m = re.search(r"listening on ([\d.]+):(\d+)", line)
        if not m:
            self.stop()
            self.log.seek(0)
            raise RuntimeError(f"{name} did not start: {line!r} {self.log.read()[-2000:]!r}")
        self.addr = f"{m.group(1)}:{m.group(2)}"
        deadline = time.time() + 20
        while True:
            try:
                socket.create_connection((m.group(1), int(m.group(2))), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.p.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{name} does not accept connections")
                time.sleep(0.1)

    def cpu_seconds(self) -> float:
        fields = Path(f"/proc/{self.p.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.p.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGTERM)
            try:
                self.p.wait(15)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait()


def check(proc: Proc, workload: str) -> None:
    method, target, body, want = WORKLOADS[workload]
    req = urllib.request.Request(f"http://{proc.addr}{target}", method=method,
                                 data=body.encode() if body else None,
                                 headers={"Content-Type": "application/json"} if body else {})
    with urllib.request.urlopen(req, timeout=10) as r:
        got = json.loads(r.read())
        if not (200 <= r.status < 300) or got != want:
            raise RuntimeError(f"{proc.name} {workload}: got {r.status} {got}, want {want}")


def wrk(proc: Proc, workload: str, duration: float, script: Path | None) -> dict[str, float]:
    method, target, _, _ = WORKLOADS[workload]
    cmd = ["wrk", "-t2", "-c64", f"-d{max(1, round(duration))}s", "--latency"]
    if script:
        cmd += ["-s", str(script)]
    cmd.append(f"http://{proc.addr}{target}")
    c0 = proc.cpu_seconds()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    c1 = proc.cpu_seconds()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
    if re.search(r"Non-2xx", out):
        raise RuntimeError(f"{proc.name} {workload}: non-2xx answers during the run:\n{out}")
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = sum(map(int, m.groups())) if m else 0
    if errors:
        print(f"warning: {proc.name} {workload}: {m.group(0) if m else ''} (a loaded machine?)", file=sys.stderr)

    def lat(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        v = float(m.group(1))
        return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v

    return {"rps": rps, "p50_ms": lat("50"), "p99_ms": lat("99"), "cpu_us_per_req": (c1 - c0) / max(total, 1) * 1e6,
            "socket_errors": errors}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--setup", action="store_true", help="create/refresh the venvs, then exit")
    ap.add_argument("--servers", default="spikard,spikard-async,fastapi,spikard-0.17.2")
    ap.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS))
    ap.add_argument("--duration", type=float, default=8)
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--peer", default="fastapi", help="the server the ratios are against")
    args = ap.parse_args()
    if args.setup:
        setup()
        return 0
    servers = [s for s in args.servers.split(",") if s]
    workloads = [w for w in args.workloads.split(",") if w]
    lua = Path(tempfile.mkdtemp()) / "post.lua"
    lua.write_text('wrk.method = "POST"\nwrk.body = \'' + ITEM + '\'\n'
                   'wrk.headers["Content-Type"] = "application/json"\n')
    results: dict[str, dict[str, dict[str, object]]] = {}
    for w in workloads:
        procs: dict[str, Proc] = {}
        try:
            for s in servers:
                try:
                    procs[s] = Proc(s)
                    check(procs[s], w)
                except Exception as e:
                    print(f"skip {s} on {w}: {e}", file=sys.stderr)
                    if s in procs:
                        procs.pop(s).stop()
            script = lua if WORKLOADS[w][0] == "POST" else None
            for p in procs.values():
                wrk(p, w, args.warmup, script)
            runs: dict[str, list[dict[str, float]]] = {s: [] for s in procs}
            for i in range(args.repeat):
                order = list(procs)[i % max(len(procs), 1):] + list(procs)[: i % max(len(procs), 1)]
                for s in order:
                    runs[s].append(wrk(procs[s], w, args.duration, script))
            results[w] = {}
            for s, rs in runs.items():
                results[w][s] = {
                    "rps": statistics.median(r["rps"] for r in rs),
                    "rps_min": min(r["rps"] for r in rs), "rps_max": max(r["rps"] for r in rs),
                    "p50_ms": statistics.median(r["p50_ms"] for r in rs),
                    "p99_ms": statistics.median(r["p99_ms"] for r in rs),
                    "cpu_us_per_req": statistics.median(r["cpu_us_per_req"] for r in rs),
                    "rss_mb": procs[s].rss_mb(),
                    "socket_errors": sum(r["socket_errors"] for r in rs),
                }
        finally:
            for p in procs.values():
                p.stop()
        print(f"\n## {w}")
        print(f"{'server':<16} {'req/s':>9} {'min-max':>17} {'p50 ms':>7} {'p99 ms':>7} {'cpu us/req':>10} {'RSS MB':>7}")
        for s, r in results[w].items():
            print(f"{s:<16} {r['rps']:>9.0f} {r['rps_min']:>8.0f}-{r['rps_max']:<8.0f} {r['p50_ms']:>7.2f} "
                  f"{r['p99_ms']:>7.2f} {r['cpu_us_per_req']:>10.1f} {r['rss_mb']:>7.1f}")
        sys.stdout.flush()
    peer = args.peer
    print(f"\nload average at the end: {os.getloadavg()[0]:.1f} (other processes share the CPUs)")
    print(f"\n## ratios against {peer} (req/s; CPU per request in brackets)")
    for s in servers:
        if s == peer:
            continue
        ratios, cpu_ratios = [], []
        for w in workloads:
            r = results.get(w, {})
            if s in r and peer in r:
                ratios.append(r[s]["rps"] / r[peer]["rps"])  # type: ignore[operator]
                cpu_ratios.append(r[peer]["cpu_us_per_req"] / r[s]["cpu_us_per_req"])  # type: ignore[operator]
                print(f"{s:<16} {w:<22} {ratios[-1]:5.2f}x  [{cpu_ratios[-1]:5.2f}x]")
        if ratios:
            g = math.exp(sum(map(math.log, ratios)) / len(ratios))
            gc = math.exp(sum(map(math.log, cpu_ratios)) / len(cpu_ratios))
            print(f"{s:<16} {'geometric mean':<22} {g:5.2f}x  [{gc:5.2f}x]  min {min(ratios):.2f}x")
    out = BUILD / "bench" / "results.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
