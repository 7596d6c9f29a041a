"""Parameter markers: where a handler parameter comes from, and its constraints.

Use them in ``Annotated`` (``limit: Annotated[int, Query(ge=1, le=100)] = 10``)
or as the default (``limit: int = Query(10, ge=1, le=100)``). Plain typed
parameters need no marker: names in the route path are path parameters,
models (msgspec Structs, Pydantic models, dataclasses, attrs classes,
TypedDicts) are the body, everything else is a query parameter.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Param", "Query", "Header", "Cookie", "Path", "Body", "Form", "NOT_SET"]


class _NotSet:
    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_SET"

    def __bool__(self) -> bool:
        return False


NOT_SET: Any = _NotSet()

# Constraint keyword → JSON Schema keyword.
_KEYWORDS = {
    "gt": "exclusiveMinimum",
    "ge": "minimum",
    "lt": "exclusiveMaximum",
    "le": "maximum",
    "multiple_of": "multipleOf",
    "min_length": "minLength",
    "max_length": "maxLength",
    "pattern": "pattern",
    "min_items": "minItems",
    "max_items": "maxItems",
    "title": "title",
    "description": "description",
    "examples": "examples",
    "deprecated": "deprecated",
    "format": "format",
}


class Param:
    """Base of the markers. ``source`` is the configuration document's group."""

    source: str = ""
    __slots__ = ("default", "alias", "schema_extra", "media_type", "separator")

    def __init__(
        self,
        default: Any = NOT_SET,
        *,
        alias: str | None = None,
        gt: float | None = None,
        ge: float | None = None,
        lt: float | None = None,
        le: float | None = None,
        multiple_of: float | None = None,
        min_length: int | None = None,
        max_length: int | None = None,
        pattern: str | None = None,
        min_items: int | None = None,
        max_items: int | None = None,
        title: str | None = None,
        description: str | None = None,
        examples: list[Any] | None = None,
        deprecated: bool | None = None,
        format: str | None = None,
        separator: str | None = None,
        media_type: str | None = None,
        schema: dict[str, Any] | None = None,
    ) -> None:
        self.default = default
        self.alias = alias
        self.media_type = media_type
        self.separator = separator
        given = {
            "gt": gt, "ge": ge, "lt": lt, "le": le, "multiple_of": multiple_of,
            "min_length": min_length, "max_length": max_length, "pattern": pattern,
            "min_items": min_items, "max_items": max_items, "title": title,
            "description": description, "examples": examples, "deprecated": deprecated,
            "format": format,
        }
        extra = {_KEYWORDS[k]: v for k, v in given.items() if v is not None}
        if schema:
            extra.update(schema)
        self.schema_extra: dict[str, Any] = extra

    def __repr__(self) -> str:
        parts = [] if self.default is NOT_SET else [repr(self.default)]
        if self.alias:
            parts.append(f"alias={self.alias!r}")
        parts += [f"{k}={v!r}" for k, v in self.schema_extra.items()]
        return f"{type(self).__name__}({', '.join(parts)})"


class Query(Param):
    """A query-string parameter (repeat the key or use ``name[]`` for lists)."""

    source = "query"
    __slots__ = ()


class Header(Param):
    """A request header. The name is the parameter's with ``_`` read as ``-``
    (matching is case-insensitive); ``alias`` names it exactly."""

    source = "headers"
    __slots__ = ()


class Cookie(Param):
    """A cookie of the ``Cookie`` header."""

    source = "cookies"
    __slots__ = ()


class Path(Param):
    """A path parameter (the route's ``{name}`` segment)."""

    source = "path"
    __slots__ = ()


class Body(Param):
    """The request body. ``media_type`` restricts the accepted content type
    (``application/json`` by default; forms are decoded by the core)."""

    source = "body"
    __slots__ = ()


class Form(Body):
    """A URL-encoded form body (``application/x-www-form-urlencoded``); the
    core decodes it and coerces the fields by the body's schema."""

    __slots__ = ()

    def __init__(self, default: Any = NOT_SET, **kw: Any) -> None:
        kw.setdefault("media_type", "application/x-www-form-urlencoded")
        super().__init__(default, **kw)
