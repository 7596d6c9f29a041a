"""The benchmark workloads on FastAPI (async def handlers, Pydantic v2 models),
served by uvicorn with uvloop and httptools, one worker, no access log."""

from __future__ import annotations

import socket
import sys
from typing import Annotated

import uvicorn
from fastapi import FastAPI, Query
from pydantic import BaseModel, Field

app = FastAPI()


class Item(BaseModel):
    name: str = Field(min_length=1)
    price: float = Field(gt=0)
    tags: list[str] = []
    in_stock: bool = False


@app.get("/json")
async def json_small() -> dict[str, str]:
    return {"message": "Hello, World!"}


@app.get("/users/{id}/posts/{slug}")
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


if __name__ == "__main__":
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", int(sys.argv[1]) if len(sys.argv) > 1 else 0))
    print(f"listening on 127.0.0.1:{sock.getsockname()[1]}", flush=True)
    config = uvicorn.Config(app, loop="uvloop", http="httptools", access_log=False, log_level="warning")
    uvicorn.Server(config).run(sockets=[sock])
