"""Parameters of every source, declared by type hints and markers."""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Annotated, Literal

import msgspec

from spikard import Cookie, Header, Path, Query, Request, Spikard
from spikard.testing import TestClient


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


def make_app() -> Spikard:
    app = Spikard()

    @app.get("/users/{user_id:int}")
    def get_user(user_id: int, verbose: bool = False, q: str | None = None) -> dict[str, object]:
        return {"id": user_id, "verbose": verbose, "q": q, "types": [type(user_id).__name__, type(verbose).__name__]}

    @app.get("/plain/{slug}")
    def plain(slug: str, page: int = 1) -> dict[str, object]:
        return {"slug": slug, "page": page}

    @app.get("/typed/{when}/{ident}")
    def typed(when: datetime.date, ident: uuid.UUID, color: Color = Color.RED, mode: Literal["a", "b"] = "a") -> dict[str, object]:
        return {"when": when.isoformat(), "ident": ident.hex, "color": color.value, "mode": mode,
                "types": [type(when).__name__, type(ident).__name__, type(color).__name__]}

    @app.get("/search")
    def search(
        q: Annotated[str, Query(min_length=2)],
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        tags: list[str] | None = None,
        ratio: Annotated[float, msgspec.Meta(gt=0)] = 1.5,
    ) -> dict[str, object]:
        return {"q": q, "limit": limit, "tags": tags, "ratio": ratio}

    @app.get("/old-style")
    def old_style(limit: int = Query(5, le=10), name: str = Query(alias="user-name")) -> dict[str, object]:
        return {"limit": limit, "name": name}

    @app.get("/headers")
    def headers(
        x_token: Annotated[str, Header()],
        user_agent: Annotated[str | None, Header()] = None,
        x_count: Annotated[int, Header(alias="X-Count")] = 0,
    ) -> dict[str, object]:
        return {"token": x_token, "ua": user_agent, "count": x_count}

    @app.get("/cookies")
    def cookies(session: Annotated[str, Cookie(min_length=3)], theme: Annotated[str, Cookie()] = "light") -> dict[str, str]:
        return {"session": session, "theme": theme}

    @app.get("/files/{name}")
    def explicit_path(name: Annotated[str, Path(pattern="^[a-z]+$")]) -> dict[str, str]:
        return {"name": name}

    @app.get("/request/{item}")
    def with_request(item: int, request: Request) -> dict[str, object]:
        return {
            "item": item, "method": request.method, "path": request.path, "query": request.query_string,
            "x": request.headers.get("x-thing"), "rid": bool(request.request_id),
            "values": request.validated(),
        }

    return app


def test_path_and_query_are_coerced() -> None:
    with TestClient(make_app()) as c:
        r = c.get("/users/42", params={"verbose": "yes", "q": "x"})
        assert r.status_code == 200
        assert r.json() == {"id": 42, "verbose": True, "q": "x", "types": ["int", "bool"]}
        assert c.get("/users/7").json()["verbose"] is False
        r = c.get("/users/abc")
        assert r.status_code == 422
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["errors"][0]["loc"] == ["path", "user_id"]
        assert c.get("/plain/hello", params={"page": "3"}).json() == {"slug": "hello", "page": 3}


def test_typed_values() -> None:
    u = uuid.uuid4()
    with TestClient(make_app()) as c:
        r = c.get(f"/typed/2024-02-29/{u}", params={"color": "blue", "mode": "b"})
        assert r.status_code == 200, r.text
        assert r.json() == {"when": "2024-02-29", "ident": u.hex, "color": "blue", "mode": "b",
                            "types": ["date", "UUID", "Color"]}
        assert c.get(f"/typed/2024-02-30/{u}").status_code == 422
        assert c.get("/typed/2024-02-01/not-a-uuid").status_code == 422
        assert c.get(f"/typed/2024-02-01/{u}", params={"color": "green"}).status_code == 422
        assert c.get(f"/typed/2024-02-01/{u}", params={"mode": "c"}).status_code == 422


def test_query_constraints_and_lists() -> None:
    with TestClient(make_app()) as c:
        r = c.get("/search", params=[("q", "go"), ("tags", "a"), ("tags", "b")])
        assert r.json() == {"q": "go", "limit": 10, "tags": ["a", "b"], "ratio": 1.5}
        r = c.get("/search", params={"q": "g", "limit": "500", "ratio": "0"})
        assert r.status_code == 422
        locs = [e["loc"] for e in r.json()["errors"]]
        assert ["query", "q"] in locs and ["query", "limit"] in locs and ["query", "ratio"] in locs
        assert c.get("/search").status_code == 422  # q is required


def test_marker_as_default_and_alias() -> None:
    with TestClient(make_app()) as c:
        assert c.get("/old-style", params={"user-name": "ann"}).json() == {"limit": 5, "name": "ann"}
        assert c.get("/old-style", params={"user-name": "ann", "limit": 11}).status_code == 422
        assert c.get("/old-style").status_code == 422


def test_headers() -> None:
    with TestClient(make_app()) as c:
        r = c.get("/headers", headers={"X-Token": "t1", "User-Agent": "ua/1", "X-Count": "3"})
        assert r.json() == {"token": "t1", "ua": "ua/1", "count": 3}
        r = c.get("/headers", headers={"x-token": "t2", "X-Count": "x"})
        assert r.status_code == 422
        r = c.get("/headers", headers={"X-Count": "1"})
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"][0] == "headers"


def test_cookies() -> None:
    with TestClient(make_app()) as c:
        assert c.get("/cookies", cookies={"session": "abcd"}).json() == {"session": "abcd", "theme": "light"}
        assert c.get("/cookies", cookies={"session": "abcd", "theme": "dark"}).json()["theme"] == "dark"
        assert c.get("/cookies", cookies={"session": "ab"}).status_code == 422
        assert c.get("/cookies").status_code == 422


def test_explicit_path_marker() -> None:
    with TestClient(make_app()) as c:
        assert c.get("/files/abc").json() == {"name": "abc"}
        assert c.get("/files/ABC").status_code == 422


def test_request_object() -> None:
    with TestClient(make_app()) as c:
        r = c.get("/request/5?extra=1", headers={"X-Thing": "yes"})
        assert r.json() == {"item": 5, "method": "GET", "path": "/request/5", "query": "extra=1", "x": "yes",
                            "rid": True, "values": {"path": {"item": 5}}}


def test_document_declares_parameters() -> None:
    doc = make_app().document()
    route = doc["routes"][0]
    assert route["path"] == "/users/{user_id:int}"
    assert route["parameters"]["path"] == {"user_id": {"type": "integer"}}
    assert route["parameters"]["query"]["verbose"] == {"type": "boolean", "default": False, "optional": True}
    headers = next(r for r in doc["routes"] if r["path"] == "/headers")["parameters"]["headers"]
    assert list(headers) == ["x-token", "user-agent", "X-Count"]
