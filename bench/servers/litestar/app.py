"""The benchmark routes on Litestar, with msgspec as its users write it:
typed path parameters with Parameter constraints, msgspec Structs (with
Meta constraints in the validated variants) for JSON bodies, and query
strings and forms converted into Structs with msgspec.convert.
Run: uvicorn app:app (one worker, uvloop, httptools)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Any, Literal

import msgspec
from litestar import Litestar, Request, get, post
from litestar.exceptions import ValidationException
from litestar.params import Parameter
from msgspec import Meta, Struct

# --- JSON echo --------------------------------------------------------------


class Item(Struct):
    sku: Annotated[str, Meta(pattern=r"^[A-Z]{3}-[0-9]{4}$")]
    qty: Annotated[int, Meta(ge=1, le=1000)]
    price: Annotated[float, Meta(ge=0)]
    note: Annotated[str, Meta(max_length=200)] | msgspec.UnsetType = msgspec.UNSET


class Order(Struct):
    id: Annotated[int, Meta(ge=1)]
    name: Annotated[str, Meta(min_length=1, max_length=100)]
    active: bool
    price: Annotated[float, Meta(gt=0)]
    tags: Annotated[list[Annotated[str, Meta(max_length=30)]], Meta(max_length=20)]
    items: Annotated[list[Item], Meta(max_length=5000)]


@post("/json", status_code=200)
async def json_echo(data: dict[str, Any]) -> dict[str, Any]:
    return data


ORDER = msgspec.json.Decoder(Order)  # strict: Litestar's own body decoding is lax ("1" would pass as 1)


@post("/v/json", status_code=200)
async def json_validated(request: Request) -> Order:
    try:
        return ORDER.decode(await request.body())
    except (msgspec.ValidationError, msgspec.DecodeError) as e:
        raise ValidationException(str(e)) from e


# --- query strings and forms: Structs filled with msgspec.convert ------------

Len = lambda lo, hi: Meta(min_length=lo, max_length=hi)  # noqa: E731
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Few(Struct):
    q: str
    limit: int
    page: int


class FewV(Struct):
    q: Annotated[str, Len(1, 100)]
    limit: Annotated[int, Meta(ge=1, le=100)]
    page: Annotated[int, Meta(ge=1)]


class Medium(Struct):
    q: str
    category: str
    brand: str
    min_price: float
    max_price: float
    in_stock: bool
    sort: str
    order: str
    limit: int
    page: int


class MediumV(Struct):
    q: Annotated[str, Len(1, 100)]
    category: Annotated[str, Len(1, 50)]
    brand: Annotated[str, Len(1, 50)]
    min_price: Annotated[float, Meta(ge=0)]
    max_price: Annotated[float, Meta(ge=0)]
    in_stock: bool
    sort: Literal["price", "name", "rating"]
    order: Literal["asc", "desc"]
    limit: Annotated[int, Meta(ge=1, le=100)]
    page: Annotated[int, Meta(ge=1)]


class Many(Medium):
    tags: list[str]
    color: str
    size: str
    rating: int
    currency: str
    lang: str
    offset: int
    include_reviews: bool
    seller: str
    region: str


class ManyV(MediumV):
    tags: Annotated[list[Annotated[str, Meta(max_length=30)]], Meta(max_length=10)]
    color: Annotated[str, Meta(max_length=30)]
    size: Literal["s", "m", "l", "xl"]
    rating: Annotated[int, Meta(ge=0, le=5)]
    currency: Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
    lang: Annotated[str, Len(2, 5)]
    offset: Annotated[int, Meta(ge=0)]
    include_reviews: bool
    seller: Annotated[str, Meta(max_length=50)]
    region: Annotated[str, Meta(max_length=50)]


class Simple(Struct):
    name: str
    email: str
    age: int
    subscribe: bool


class SimpleV(Struct):
    name: Annotated[str, Len(1, 100)]
    email: Annotated[str, Meta(max_length=254, pattern=EMAIL)]
    age: Annotated[int, Meta(ge=0, le=150)]
    subscribe: bool


class Complex(Struct):
    first_name: str
    last_name: str
    email: str
    age: int
    street: str
    city: str
    zip: str
    country: str
    phone: str
    interests: list[str]
    quantity: int
    unit_price: float
    gift: bool
    comment: str


class ComplexV(Struct):
    first_name: Annotated[str, Len(1, 100)]
    last_name: Annotated[str, Len(1, 100)]
    email: Annotated[str, Meta(max_length=254, pattern=EMAIL)]
    age: Annotated[int, Meta(ge=0, le=150)]
    street: Annotated[str, Meta(max_length=200)]
    city: Annotated[str, Meta(max_length=100)]
    zip: Annotated[str, Meta(pattern=r"^[0-9]{5}$")]
    country: Annotated[str, Meta(pattern=r"^[A-Z]{2}$")]
    phone: Annotated[str, Meta(pattern=r"^\+?[0-9 ]{6,20}$")]
    interests: Annotated[list[Annotated[str, Meta(max_length=30)]], Meta(max_length=10)]
    quantity: Annotated[int, Meta(ge=1, le=99)]
    unit_price: Annotated[float, Meta(gt=0)]
    gift: bool
    comment: Annotated[str, Meta(max_length=500)]


LISTS = {"tags", "interests"}


def fill(model: type[Struct], multi: Any) -> Struct:
    raw = {k: (multi.getall(k) if k in LISTS else multi.get(k)) for k in multi.keys()}
    try:
        return msgspec.convert(raw, model, strict=False)
    except msgspec.ValidationError as e:
        raise ValidationException(str(e)) from e


def query_route(path: str, model: type[Struct]) -> Any:
    @get(path, name=path)
    async def handler(request: Request) -> Struct:
        return fill(model, request.query_params)

    return handler


def form_route(path: str, model: type[Struct]) -> Any:
    @post(path, name=path, status_code=200)
    async def handler(request: Request) -> Struct:
        return fill(model, await request.form())

    return handler


# --- multipart --------------------------------------------------------------


async def read_upload(request: Request, validated: bool) -> dict[str, Any]:
    form = await request.form()
    title, file = form.get("title"), form.get("file")
    if not isinstance(title, str) or file is None or isinstance(file, str):
        raise ValidationException("title and file are required")
    data = await file.read()
    if validated and not (1 <= len(title) <= 100 and file.filename and file.content_type == "text/plain" and 1 <= len(data) <= 1 << 20):
        raise ValidationException("invalid upload")
    return {"title": title, "filename": file.filename, "size": len(data)}


@post("/multipart", status_code=200)
async def upload(request: Request) -> dict[str, Any]:
    return await read_upload(request, False)


@post("/v/multipart", status_code=200)
async def upload_v(request: Request) -> dict[str, Any]:
    return await read_upload(request, True)


# --- path parameters --------------------------------------------------------

Name = Annotated[str, Parameter(min_length=1, max_length=50, pattern=r"^[a-z0-9-]+$")]
Word = Annotated[str, Parameter(min_length=1, max_length=20, pattern=r"^[a-z]+$")]


@get("/path/simple/{name:str}")
async def path_simple(name: str) -> dict[str, Any]:
    return {"name": name}


@get("/v/path/simple/{name:str}")
async def path_simple_v(name: Name) -> dict[str, Any]:
    return {"name": name}


@get("/path/int/{id:int}")
async def path_int(id: int) -> dict[str, Any]:
    return {"id": id}


@get("/v/path/int/{id:int}")
async def path_int_v(id: Annotated[int, Parameter(ge=1, le=1000000)]) -> dict[str, Any]:
    return {"id": id}


@get("/path/uuid/{id:str}")
async def path_uuid(id: str) -> dict[str, Any]:
    return {"id": id}


@get("/v/path/uuid/{id:uuid}")
async def path_uuid_v(id: uuid.UUID) -> dict[str, Any]:
    return {"id": str(id)}


@get("/path/date/{date:str}")
async def path_date(date: str) -> dict[str, Any]:
    return {"date": date}


@get("/v/path/date/{date:date}")
async def path_date_v(date: datetime.date) -> dict[str, Any]:
    return {"date": date.isoformat()}


@get("/path/deep/{a:str}/{b:str}/{c:str}/{d:str}/{e:str}")
async def path_deep(a: str, b: str, c: str, d: str, e: str) -> dict[str, Any]:
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


@get("/v/path/deep/{a:str}/{b:str}/{c:str}/{d:str}/{e:str}")
async def path_deep_v(a: Word, b: Word, c: Word, d: Word, e: Word) -> dict[str, Any]:
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


@get("/path/multiple/{user_id:int}/{post_id:int}/{slug:str}")
async def path_multiple(user_id: int, post_id: int, slug: str) -> dict[str, Any]:
    return {"user_id": user_id, "post_id": post_id, "slug": slug}


@get("/v/path/multiple/{user_id:int}/{post_id:int}/{slug:str}")
async def path_multiple_v(
    user_id: Annotated[int, Parameter(ge=1)], post_id: Annotated[int, Parameter(ge=1)], slug: Name
) -> dict[str, Any]:
    return {"user_id": user_id, "post_id": post_id, "slug": slug}


app = Litestar(
    route_handlers=[
        json_echo, json_validated, upload, upload_v,
        path_simple, path_simple_v, path_int, path_int_v, path_uuid, path_uuid_v, path_date, path_date_v,
        path_deep, path_deep_v, path_multiple, path_multiple_v,
        query_route("/query/few", Few), query_route("/v/query/few", FewV),
        query_route("/query/medium", Medium), query_route("/v/query/medium", MediumV),
        query_route("/query/many", Many), query_route("/v/query/many", ManyV),
        form_route("/urlencoded/simple", Simple), form_route("/v/urlencoded/simple", SimpleV),
        form_route("/urlencoded/complex", Complex), form_route("/v/urlencoded/complex", ComplexV),
    ],
    openapi_config=None,
    debug=False,
)
