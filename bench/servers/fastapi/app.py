"""The benchmark routes on FastAPI, as its users write them: typed path and
query parameters, pydantic v2 models (strict for JSON bodies) with the
constraints of the validated variants, Form models, UploadFile.
Run: uvicorn app:app (one worker, uvloop, httptools)."""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated, Literal

from fastapi import FastAPI, File, Form, HTTPException, Path, Query, Request, UploadFile
from pydantic import BaseModel, ConfigDict, Field

app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

# --- JSON echo --------------------------------------------------------------


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


@app.post("/json")
async def json_echo(request: Request):
    return await request.json()


@app.post("/v/json", response_model_exclude_unset=True)
async def json_validated(order: Order) -> Order:
    return order


# --- multipart --------------------------------------------------------------


@app.post("/multipart")
async def upload(title: Annotated[str, Form()], file: UploadFile):
    data = await file.read()
    return {"title": title, "filename": file.filename, "size": len(data)}


@app.post("/v/multipart")
async def upload_validated(title: Annotated[str, Form(min_length=1, max_length=100)], file: Annotated[UploadFile, File()]):
    data = await file.read()
    if not file.filename or file.content_type != "text/plain" or not 1 <= len(data) <= 1 << 20:
        raise HTTPException(422, "file must be text/plain, 1 B to 1 MiB")
    return {"title": title, "filename": file.filename, "size": len(data)}


# --- path parameters --------------------------------------------------------

Name = Annotated[str, Path(min_length=1, max_length=50, pattern=r"^[a-z0-9-]+$")]
Word = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[a-z]+$")]


@app.get("/path/simple/{name}")
async def path_simple(name: str):
    return {"name": name}


@app.get("/v/path/simple/{name}")
async def path_simple_v(name: Name):
    return {"name": name}


@app.get("/path/int/{id}")
async def path_int(id: int):
    return {"id": id}


@app.get("/v/path/int/{id}")
async def path_int_v(id: Annotated[int, Path(ge=1, le=1000000)]):
    return {"id": id}


@app.get("/path/uuid/{id}")
async def path_uuid(id: str):
    return {"id": id}


@app.get("/v/path/uuid/{id}")
async def path_uuid_v(id: uuid.UUID):
    return {"id": str(id)}


@app.get("/path/date/{date}")
async def path_date(date: str):
    return {"date": date}


@app.get("/v/path/date/{date}")
async def path_date_v(date: datetime.date):
    return {"date": date.isoformat()}


@app.get("/path/deep/{a}/{b}/{c}/{d}/{e}")
async def path_deep(a: str, b: str, c: str, d: str, e: str):
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


@app.get("/v/path/deep/{a}/{b}/{c}/{d}/{e}")
async def path_deep_v(a: Word, b: Word, c: Word, d: Word, e: Word):
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


@app.get("/path/multiple/{user_id}/{post_id}/{slug}")
async def path_multiple(user_id: int, post_id: int, slug: str):
    return {"user_id": user_id, "post_id": post_id, "slug": slug}


@app.get("/v/path/multiple/{user_id}/{post_id}/{slug}")
async def path_multiple_v(user_id: Annotated[int, Path(ge=1)], post_id: Annotated[int, Path(ge=1)], slug: Name):
    return {"user_id": user_id, "post_id": post_id, "slug": slug}


# --- query parameters (query models) ----------------------------------------


class Few(BaseModel):
    q: str
    limit: int
    page: int


class FewV(BaseModel):
    q: Annotated[str, Field(min_length=1, max_length=100)]
    limit: Annotated[int, Field(ge=1, le=100)]
    page: Annotated[int, Field(ge=1)]


class Medium(BaseModel):
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


class MediumV(BaseModel):
    q: Annotated[str, Field(min_length=1, max_length=100)]
    category: Annotated[str, Field(min_length=1, max_length=50)]
    brand: Annotated[str, Field(min_length=1, max_length=50)]
    min_price: Annotated[float, Field(ge=0)]
    max_price: Annotated[float, Field(ge=0)]
    in_stock: bool
    sort: Literal["price", "name", "rating"]
    order: Literal["asc", "desc"]
    limit: Annotated[int, Field(ge=1, le=100)]
    page: Annotated[int, Field(ge=1)]


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
    tags: Annotated[list[Annotated[str, Field(max_length=30)]], Field(max_length=10)]
    color: Annotated[str, Field(max_length=30)]
    size: Literal["s", "m", "l", "xl"]
    rating: Annotated[int, Field(ge=0, le=5)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    lang: Annotated[str, Field(min_length=2, max_length=5)]
    offset: Annotated[int, Field(ge=0)]
    include_reviews: bool
    seller: Annotated[str, Field(max_length=50)]
    region: Annotated[str, Field(max_length=50)]


@app.get("/query/few")
async def query_few(p: Annotated[Few, Query()]):
    return p


@app.get("/v/query/few")
async def query_few_v(p: Annotated[FewV, Query()]):
    return p


@app.get("/query/medium")
async def query_medium(p: Annotated[Medium, Query()]):
    return p


@app.get("/v/query/medium")
async def query_medium_v(p: Annotated[MediumV, Query()]):
    return p


@app.get("/query/many")
async def query_many(p: Annotated[Many, Query()]):
    return p


@app.get("/v/query/many")
async def query_many_v(p: Annotated[ManyV, Query()]):
    return p


# --- urlencoded forms (form models) -----------------------------------------

EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class Simple(BaseModel):
    name: str
    email: str
    age: int
    subscribe: bool


class SimpleV(BaseModel):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    email: Annotated[str, Field(max_length=254, pattern=EMAIL)]
    age: Annotated[int, Field(ge=0, le=150)]
    subscribe: bool


class Complex(BaseModel):
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


class ComplexV(BaseModel):
    first_name: Annotated[str, Field(min_length=1, max_length=100)]
    last_name: Annotated[str, Field(min_length=1, max_length=100)]
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


@app.post("/urlencoded/simple")
async def form_simple(f: Annotated[Simple, Form()]):
    return f


@app.post("/v/urlencoded/simple")
async def form_simple_v(f: Annotated[SimpleV, Form()]):
    return f


@app.post("/urlencoded/complex")
async def form_complex(f: Annotated[Complex, Form()]):
    return f


@app.post("/v/urlencoded/complex")
async def form_complex_v(f: Annotated[ComplexV, Form()]):
    return f
