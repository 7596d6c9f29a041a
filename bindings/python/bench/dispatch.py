#!/usr/bin/env python3
"""Measures the three ways CPython can drain libspikard's queue, on the same
route and the same handler (a dict encoded with msgspec), one thread each:

  native  the package's C extension (spikard._native.serve): spikard_next with
          the GIL released, batch of 64, dispatch and spikard_respond in C
  cffi    cffi ABI mode: the same loop written in Python over ffi calls
  ctypes  ctypes: the same loop written in Python over ctypes calls
  api     the public API (@app.get, prepared route function, Response encoder)
          on the native loop, for the cost of the binding's layer

    python bindings/python/bench/dispatch.py native|cffi|ctypes   (a server: prints its port)
    python3 bindings/python/bench/dispatch.py --compare [--duration 5 --repeat 3]

The server modes run with the spikard venv's python (cffi must be installed
there for the cffi mode).
"""

from __future__ import annotations

import os
import re
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HEADER = b"Content-Type: application/json\n"
DOC = b'{"version":1,"routes":[{"method":"GET","path":"/json","handler":"h"}]}'

CDEF = """
typedef struct spikard_request {
    uint32_t size; uint32_t kind; uint64_t id; uint64_t tag; int64_t app;
    const char *handler; size_t handler_len; const char *method; size_t method_len;
    const char *path; size_t path_len; const char *query; size_t query_len;
    const char *headers; size_t headers_len; const char *request_id; size_t request_id_len;
    const char *values; size_t values_len; const char *body; size_t body_len;
    uint64_t conn;
} spikard_request;
int spikard_app_new(const char *config_json, size_t config_len, int64_t *out_app);
int spikard_app_handle_queued(int64_t app, const char *name, uint64_t tag);
int spikard_app_listen(int64_t app, const char *host, uint16_t port, uint16_t *out_port);
int spikard_next(int64_t app, int timeout_ms, spikard_request *out, size_t cap, size_t *out_n);
int spikard_respond(uint64_t request_id, int status, const char *headers, size_t headers_len,
                    const char *body, size_t body_len);
int spikard_app_shutdown(int64_t app, int timeout_ms);
"""


def handler() -> bytes:
    import msgspec

    return msgspec.json.encode({"message": "Hello, World!"})


def serve_native() -> None:
    import msgspec

    from spikard import _native

    app = _native.app_new(DOC)
    _native.handle_queued(app, "h", 0)
    print(f"port {_native.listen(app, '127.0.0.1', 0)}", flush=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    enc = msgspec.json.encode

    def route(req: object) -> tuple[int, bytes, bytes]:
        return (200, HEADER, enc({"message": "Hello, World!"}))

    _native.serve(app, (route,), 200)


def serve_api() -> None:
    import spikard

    app = spikard.Spikard()

    @app.get("/json")
    def h() -> dict[str, str]:
        return {"message": "Hello, World!"}

    server = spikard.Server(app)
    print(f"port {server.listen('127.0.0.1', 0)}", flush=True)
    signal.signal(signal.SIGTERM, lambda *a: server.begin_shutdown(0))
    server.serve()


def lib_path() -> str:
    import spikard

    return str(Path(spikard.__file__).parent / "libspikard.so")


def serve_cffi() -> None:
    import cffi
    import msgspec

    ffi = cffi.FFI()
    ffi.cdef(CDEF)
    lib = ffi.dlopen(lib_path())
    app = ffi.new("int64_t *")
    assert lib.spikard_app_new(DOC, len(DOC), app) == 0
    assert lib.spikard_app_handle_queued(app[0], b"h", 0) == 0
    port = ffi.new("uint16_t *")
    assert lib.spikard_app_listen(app[0], b"127.0.0.1", 0, port) == 0
    print(f"port {port[0]}", flush=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    batch = ffi.new("spikard_request[64]")
    n = ffi.new("size_t *")
    nxt, respond, enc = lib.spikard_next, lib.spikard_respond, msgspec.json.encode
    a = app[0]
    while True:
        rc = nxt(a, 200, batch, 64, n)
        if rc == -5:
            continue
        if rc != 0:
            return
        if n[0] and batch[0].size != ffi.sizeof("spikard_request"):
            sys.exit(f"spikard_request is {batch[0].size} bytes in the library, {ffi.sizeof('spikard_request')} here")
        for i in range(n[0]):
            body = enc({"message": "Hello, World!"})
            respond(batch[i].id, 200, HEADER, len(HEADER), body, len(body))


def serve_ctypes() -> None:
    import ctypes as C

    import msgspec

    class Req(C.Structure):
        _fields_ = [("size", C.c_uint32), ("kind", C.c_uint32), ("id", C.c_uint64), ("tag", C.c_uint64),
                    ("app", C.c_int64)] + [
            (f, t) for name in ("handler", "method", "path", "query", "headers", "request_id", "values", "body")
            for f, t in ((name, C.c_char_p), (name + "_len", C.c_size_t))
        ] + [("conn", C.c_uint64)]

    lib = C.CDLL(lib_path())
    lib.spikard_respond.argtypes = [C.c_uint64, C.c_int, C.c_char_p, C.c_size_t, C.c_char_p, C.c_size_t]
    lib.spikard_next.argtypes = [C.c_int64, C.c_int, C.POINTER(Req), C.c_size_t, C.POINTER(C.c_size_t)]
    app = C.c_int64()
    assert lib.spikard_app_new(DOC, len(DOC), C.byref(app)) == 0
    assert lib.spikard_app_handle_queued(app, b"h", C.c_uint64(0)) == 0
    port = C.c_uint16()
    assert lib.spikard_app_listen(app, b"127.0.0.1", C.c_uint16(0), C.byref(port)) == 0
    print(f"port {port.value}", flush=True)
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(0))
    batch = (Req * 64)()
    n = C.c_size_t()
    nxt, respond, enc = lib.spikard_next, lib.spikard_respond, msgspec.json.encode
    nref = C.byref(n)
    while True:
        rc = nxt(app, 200, batch, 64, nref)
        if rc == -5:
            continue
        if rc != 0:
            return
        if n.value and batch[0].size != C.sizeof(Req):
            sys.exit(f"spikard_request is {batch[0].size} bytes in the library, {C.sizeof(Req)} here")
        for i in range(n.value):
            body = enc({"message": "Hello, World!"})
            respond(batch[i].id, 200, HEADER, len(HEADER), body, len(body))


def compare(duration: int, repeat: int) -> None:
    root = Path(__file__).resolve().parents[3]
    py = os.environ.get("SPIKARD_PYTHON", str(root / "build" / "python" / "venv" / "bin" / "python"))
    modes = ["native", "cffi", "ctypes", "api"]
    procs = {}
    for m in modes:
        p = subprocess.Popen([py, __file__, m], stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None
        procs[m] = (p, int(p.stdout.readline().split()[1]))
    time.sleep(0.5)
    res: dict[str, list[float]] = {m: [] for m in modes}
    cpu: dict[str, list[float]] = {m: [] for m in modes}

    def cpu_s(pid: int) -> float:
        f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")

    try:
        for m in modes:  # warm-up
            subprocess.run(["wrk", "-t2", "-c64", "-d1s", f"http://127.0.0.1:{procs[m][1]}/json"], capture_output=True)
        for i in range(repeat):
            for m in modes[i % len(modes):] + modes[: i % len(modes)]:
                c0 = cpu_s(procs[m][0].pid)
                out = subprocess.run(["wrk", "-t2", "-c64", f"-d{duration}s", f"http://127.0.0.1:{procs[m][1]}/json"],
                                     capture_output=True, text=True).stdout
                total = int(re.search(r"(\d+) requests in", out).group(1))  # type: ignore[union-attr]
                cpu[m].append((cpu_s(procs[m][0].pid) - c0) / total * 1e6)
                if "Non-2xx" in out or "Socket errors" in out:
                    raise SystemExit(f"{m}: errors\n{out}")
                res[m].append(float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)))  # type: ignore[union-attr]
    finally:
        for p, _ in procs.values():
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    base = statistics.median(res["native"])
    cbase = statistics.median(cpu["native"])
    for m in modes:
        med, c = statistics.median(res[m]), statistics.median(cpu[m])
        print(f"{m:<8} {med:>9.0f} req/s  (runs {', '.join(f'{x:.0f}' for x in res[m])})  {med / base:.2f}x native;"
              f"  server CPU {c:.1f} us/req ({c / cbase:.2f}x native)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--compare"]:
        import argparse

        ap = argparse.ArgumentParser()
        ap.add_argument("--compare", action="store_true")
        ap.add_argument("--duration", type=int, default=5)
        ap.add_argument("--repeat", type=int, default=3)
        a = ap.parse_args()
        compare(a.duration, a.repeat)
    else:
        {"native": serve_native, "cffi": serve_cffi, "ctypes": serve_ctypes, "api": serve_api}[sys.argv[1]]()
