"""The package is typed (py.typed, strict mypy) and user code type-checks."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import spikard

USER = textwrap.dedent(
    """
    from typing import Annotated
    import msgspec
    from spikard import Spikard, Query, Header, Request, Response, HTTPException
    from spikard.testing import TestClient

    class Item(msgspec.Struct):
        name: str
        price: float

    app = Spikard(cors={"allow_origins": ["*"]})

    @app.get("/items/{item_id:int}")
    def get_item(item_id: int, q: Annotated[str | None, Query(max_length=5)] = None) -> dict[str, object]:
        return {"id": item_id, "q": q}

    @app.post("/items", status_code=201)
    async def create(item: Item, x_token: Annotated[str, Header()], request: Request) -> Item:
        if not x_token:
            raise HTTPException(401, "no token")
        return item

    @app.get("/r")
    def r() -> Response:
        return Response("x", status=200)

    def check() -> None:
        with TestClient(app) as client:
            status: int = client.get("/items/1").status_code
            assert status == 200
    """
)


def _mypy(*args: str) -> subprocess.CompletedProcess[str]:
    pytest.importorskip("mypy")
    return subprocess.run([sys.executable, "-m", "mypy", "--no-incremental", *args], capture_output=True, text=True)


def test_package_is_typed() -> None:
    pkg = Path(spikard.__file__).parent
    assert (pkg / "py.typed").is_file()
    res = _mypy("--strict", "-p", "spikard")
    assert res.returncode == 0, res.stdout + res.stderr


def test_user_code_type_checks(tmp_path: Path) -> None:
    f = tmp_path / "user_app.py"
    f.write_text(USER)
    res = _mypy("--strict", "--ignore-missing-imports", str(f))
    assert res.returncode == 0, res.stdout + res.stderr
