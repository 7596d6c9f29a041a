"""The benchmark routes on the original Spikard 0.17.2 (Rust core) from
PyPI: typed handler parameters with the workload table's JSON Schemas
(Path/Query/Body(schema=...), the API it offers for constraints), generated
from BENCH_SPEC since every route is the same shape. Serves on $PORT."""

from __future__ import annotations

import datetime
import json
import os
import uuid
from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta, Struct
from spikard import App
from spikard.options import Response, ServerConfig
from spikard.params import Body, Path, Query

PY = {"string": "str", "integer": "int", "number": "float", "boolean": "bool", "array": "list[str]"}

port = int(os.environ["PORT"])
app = App(ServerConfig(host="127.0.0.1", port=port, workers=1))
with open(os.environ["BENCH_SPEC"]) as f:
    spec = json.load(f)


# 0.17.2 enforces the constraints of msgspec Structs on bodies, but not the
# schema= of Path/Query (nor Meta on parameters): the validated variants
# convert the parameters into a Struct carrying the constraints, which is
# how its users add checks. The Structs are made from the workload table.
META = {"minimum": "ge", "maximum": "le", "exclusiveMinimum": "gt", "minLength": "min_length",
        "maxLength": "max_length", "pattern": "pattern", "maxItems": "max_length"}
TYPES = {"string": str, "integer": int, "number": float, "boolean": bool}


def annotated(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return Literal[tuple(schema["enum"])]
    if schema.get("format") == "uuid":
        return uuid.UUID
    if schema.get("format") == "date":
        return datetime.date
    t = list[annotated(schema["items"])] if schema["type"] == "array" else TYPES[schema["type"]]
    meta = {META[k]: v for k, v in schema.items() if k in META}
    return Annotated[t, Meta(**meta)] if meta else t


def model(route: dict[str, Any]) -> type[Struct]:
    return msgspec.defstruct(route["id"].replace("-", "_"), [(p["name"], annotated(p["schema"])) for p in route["params"]])


def invalid(e: Exception) -> Response:
    return Response(content=json.dumps({"detail": str(e)}), status_code=422)


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


def form_schema(route: dict[str, Any], validated: bool) -> dict[str, Any]:
    key = "schema" if validated else "plain_schema"
    return {"type": "object", "properties": {p["name"]: p[key] for p in route["params"]},
            "required": [p["name"] for p in route["params"]]}


src = ["from typing import Any", "from spikard.params import Body, Path, Query", ""]
env: dict[str, Any] = {"SCHEMAS": {}, "MODELS": {}, "Order": Order, "msgspec": msgspec, "invalid": invalid}
n = 0
for route in spec["routes"]:
    for validated in (False, True):
        n += 1
        name = f"h{n}"
        path = ("/v" if validated else "") + route["path"]
        deco = f"@app.{route['method'].lower()}({path!r})"
        kind = route["kind"]
        if kind in ("path", "query"):
            marker = "Path" if kind == "path" else "Query"
            args, names = [], []
            for p in route["params"]:
                schema = p["schema"] if validated else p["plain_schema"]
                env["SCHEMAS"][f"{name}_{p['name']}"] = schema
                args.append(f"{p['name']}: {PY[p['plain_schema']['type']]} = {marker}(schema=SCHEMAS['{name}_{p['name']}'])")
                names.append(p["name"])
            body = "return {" + ", ".join(f"{x!r}: {x}" for x in names) + "}"
            if validated:
                env["MODELS"][name] = model(route)
                body = ("v = {" + ", ".join(f"{x!r}: {x}" for x in names) + "}\n    try:\n"
                        f"        msgspec.convert(v, MODELS['{name}'], strict=False)\n"
                        "    except msgspec.ValidationError as e:\n        return invalid(e)\n    return v")
        elif kind == "echo":
            env["SCHEMAS"][name] = {"type": "object"}
            args = ["body: Order"] if validated else [f"body: dict = Body(schema=SCHEMAS['{name}'])"]
            body = "return body"
        elif kind == "form":
            env["SCHEMAS"][name] = form_schema(route, validated)
            args, body = [f"body: dict = Body(schema=SCHEMAS['{name}'])"], "return body"
            if validated:
                env["MODELS"][name] = model(route)
                body = (f"try:\n        msgspec.convert(body, MODELS['{name}'], strict=False)\n"
                        "    except msgspec.ValidationError as e:\n        return invalid(e)\n    return body")
        else:  # multipart
            env["SCHEMAS"][name] = route["body_schema"] if validated else route["plain_body_schema"]
            args = [f"body: dict = Body(schema=SCHEMAS['{name}'])"]
            body = ("f = body.get('file')\n    if f is None or 'title' not in body:\n        return invalid(ValueError('title and file are required'))\n"
                    "    data = f.read() if hasattr(f, 'read') else f.get('content', b'')\n"
                    "    out = {'title': body['title'], 'filename': getattr(f, 'filename', None) or f['filename'], 'size': len(data)}\n")
            if validated:
                body += ("    ct = getattr(f, 'content_type', None) or f.get('content_type')\n"
                         "    if not (1 <= len(out['title']) <= 100 and out['filename'] and ct == 'text/plain' and 1 <= out['size'] <= 1 << 20):\n"
                         "        return invalid(ValueError('invalid upload'))\n")
            body += "    return out"
        src += [deco, f"async def {name}({', '.join(args)}) -> Any:", f"    {body}", ""]

env["app"] = app
exec(compile("\n".join(src), "spikard017_routes", "exec"), env)

if __name__ == "__main__":
    # 0.17.2's App.run binds :8000 unless SPIKARD_SERVER_PORT says otherwise.
    os.environ["SPIKARD_SERVER_PORT"] = str(port)
    app.run()
