"""The benchmark routes on Robyn (Rust runtime, one process): parameters
read from the request and converted by hand; the validated variants
checked with pydantic models (Robyn has no validation of its own).
Serves on 127.0.0.1:$PORT."""

from __future__ import annotations

import datetime
import json
import os
import sys
import uuid
from typing import Annotated, Any, Literal
from urllib.parse import parse_qs

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from robyn import Request, Response, Robyn

sys.argv = sys.argv[:1]  # Robyn parses the command line itself
app = Robyn(__file__)


def invalid() -> Response:
    return Response(status_code=422, headers={"Content-Type": "application/json"}, description='{"detail":"invalid input"}')


# --- models of the validated variants ----------------------------------------


class Item(BaseModel):
    model_config = ConfigDict(strict=True)
    sku: Annotated[str, Field(pattern=r"^[A-Z]{3}-[0-9]{4}$")]
    qty: Annotated[int, Field(ge=1, le=1000)]
    price: Annotated[float, Field(ge=0)]
    note: Annotated[str, Field(max_length=200)] | None = None


class Order(BaseModel):
    model_config = ConfigDict(strict=True)
    id: Annotated[int, Field(ge=1)]
    name: Annotated[str, Field(min_length=1, max_length=100)]
    active: bool
    price: Annotated[float, Field(gt=0)]
    tags: Annotated[list[Annotated[str, Field(max_length=30)]], Field(max_length=20)]
    items: Annotated[list[Item], Field(max_length=5000)]


S = lambda lo, hi: Field(min_length=lo, max_length=hi)  # noqa: E731
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Few(BaseModel):
    q: Annotated[str, S(1, 100)]
    limit: Annotated[int, Field(ge=1, le=100)]
    page: Annotated[int, Field(ge=1)]


class Medium(BaseModel):
    q: Annotated[str, S(1, 100)]
    category: Annotated[str, S(1, 50)]
    brand: Annotated[str, S(1, 50)]
    min_price: Annotated[float, Field(ge=0)]
    max_price: Annotated[float, Field(ge=0)]
    in_stock: bool
    sort: Literal["price", "name", "rating"]
    order: Literal["asc", "desc"]
    limit: Annotated[int, Field(ge=1, le=100)]
    page: Annotated[int, Field(ge=1)]


class Many(Medium):
    tags: Annotated[list[Annotated[str, Field(max_length=30)]], Field(max_length=10)]
    color: Annotated[str, Field(max_length=30)]
    size: Literal["s", "m", "l", "xl"]
    rating: Annotated[int, Field(ge=0, le=5)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    lang: Annotated[str, S(2, 5)]
    offset: Annotated[int, Field(ge=0)]
    include_reviews: bool
    seller: Annotated[str, Field(max_length=50)]
    region: Annotated[str, Field(max_length=50)]


class Simple(BaseModel):
    name: Annotated[str, S(1, 100)]
    email: Annotated[str, Field(max_length=254, pattern=EMAIL)]
    age: Annotated[int, Field(ge=0, le=150)]
    subscribe: bool


class Complex(BaseModel):
    first_name: Annotated[str, S(1, 100)]
    last_name: Annotated[str, S(1, 100)]
    email: Annotated[str, Field(max_length=254, pattern=EMAIL)]
    age: Annotated[int, Field(ge=0, le=150)]
    street: Annotated[str, Field(max_length=200)]
    city: Annotated[str, Field(max_length=100)]
    zip: Annotated[str, Field(pattern=r"^[0-9]{5}$")]
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
    phone: Annotated[str, Field(pattern=r"^\+?[0-9 ]{6,20}$")]
    interests: Annotated[list[Annotated[str, Field(max_length=30)]], Field(max_length=10)]
    quantity: Annotated[int, Field(ge=1, le=99)]
    unit_price: Annotated[float, Field(gt=0)]
    gift: bool
    comment: Annotated[str, Field(max_length=500)]


# --- conversion of the plain variants: the types each field has ---------------

MEDIUM = {"q": str, "category": str, "brand": str, "min_price": float, "max_price": float, "in_stock": bool,
          "sort": str, "order": str, "limit": int, "page": int}
TYPES = {
    "few": {"q": str, "limit": int, "page": int},
    "medium": MEDIUM,
    "many": {**MEDIUM, "tags": list, "color": str, "size": str, "rating": int, "currency": str, "lang": str,
             "offset": int, "include_reviews": bool, "seller": str, "region": str},
    "simple": {"name": str, "email": str, "age": int, "subscribe": bool},
    "complex": {"first_name": str, "last_name": str, "email": str, "age": int, "street": str, "city": str, "zip": str,
                "country": str, "phone": str, "interests": list, "quantity": int, "unit_price": float, "gift": bool,
                "comment": str},
}
MODELS = {"few": Few, "medium": Medium, "many": Many, "simple": Simple, "complex": Complex}
BOOLS = {"true": True, "1": True, "false": False, "0": False}


def convert(types: dict[str, type], get_all: Any) -> dict[str, Any] | None:
    out: dict[str, Any] = {}
    for name, t in types.items():
        vals = get_all(name)
        if not vals:
            return None
        try:
            out[name] = vals if t is list else BOOLS[vals[0]] if t is bool else t(vals[0])
        except (KeyError, ValueError):
            return None
    return out


def answer(kind: str, validated: bool, get_all: Any) -> Any:
    v = convert(TYPES[kind], get_all)
    if v is None:
        return invalid()
    if validated:
        try:
            MODELS[kind].model_validate(v)
        except ValidationError:
            return invalid()
    return v


for kind in ("few", "medium", "many"):
    for validated in (False, True):
        def query(request: Request, kind: str = kind, validated: bool = validated) -> Any:
            q = request.query_params
            return answer(kind, validated, q.get_all)

        app.get(("/v" if validated else "") + "/query/" + kind)(query)

for kind in ("simple", "complex"):
    for validated in (False, True):
        def form(request: Request, kind: str = kind, validated: bool = validated) -> Any:
            # form_data keeps one value per key: read the body for repeated keys.
            body = request.body if isinstance(request.body, str) else bytes(request.body).decode()
            fields = parse_qs(body, keep_blank_values=True)
            return answer(kind, validated, fields.get)

        app.post(("/v" if validated else "") + "/urlencoded/" + kind)(form)


# --- JSON ---------------------------------------------------------------------


@app.post("/json")
def json_echo(request: Request) -> Any:
    try:
        return request.json()
    except ValueError:
        return invalid()


@app.post("/v/json")
def json_validated(request: Request) -> Any:
    try:
        return Order.model_validate_json(request.body).model_dump(exclude_unset=True)
    except ValidationError:
        return invalid()


# --- multipart (Robyn gives files as filename -> bytes, without their type) ---


def upload(request: Request, validated: bool) -> Any:
    title = request.form_data.get("title")
    files = request.files
    if title is None or len(files) != 1:
        return invalid()
    filename, data = next(iter(files.items()))
    if validated and not (1 <= len(title) <= 100 and filename and 1 <= len(data) <= 1 << 20):
        return invalid()
    return {"title": title, "filename": filename, "size": len(data)}


@app.post("/multipart")
def multipart(request: Request) -> Any:
    return upload(request, False)


@app.post("/v/multipart")
def multipart_v(request: Request) -> Any:
    return upload(request, True)


# --- path parameters ----------------------------------------------------------

NAME = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[a-z0-9-]+$")]
WORD = Annotated[str, Field(min_length=1, max_length=20, pattern=r"^[a-z]+$")]


class PSimple(BaseModel):
    name: NAME


class PInt(BaseModel):
    id: Annotated[int, Field(ge=1, le=1000000)]


class PUUID(BaseModel):
    id: uuid.UUID


class PDate(BaseModel):
    date: datetime.date


class PDeep(BaseModel):
    a: WORD
    b: WORD
    c: WORD
    d: WORD
    e: WORD


class PMultiple(BaseModel):
    user_id: Annotated[int, Field(ge=1)]
    post_id: Annotated[int, Field(ge=1)]
    slug: NAME


PATHS = [
    ("/path/simple/:name", {"name": str}, PSimple),
    ("/path/int/:id", {"id": int}, PInt),
    ("/path/uuid/:id", {"id": str}, PUUID),
    ("/path/date/:date", {"date": str}, PDate),
    ("/path/deep/:a/:b/:c/:d/:e", {n: str for n in "abcde"}, PDeep),
    ("/path/multiple/:user_id/:post_id/:slug", {"user_id": int, "post_id": int, "slug": str}, PMultiple),
]
for path, types, model in PATHS:
    for validated in (False, True):
        def path_handler(request: Request, types: dict = types, model: type = model, validated: bool = validated) -> Any:
            p = request.path_params
            v = convert(types, lambda n: [p[n]] if n in p else None)
            if v is None:
                return invalid()
            if validated:
                try:
                    model.model_validate(v)
                except ValidationError:
                    return invalid()
            return v

        app.get(("/v" if validated else "") + path)(path_handler)


if __name__ == "__main__":
    app.start(host="127.0.0.1", port=int(os.environ["PORT"]), _check_port=False)
