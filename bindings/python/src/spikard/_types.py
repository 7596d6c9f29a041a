"""Types → JSON Schema and decoders, prepared once per route.

msgspec does Structs, dataclasses, attrs classes, TypedDicts and plain types;
Pydantic models (and containers of them) go through Pydantic's TypeAdapter.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Callable
from typing import Annotated, Any, Union

import msgspec

try:
    import pydantic as _pydantic
except ImportError:  # pragma: no cover
    _pydantic = None  # type: ignore[assignment]

try:
    import attrs as _attrs
except ImportError:  # pragma: no cover
    _attrs = None  # type: ignore[assignment]

NoneType = type(None)


def is_pydantic_model(tp: Any) -> bool:
    return _pydantic is not None and isinstance(tp, type) and issubclass(tp, _pydantic.BaseModel)


def is_model_type(tp: Any) -> bool:
    """A structured type that means "the request body" when used plainly."""
    tp = strip_annotated(tp)[0]
    if not isinstance(tp, type):
        return False
    if issubclass(tp, msgspec.Struct) or is_pydantic_model(tp) or typing.is_typeddict(tp):
        return True
    if dataclasses.is_dataclass(tp):
        return True
    return _attrs is not None and _attrs.has(tp)


def strip_annotated(tp: Any) -> tuple[Any, list[Any]]:
    """(base type, Annotated metadata)."""
    meta: list[Any] = []
    while typing.get_origin(tp) is Annotated:
        args = typing.get_args(tp)
        tp = args[0]
        meta.extend(args[1:])
    if typing.get_origin(tp) in (Union, types.UnionType):
        # Python 3.10 wraps Annotated[T, m] = None as Optional[Annotated[T, m]]
        args = typing.get_args(tp)
        ann = [a for a in args if typing.get_origin(a) is Annotated]
        if len(ann) == 1 and all(a is NoneType or a is ann[0] for a in args):
            inner, inner_meta = strip_annotated(ann[0])
            return typing.Optional[inner], meta + inner_meta
    return tp, meta


def split_optional(tp: Any) -> tuple[Any, bool]:
    """(T, True) for T | None and Optional[T]; (tp, False) otherwise."""
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not NoneType]
        if len(args) < len(typing.get_args(tp)):
            inner = args[0] if len(args) == 1 else Union[tuple(args)]
            return inner, True
    return tp, False


def contains_pydantic(tp: Any) -> bool:
    if _pydantic is None:
        return False
    base, _ = strip_annotated(tp)
    if is_pydantic_model(base):
        return True
    return any(contains_pydantic(a) for a in typing.get_args(base) if not isinstance(a, (str, int)))


def json_schema(tp: Any, mode: str = "validation") -> dict[str, Any]:
    """The JSON Schema (2020-12) of a type."""
    if contains_pydantic(tp):
        schema = dict(_pydantic.TypeAdapter(tp).json_schema(mode=mode))  # type: ignore[arg-type]
    else:
        schema = dict(msgspec.json.schema(tp))
    return _inline_root(schema)


def _inline_root(schema: dict[str, Any]) -> dict[str, Any]:
    """{"$ref": "#/$defs/X", "$defs": {...}} → X itself (with the other $defs),
    so the root's properties are visible where the core reads them (form
    coercion, OpenAPI)."""
    ref = schema.get("$ref")
    defs = schema.get("$defs")
    if len(schema) != 2 or not isinstance(ref, str) or not isinstance(defs, dict) or not ref.startswith("#/$defs/"):
        return schema
    name = ref[len("#/$defs/"):]
    root = defs.get(name)
    if not isinstance(root, dict) or _refers_to(defs, ref):
        return schema  # recursive: keep the reference
    out = dict(root)
    rest = {k: v for k, v in defs.items() if k != name}
    if rest:
        out["$defs"] = rest
    return out


def _refers_to(node: Any, ref: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == ref or any(_refers_to(v, ref) for v in node.values())
    if isinstance(node, list):
        return any(_refers_to(v, ref) for v in node)
    return False


Converter = Callable[[Any], Any]


def raw_converter(tp: Any) -> Converter | None:
    """For types msgspec cannot decode (Pydantic): a function from the JSON
    text (msgspec.Raw) to the value; None when msgspec decodes the type."""
    if not contains_pydantic(tp):
        return None
    base = strip_annotated(tp)[0]
    if is_pydantic_model(base):
        return lambda raw: base.model_validate_json(bytes(raw))
    ta = _pydantic.TypeAdapter(tp)
    return lambda raw: ta.validate_json(bytes(raw))


def to_jsonable(value: Any) -> Any:
    """A default value as plain JSON data (for the schema's "default")."""
    if _pydantic is not None and isinstance(value, _pydantic.BaseModel):
        return value.model_dump(mode="json")
    return msgspec.to_builtins(value)
