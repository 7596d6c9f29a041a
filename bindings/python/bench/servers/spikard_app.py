"""The benchmark workloads on this binding (sync handlers; BENCH_ASYNC=1 for
async def handlers). Prints "listening on 127.0.0.1:PORT" and serves until
SIGTERM."""

from __future__ import annotations

import os
import sys
from typing import Annotated

import msgspec

from spikard import Query, Server, Spikard


class Item(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    price: Annotated[float, msgspec.Meta(gt=0)]
    tags: list[str] = []
    in_stock: bool = False


app = Spikard()
if os.environ.get("BENCH_ASYNC") == "1":

    @app.get("/json")
    async def json_small() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @app.get("/users/{id:int}/posts/{slug}")
    async def path_params(id: int, slug: str) -> dict[str, object]:
        return {"id": id, "slug": slug}

    @app.get("/search")
    async def query_params(
        q: Annotated[str, Query(min_length=1)],
        limit: Annotated[int, Query(ge=1, le=100)],
        page: Annotated[int, Query(ge=1)],
    ) -> dict[str, object]:
        return {"q": q, "limit": limit, "page": page}

    @app.post("/items")
    async def items(item: Item) -> Item:
        return item

else:

    @app.get("/json")
    def json_small() -> dict[str, str]:
        return {"message": "Hello, World!"}

    @app.get("/users/{id:int}/posts/{slug}")
    def path_params(id: int, slug: str) -> dict[str, object]:
        return {"id": id, "slug": slug}

    @app.get("/search")
    def query_params(
        q: Annotated[str, Query(min_length=1)],
        limit: Annotated[int, Query(ge=1, le=100)],
        page: Annotated[int, Query(ge=1)],
    ) -> dict[str, object]:
        return {"q": q, "limit": limit, "page": page}

    @app.post("/items")
    def items(item: Item) -> Item:
        return item


if __name__ == "__main__":
    from spikard._server import _run_asyncio, _run_sync

    server = Server(app)
    port = server.listen("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    print(f"listening on 127.0.0.1:{port}", flush=True)
    try:
        if server.uses_asyncio:
            _run_asyncio(server, 2000, "auto")
        else:
            _run_sync(server, 2000)
    finally:
        server.close()
