"""The benchmark workloads on the original spikard 0.17.2 from PyPI (Rust
core), in its own venv. It binds the port it is given."""

from __future__ import annotations

import os
import socket
import sys
from typing import Annotated

import msgspec
from spikard import App, Query
from spikard.options import ServerConfig


class Item(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    price: Annotated[float, msgspec.Meta(gt=0)]
    tags: list[str] = []
    in_stock: bool = False


def free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p: int = s.getsockname()[1]
    s.close()
    return p


port = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1] != "0" else free_port()
app = App(ServerConfig(host="127.0.0.1", port=port, workers=1))


@app.get("/json")
async def json_small() -> dict:
    return {"message": "Hello, World!"}


@app.get("/users/{id:int}/posts/{slug}")
async def path_params(id: int, slug: str) -> dict:
    return {"id": id, "slug": slug}


@app.get("/search")
async def query_params(q: str, limit: int, page: int) -> dict:
    return {"q": q, "limit": limit, "page": page}


@app.post("/items")
async def items(item: Item) -> Item:
    return item


if __name__ == "__main__":
    print(f"listening on 127.0.0.1:{port}", flush=True)
    # 0.17.2's App.run ignores the ServerConfig's port (it binds :8000 unless
    # SPIKARD_SERVER_PORT says otherwise).
    os.environ["SPIKARD_SERVER_PORT"] = str(port)
    app.run()
