"""The benchmark routes on the Python binding (bindings/python): the
workload table's core document (BENCH_DOC) served as it is, with one sync
handler per route kind answering from the request's validated values.
Prints "listening on 127.0.0.1:PORT" and serves until SIGTERM."""

from __future__ import annotations

import json
import os

from spikard import Response, Server, Spikard

with open(os.environ["BENCH_DOC"]) as f:
    app = Spikard.from_document(json.load(f))


@app.handler("echo")
def echo(req):  # the core has parsed (and on /v/json validated) the body
    return Response(req.body, media_type="application/json")


@app.handler("path")
def path(req):
    return req.validated()["path"]


@app.handler("query")
def query(req):
    return req.validated()["query"]


@app.handler("form")
def form(req):
    return req.validated()["body"]


@app.handler("multipart")
def multipart(req):
    body = req.validated()["body"]
    file = body["file"]
    return {"title": body["title"], "filename": file["filename"], "size": file["size"]}


if __name__ == "__main__":
    from spikard._server import _run_sync

    server = Server(app)
    port = server.listen("127.0.0.1", int(os.environ.get("PORT", "0")))
    print(f"listening on 127.0.0.1:{port}", flush=True)
    try:
        _run_sync(server, 2000)
    finally:
        server.close()
