"""Bodies and answers as msgspec Structs, Pydantic models, dataclasses, attrs
classes, TypedDicts and plain types: one schema at registration, the core
validates, the handler gets the declared type."""

from __future__ import annotations

import dataclasses
from typing import Annotated, TypedDict

import attrs
import msgspec
import pydantic
import pytest

from spikard import Body, Form, Spikard
from spikard.testing import TestClient

GOOD = {"name": "Keyboard", "price": 129.99, "tags": ["usb"]}


class ItemStruct(msgspec.Struct):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    price: Annotated[float, msgspec.Meta(gt=0)]
    tags: list[str] = []


class ItemModel(pydantic.BaseModel):
    name: str = pydantic.Field(min_length=1)
    price: float = pydantic.Field(gt=0)
    tags: list[str] = []


@dataclasses.dataclass
class ItemDataclass:
    name: str
    price: float
    tags: list[str] = dataclasses.field(default_factory=list)


@attrs.define
class ItemAttrs:
    name: str
    price: float
    tags: list[str] = attrs.field(factory=list)


class ItemTD(TypedDict):
    name: str
    price: float


KINDS = [ItemStruct, ItemModel, ItemDataclass, ItemAttrs]


def make_app() -> Spikard:
    app = Spikard()

    def register(kind: type) -> None:
        def handler(item):  # type: ignore[no-untyped-def]
            assert type(item) is kind, type(item)
            return item

        handler.__annotations__ = {"item": kind, "return": kind}

        app.post(f"/{kind.__name__}")(handler)

    for kind in KINDS:
        register(kind)

    @app.post("/typeddict")
    def td(item: ItemTD) -> dict[str, object]:
        return {"got": dict(item), "type": type(item).__name__}

    @app.post("/list")
    def many(items: Annotated[list[ItemStruct], Body()]) -> list[ItemStruct]:
        return items[::-1]

    @app.post("/pydantic-list")
    def pyd_many(items: Annotated[list[ItemModel], Body()]) -> dict[str, object]:
        return {"n": len(items), "types": sorted({type(i).__name__ for i in items})}

    @app.post("/plain")
    def plain(data: dict[str, int]) -> dict[str, int]:
        return {k: v * 2 for k, v in data.items()}

    @app.post("/form")
    def form(data: Annotated[ItemStruct, Form()]) -> ItemStruct:
        return data

    @app.get("/bad-answer")
    def bad_answer() -> ItemStruct:
        return ItemStruct(name="", price=-1)

    @app.get("/models")
    def models() -> dict[str, object]:
        return {"s": ItemStruct("a", 1.0), "m": ItemModel(name="b", price=2.0), "d": ItemDataclass("c", 3.0)}

    return app


@pytest.fixture(scope="module")
def client() -> TestClient:
    with TestClient(make_app()) as c:
        yield c  # type: ignore[misc]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_body_and_answer(client: TestClient, kind: type) -> None:
    r = client.post(f"/{kind.__name__}", json=GOOD)
    assert r.status_code == 200, r.text
    assert r.json() == GOOD
    assert r.headers["content-type"] == "application/json"


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.__name__)
def test_body_validated_by_core(client: TestClient, kind: type) -> None:
    r = client.post(f"/{kind.__name__}", json={"name": "x", "price": "cheap"})
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "price"]
    r = client.post(f"/{kind.__name__}", json={"price": 1})
    assert r.status_code == 422
    assert client.post(f"/{kind.__name__}", content=b"{not json", headers={"Content-Type": "application/json"}).status_code == 400


def test_constraints_from_msgspec_and_pydantic(client: TestClient) -> None:
    for kind in ("ItemStruct", "ItemModel"):
        r = client.post(f"/{kind}", json={"name": "", "price": 0})
        assert r.status_code == 422
        assert {tuple(e["loc"]) for e in r.json()["errors"]} == {("body", "name"), ("body", "price")}


def test_typeddict_and_containers(client: TestClient) -> None:
    assert client.post("/typeddict", json={"name": "a", "price": 1}).json() == {
        "got": {"name": "a", "price": 1.0}, "type": "dict"}
    r = client.post("/list", json=[GOOD, {"name": "b", "price": 1}])
    assert r.json() == [{"name": "b", "price": 1.0, "tags": []}, GOOD]
    assert client.post("/list", json=[GOOD, {"name": "b"}]).status_code == 422
    r = client.post("/pydantic-list", json=[GOOD, GOOD])
    assert r.json() == {"n": 2, "types": ["ItemModel"]}
    assert client.post("/plain", json={"a": 1, "b": 2}).json() == {"a": 2, "b": 4}
    assert client.post("/plain", json={"a": "x"}).status_code == 422


def test_form_body(client: TestClient) -> None:
    r = client.post("/form", data={"name": "pen", "price": "2.5"})
    assert r.status_code == 200, r.text
    assert r.json() == {"name": "pen", "price": 2.5, "tags": []}


def test_response_schema_enforced(client: TestClient) -> None:
    r = client.get("/bad-answer")
    assert r.status_code == 500
    assert r.headers["content-type"] == "application/problem+json"


def test_models_nested_in_dicts(client: TestClient) -> None:
    assert client.get("/models").json() == {
        "s": {"name": "a", "price": 1.0, "tags": []},
        "m": {"name": "b", "price": 2.0, "tags": []},
        "d": {"name": "c", "price": 3.0, "tags": []},
    }


def test_schemas_in_document() -> None:
    doc = make_app().document()
    by_path = {r["path"]: r for r in doc["routes"]}
    for kind in KINDS:
        body = by_path[f"/{kind.__name__}"]["body_schema"]
        assert "$defs" in body or body.get("type") == "object"
    assert by_path["/form"]["content_type"] == "application/x-www-form-urlencoded"


def test_openapi_document() -> None:
    app = Spikard(openapi=True, title="Shop", version="2.0.0")

    @app.post("/items", summary="Create an item", tags=["items"])
    def create(item: ItemStruct) -> ItemStruct:
        return item

    from spikard import Server

    with Server(app) as server:
        doc = server.openapi()
        assert doc["info"]["title"] == "Shop" and doc["info"]["version"] == "2.0.0"
        op = doc["paths"]["/items"]["post"]
        assert op["summary"] == "Create an item" and op["tags"] == ["items"]
    with TestClient(app) as c:
        served = c.get("/openapi.json").json()
        assert "/items" in served["paths"]
