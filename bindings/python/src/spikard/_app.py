"""The app: decorators → one configuration document, handlers → prepared route functions.

Everything about a route is worked out once, when the app is compiled: the
parameter and body schemas (from the type hints), a msgspec decoder for the
validated values document, the function that calls the handler with its
arguments, and the encoder of its answers. Per request, the core has already
routed, validated and coerced; the route function decodes the values into the
declared types, calls the handler and encodes what it returned.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
import sys
import types
import typing
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from . import _di, _native
from ._di import BackgroundTasks, Provide
from ._params import NOT_SET, Body, Param
from ._params import Path as PathMarker
from ._params import Query as QueryMarker
from ._request import Request
from ._response import Answer, Continue, HTTPException, Response, make_encoder
from ._stream import StreamingResponse
from ._types import (
    contains_pydantic,
    is_model_type,
    json_schema,
    raw_converter,
    split_optional,
    strip_annotated,
    to_jsonable,
)

__all__ = ["Spikard", "Route", "SpikardError"]

logger = logging.getLogger("spikard")

F = TypeVar("F", bound=Callable[..., Any])
W = TypeVar("W")

SpikardError = _native.SpikardError
SpikardError.code = property(  # type: ignore[attr-defined]
    lambda self: self.args[1] if len(self.args) > 1 else None, doc="The negative spikard_error code."
)

_PATH_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}|:([A-Za-z_][A-Za-z0-9_]*)")

_MIDDLEWARE_KEYS = (
    "request_id", "cors", "rate_limit", "jwt_auth", "api_key_auth", "body_limit",
    "request_timeout", "compression", "static_files",
)


@dataclass
class Route:
    """One registered route (see Spikard.route)."""

    method: str
    path: str
    endpoint: Callable[..., Any]
    status_code: int = 200
    response_model: Any = NOT_SET
    operation_id: str | None = None
    summary: str | None = None
    description: str | None = None
    tags: list[str] | None = None
    middleware: dict[str, Any] | None = None
    content_type: str | None = None
    max_body_size: int | None = None
    response_headers: Mapping[str, str] | None = None
    dependencies: dict[str, Any] | None = None
    hooks: dict[str, list[Callable[..., Any]]] | None = None
    sse: dict[str, Any] | None = None
    websocket: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None
    name: str = ""


@dataclass
class _Spec:
    name: str  # the Python parameter name
    source: str  # path, query, headers, cookies, body, request
    declared: str = ""
    tp: Any = None
    default: Any = NOT_SET
    schema: dict[str, Any] = field(default_factory=dict)
    separator: str | None = None
    media_type: str | None = None
    convert: Callable[[Any], Any] | None = None
    positional: bool = True


@dataclass
class Compiled:
    """What a server needs: the document and, by tag, the route functions."""

    document: dict[str, Any]
    names: list[str]
    table: tuple[Callable[[Any], Any], ...]
    has_async: bool


def _fail(req: Any, exc: BaseException, name: str) -> str:
    try:
        rid = req.request_id
    except RuntimeError:
        rid = "?"
    logger.error("handler %s raised (request id %s)", name, rid, exc_info=exc)
    return f"{name}: {type(exc).__name__}: {exc}"


class Spikard:
    """A Spikard application.

    >>> app = Spikard()
    >>> @app.get("/users/{user_id:int}")
    ... def get_user(user_id: int, verbose: bool = False) -> dict:
    ...     return {"id": user_id, "verbose": verbose}

    Keyword options map onto the configuration document: ``middleware`` (or
    the keys ``cors``, ``compression``, ``request_id``, ``rate_limit``,
    ``jwt_auth``, ``api_key_auth``, ``body_limit``, ``request_timeout``,
    ``static_files``), ``openapi`` (True or the options object), and the
    server options (``max_body_bytes``, ``trailing_slash``,
    ``validate_responses``, ``handler_timeout_ms``, ...; ``server`` passes any
    others through).
    """

    def __init__(
        self,
        *,
        title: str | None = None,
        version: str | None = None,
        description: str | None = None,
        openapi: bool | Mapping[str, Any] = False,
        host: str = "127.0.0.1",
        port: int = 8000,
        middleware: Mapping[str, Any] | None = None,
        cors: Any = None,
        compression: Any = None,
        request_id: Any = None,
        rate_limit: Any = None,
        jwt_auth: Any = None,
        api_key_auth: Any = None,
        body_limit: Any = None,
        request_timeout: Any = None,
        static_files: Any = None,
        max_body_bytes: int | None = None,
        max_json_depth: int | None = None,
        trailing_slash: str | None = None,
        validate_responses: bool | None = None,
        handler_timeout_ms: int | None = None,
        shutdown_timeout_ms: int | None = None,
        server: Mapping[str, Any] | None = None,
        on_startup: Sequence[Callable[[], Any]] = (),
        on_shutdown: Sequence[Callable[[], Any]] = (),
        dependencies: Mapping[str, Any] | None = None,
    ) -> None:
        self.routes: list[Route] = []
        self._deps: dict[str, Any] = dict(dependencies or {})
        self._hooks: dict[str, list[Callable[..., Any]]] = {p: [] for p in _di.HOOK_PHASES}
        self.host = host
        self.port = port
        self._middleware: dict[str, Any] = dict(middleware or {})
        given = {
            "cors": cors, "compression": compression, "request_id": request_id,
            "rate_limit": rate_limit, "jwt_auth": jwt_auth, "api_key_auth": api_key_auth,
            "body_limit": body_limit, "request_timeout": request_timeout, "static_files": static_files,
        }
        for k, v in given.items():
            if v is not None:
                self.middleware(k, v)
        srv: dict[str, Any] = {}
        for k, v in {
            "max_body_bytes": max_body_bytes, "max_json_depth": max_json_depth,
            "trailing_slash": trailing_slash, "validate_responses": validate_responses,
            "handler_timeout_ms": handler_timeout_ms, "shutdown_timeout_ms": shutdown_timeout_ms,
        }.items():
            if v is not None:
                srv[k] = v
        srv.update(server or {})
        self._server = srv
        self._openapi: dict[str, Any] | None = None
        if openapi:
            self._openapi = {} if isinstance(openapi, bool) else dict(openapi)
            for k, v in {"title": title, "version": version, "description": description}.items():
                if v is not None:
                    self._openapi.setdefault(k, v)
        self.on_startup: list[Callable[[], Any]] = list(on_startup)
        self.on_shutdown: list[Callable[[], Any]] = list(on_shutdown)
        self._document: dict[str, Any] | None = None
        self._named: dict[str, Callable[..., Any]] = {}

    # ------------------------------------------------------------------ config

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Spikard:
        """An app described by a configuration document as it is (version 1,
        see core/config); bind its handler names with ``handler``. The
        handlers receive the Request."""
        app = cls()
        app._document = dict(document)
        return app

    def handler(self, name: str) -> Callable[[F], F]:
        """Binds a handler name of a ``from_document`` app: the function gets
        the Request and returns what a route handler returns."""

        def deco(fn: F) -> F:
            self._named[name] = fn
            return fn

        return deco

    def middleware(self, name: str, config: Any = True) -> None:
        """Turns on one of the core's middleware app-wide (``cors``,
        ``compression``, ``request_id``, ``rate_limit``, ``jwt_auth``,
        ``api_key_auth``, ``body_limit``, ``request_timeout``,
        ``static_files``) with its configuration object."""
        if name not in _MIDDLEWARE_KEYS and name != "lifecycle_hooks":
            raise ValueError(f"unknown middleware {name!r}: one of {', '.join(_MIDDLEWARE_KEYS)}")
        if config is True:
            config = {}
        self._middleware[name] = config

    def dependency(self, key: str, dep: Any) -> None:
        """Declares an app-wide dependency: a ``Provide(factory)`` or a plain
        value. Handler, hook and factory parameters named ``key`` receive it."""
        self._deps[key] = dep

    def hook(self, phase: str, fn: F) -> F:
        """Adds an app-wide lifecycle hook (``on_request``, ``pre_validation``,
        ``pre_handler``, ``on_response``, ``on_error``). The hook takes the
        Request and/or dependencies by name; it returns None or
        ``Continue(...)`` to let the request go on, or an answer."""
        if phase not in self._hooks:
            raise ValueError(f"unknown hook phase {phase!r}: one of {', '.join(_di.HOOK_PHASES)}")
        self._hooks[phase].append(fn)
        return fn

    def on_request(self, fn: F) -> F:
        """``@app.on_request``: first, before anything is read or validated."""
        return self.hook("on_request", fn)

    def pre_validation(self, fn: F) -> F:
        """``@app.pre_validation``: may change request headers before validation."""
        return self.hook("pre_validation", fn)

    def pre_handler(self, fn: F) -> F:
        """``@app.pre_handler``: after validation, before the handler (auth)."""
        return self.hook("pre_handler", fn)

    def on_response(self, fn: F) -> F:
        """``@app.on_response``: the answer is final; may change status and headers."""
        return self.hook("on_response", fn)

    def on_error(self, fn: F) -> F:
        """``@app.on_error``: host code failed; may replace the 500 problem."""
        return self.hook("on_error", fn)

    # ------------------------------------------------------------------ routes

    def route(
        self,
        path: str,
        methods: Iterable[str] = ("GET",),
        *,
        status_code: int | None = None,
        response_model: Any = NOT_SET,
        operation_id: str | None = None,
        summary: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        middleware: Mapping[str, Any] | None = None,
        content_type: str | None = None,
        max_body_size: int | None = None,
        response_headers: Mapping[str, str] | None = None,
        dependencies: Mapping[str, Any] | None = None,
        hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sse: bool | Mapping[str, Any] | None = None,
    ) -> Callable[[F], F]:
        """Registers the decorated function for ``methods`` on ``path``
        (``/users/{id}``, ``/users/{id:int}``, ``{rest:path}``). ``sse``
        makes it an event-stream route (see ``Spikard.sse``)."""

        def deco(fn: F) -> F:
            for m in methods:
                self.add_route(
                    m, path, fn, status_code=status_code, response_model=response_model,
                    operation_id=operation_id, summary=summary, description=description, tags=tags,
                    middleware=middleware, content_type=content_type, max_body_size=max_body_size,
                    response_headers=response_headers, dependencies=dependencies, hooks=hooks, sse=sse,
                )
            return fn

        return deco

    def add_route(
        self,
        method: str,
        path: str,
        endpoint: Callable[..., Any],
        *,
        status_code: int | None = None,
        response_model: Any = NOT_SET,
        operation_id: str | None = None,
        summary: str | None = None,
        description: str | None = None,
        tags: list[str] | None = None,
        middleware: Mapping[str, Any] | None = None,
        content_type: str | None = None,
        max_body_size: int | None = None,
        response_headers: Mapping[str, str] | None = None,
        dependencies: Mapping[str, Any] | None = None,
        hooks: Mapping[str, list[Callable[..., Any]]] | None = None,
        sse: bool | Mapping[str, Any] | None = None,
    ) -> Route:
        if not path.startswith("/"):
            raise ValueError(f"a route path starts with '/': {path!r}")
        method = method.upper()
        r = Route(
            method=method, path=path, endpoint=endpoint,
            status_code=200 if status_code is None else status_code,
            response_model=response_model, operation_id=operation_id, summary=summary,
            description=description, tags=tags, middleware=dict(middleware) if middleware else None,
            content_type=content_type, max_body_size=max_body_size, response_headers=response_headers,
            dependencies=dict(dependencies) if dependencies else None,
            hooks={k: list(v) for k, v in hooks.items()} if hooks else None,
            sse=_sse_member(sse),
        )
        r.name = f"r{len(self.routes)}_{getattr(endpoint, '__name__', 'handler')}"
        self.routes.append(r)
        return r

    def get(self, path: str, **kw: Any) -> Callable[[F], F]:
        """``@app.get(path)``: see ``route`` for the options."""
        return self.route(path, ("GET",), **kw)

    def post(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("POST",), **kw)

    def put(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("PUT",), **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("PATCH",), **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("DELETE",), **kw)

    def head(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("HEAD",), **kw)

    def options(self, path: str, **kw: Any) -> Callable[[F], F]:
        return self.route(path, ("OPTIONS",), **kw)

    def sse(
        self,
        path: str,
        *,
        event_schema: Any = None,
        keep_alive_ms: int | None = None,
        retry_ms: int | None = None,
        **kw: Any,
    ) -> Callable[[F], F]:
        """``@app.sse(path)``: a GET route answering a Server-Sent Events
        stream. The handler returns (or is) a sync or async generator of
        ``ServerSentEvent``s or data (str as it is, anything else as JSON),
        or an ``EventSourceResponse``. ``event_schema`` (a type or a JSON
        Schema) is checked by the core on every event's data: a rejected
        event raises ``EventSchemaError`` at its ``yield``. ``keep_alive_ms``
        (default 15000; negative: none) is how often the core writes a
        keep-alive comment while the stream is idle; ``retry_ms`` the
        reconnection delay announced to clients. Other options as ``route``."""
        member: dict[str, Any] = {}
        if event_schema is not None:
            member["event_schema"] = event_schema
        if keep_alive_ms is not None:
            member["keep_alive_ms"] = keep_alive_ms
        if retry_ms is not None:
            member["retry_ms"] = retry_ms
        return self.route(path, ("GET",), sse=member, **kw)

    def websocket(
        self,
        path: str,
        *,
        subprotocols: Sequence[str] | None = None,
        message_schema: Any = None,
        max_message_bytes: int | None = None,
        ping_interval_ms: int | None = None,
        allowed_origins: Sequence[str] | None = None,
        on_invalid: str | None = None,
        parameters: Mapping[str, Any] | None = None,
        middleware: Mapping[str, Any] | None = None,
    ) -> Callable[[W], W]:
        """``@app.websocket(path)``: a WebSocket endpoint. Decorates a class
        (one instance per connection) with any of ``on_connect(ws)``,
        ``on_message(ws, message)`` (a str for text, bytes for binary, or
        the type its annotation names, decoded from JSON; a returned value
        is sent back) and ``on_close(ws, code, reason)``, sync or async; or
        an ``on_message`` function. The core does the
        protocol: ``subprotocols`` (server preference order),
        ``message_schema`` (a type or a JSON Schema every text message must
        match; by default the schema of ``on_message``'s message type; a failure is answered with a validation problem message, or
        closes with 1007 when ``on_invalid="close"``), ``max_message_bytes``
        (1009 above it), ``ping_interval_ms``, ``allowed_origins`` (403 for
        others). Typed path segments (``{id:int}``) and ``parameters``
        (``{"query": {"token": {"type": "string"}}}``, the document's form)
        are validated before the upgrade; ``ws.path_params`` and
        ``ws.query_params`` hold their values."""
        options = {
            "subprotocols": None if subprotocols is None else list(subprotocols),
            "message_schema": message_schema if message_schema is None or isinstance(message_schema, Mapping)
            else json_schema(message_schema),
            "max_message_bytes": max_message_bytes, "ping_interval_ms": ping_interval_ms,
            "allowed_origins": None if allowed_origins is None else list(allowed_origins), "on_invalid": on_invalid,
        }
        member = {k: v for k, v in options.items() if v is not None}

        def deco(target: W) -> W:
            from ._websocket import message_type

            tp = message_type(target)
            if tp is not None and "message_schema" not in member:
                member["message_schema"] = json_schema(tp)
            r = Route(method="GET", path=path, endpoint=typing.cast(Any, target), websocket=member,
                      parameters=dict(parameters) if parameters else None,
                      middleware=dict(middleware) if middleware else None)
            r.name = f"r{len(self.routes)}_ws_{getattr(target, '__name__', 'handler')}"
            self.routes.append(r)
            return target

        return deco

    # ------------------------------------------------------------------ compile

    def compile(self) -> Compiled:
        """The configuration document and the prepared route functions."""
        if self._document is not None:
            return self._compile_document()
        doc: dict[str, Any] = {"version": 1, "server": dict(self._server), "routes": []}
        middleware = dict(self._middleware)
        if self._openapi is not None:
            doc["openapi"] = self._openapi
        names: list[str] = []
        table: list[Callable[[Any], Any]] = []
        has_async = False

        def bind(name: str, fn: Callable[[Any], Any], is_async: bool) -> None:
            nonlocal has_async
            names.append(name)
            table.append(fn)
            has_async = has_async or is_async

        app_keys = set(self._deps)
        if self._deps:
            doc["dependencies"] = _declare_deps(self._deps, app_keys, "dep", bind)
        hooks = _declare_hooks(self._hooks, app_keys, "hook", bind)
        if hooks:
            middleware["lifecycle_hooks"] = hooks
        if middleware:
            doc["middleware"] = middleware
        for r in self.routes:
            if r.websocket is not None:
                entry, fn, is_async = _compile_websocket(r)
                doc["routes"].append(entry)
                bind(r.name, fn, is_async)
                continue
            keys = app_keys | set(r.dependencies or {})
            entry, fn, is_async = _compile_route(r, keys)
            if r.dependencies:
                entry["dependencies"] = _declare_deps(r.dependencies, keys, f"dep:{r.name}", bind)
            if r.hooks:
                rh = _declare_hooks(r.hooks, keys, f"hook:{r.name}", bind)
                entry.setdefault("middleware", {})["lifecycle_hooks"] = rh
            doc["routes"].append(entry)
            bind(r.name, fn, is_async)
        task_fn, _ = _di.task_function(_fail)
        bind(_di.TASK_HANDLER, task_fn, False)
        return Compiled(doc, names, tuple(table), has_async)

    def _compile_document(self) -> Compiled:
        doc = dict(self._document or {})
        used: list[str] = []
        for r in doc.get("routes", []):
            h = r.get("handler")
            if h and h not in used:
                used.append(h)
        for name in used:
            if name not in self._named:
                raise ValueError(f"handler {name!r} of the document is not bound (use @app.handler({name!r}))")
        names, table, has_async = [], [], False
        websockets = {r.get("handler") for r in doc.get("routes", []) if r.get("websocket") is not None}
        sse = {r.get("handler") for r in doc.get("routes", []) if r.get("sse") is not None}
        # every bound name: routes', hooks' and factories' (the core checks
        # that the document's are all there), and task handlers
        for name, fn in self._named.items():
            if name in websockets:
                from ._websocket import websocket_function

                route_fn, is_async = websocket_function(name, fn, _fail)
            else:
                route_fn, is_async = _wrap_named(name, fn, sse=name in sse)
            names.append(name)
            table.append(route_fn)
            has_async = has_async or is_async
        return Compiled(doc, names, tuple(table), has_async)

    def document(self) -> dict[str, Any]:
        """The configuration document this app sends to libspikard."""
        return self.compile().document

    # ------------------------------------------------------------------ serving

    def run(
        self,
        host: str | None = None,
        port: int | None = None,
        *,
        workers: int = 1,
        grace_ms: int = 10000,
        loop: str = "auto",
    ) -> None:
        """Serves until SIGINT/SIGTERM, then shuts down gracefully (in-flight
        requests get ``grace_ms``). Sync-only apps run the native drain loop
        on this thread; apps with ``async def`` handlers run one asyncio loop
        (uvloop when installed), which also runs the sync handlers."""
        from ._server import run

        run(self, self.host if host is None else host, self.port if port is None else port,
            workers=workers, grace_ms=grace_ms, loop=loop)


# ---------------------------------------------------------------------- routes


def _declare_deps(
    deps: Mapping[str, Any], keys: set[str], prefix: str, bind: Callable[[str, Callable[[Any], Any], bool], None]
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, dep in deps.items():
        name = f"{prefix}:{key}"
        needs = None
        if isinstance(dep, Provide):
            needs = _di.needs_of(dep.fn, keys - {key}, f"dependency {key!r}")
            fn, is_async = _di.factory_function(key, name, dep, needs, _fail)
            bind(name, fn, is_async)
        out[key] = _di.declare(key, dep, name, needs)
    return out


def _declare_hooks(
    hooks: Mapping[str, list[Callable[..., Any]]], keys: set[str], prefix: str,
    bind: Callable[[str, Callable[[Any], Any], bool], None],
) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for phase, fns in hooks.items():
        if phase not in _di.HOOK_PHASES:
            raise ValueError(f"unknown hook phase {phase!r}: one of {', '.join(_di.HOOK_PHASES)}")
        for i, f in enumerate(fns):
            label = getattr(f, "__name__", "hook")
            name = f"{prefix}:{phase}:{i}:{label}"
            needs = _di.needs_of(f, keys, f"{phase} hook")
            fn, is_async = _di.hook_function(name, f, needs, _fail)
            bind(name, fn, is_async)
            decl: dict[str, Any] = {"name": label, "handler": name}
            if needs.deps:
                decl["dependencies"] = needs.deps
            out.setdefault(phase, []).append(decl)
    return out


def _annotated(tp: Any, meta: list[Any]) -> Any:
    """Annotated[tp, *meta] (the subscript form needs Python 3.11)."""
    if not meta:
        return tp
    params = (tp, *meta)
    return typing.Annotated[params]


def _path_names(path: str) -> list[str]:
    return [a or b for a, b in _PATH_PARAM.findall(path)]


def _param_specs(route: Route, dep_keys: AbstractSet[str] = frozenset()) -> list[_Spec]:
    fn = route.endpoint
    sig = inspect.signature(fn)
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as e:  # pragma: no cover - a forward reference that does not resolve
        raise TypeError(f"{route.name}: cannot resolve the type hints of {fn!r}: {e}") from e
    path_names = set(_path_names(route.path))
    specs: list[_Spec] = []
    positional = True
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        if p.kind is p.KEYWORD_ONLY:
            positional = False
        tp = hints.get(p.name, str if p.name in path_names else Any)
        base, meta = strip_annotated(tp)
        if (isinstance(base, type) and issubclass(base, _native.Request)) or (p.name == "request" and p.name not in hints):
            specs.append(_Spec(p.name, "request", positional=positional))
            continue
        if base is BackgroundTasks:
            specs.append(_Spec(p.name, "tasks", positional=positional))
            continue
        marker: Param | None = next((m for m in meta if isinstance(m, Param)), None)
        default = p.default if p.default is not inspect.Parameter.empty else NOT_SET
        if isinstance(default, Param):
            marker, default = default, default.default
        elif marker is not None and marker.default is not NOT_SET and default is NOT_SET:
            default = marker.default
        if marker is None and p.name in dep_keys:
            specs.append(_Spec(p.name, "dep", tp=tp, positional=positional, convert=_di.resolver(tp)))
            continue
        if marker is None:
            if p.name in path_names:
                marker = PathMarker()
            elif is_model_type(base) or base in (dict,) or typing.get_origin(base) is dict:
                marker = Body()
            elif p.name in ("body", "data") and base is not Any:
                marker = Body()
            else:
                marker = QueryMarker()
        source = marker.source
        # the type without the marker (msgspec Meta and others stay)
        other = [m for m in meta if not isinstance(m, Param)]
        dec_tp = _annotated(base, other)
        inner, optional = split_optional(base)
        if optional and default is NOT_SET:
            default = None
        spec = _Spec(p.name, source, positional=positional, separator=marker.separator,
                     media_type=marker.media_type)
        spec.default = default
        if source == "body":
            spec.tp = dec_tp
            spec.schema = json_schema(dec_tp) if base is not Any else {}
            spec.schema.update(marker.schema_extra)
            spec.convert = raw_converter(dec_tp)
            specs.append(spec)
            continue
        if source == "headers":
            spec.declared = marker.alias or p.name.replace("_", "-")
        else:
            spec.declared = marker.alias or p.name
        if source == "path" and spec.declared not in path_names:
            raise TypeError(f"{route.name}: path parameter {spec.declared!r} is not in the route path {route.path!r}")
        sch_tp = _annotated(inner, other)
        schema = json_schema(sch_tp) if inner is not Any else {}
        schema.update(marker.schema_extra)
        if default is not NOT_SET and default is not None:
            schema["default"] = to_jsonable(default)
        spec.schema = schema
        spec.tp = dec_tp if inner is not Any else Any
        specs.append(spec)
    if sum(s.source == "body" for s in specs) > 1:
        raise TypeError(f"{route.name}: only one parameter can be the request body")
    return specs


def _response_schema(route: Route) -> dict[str, Any] | None:
    tp = route.response_model
    if tp is NOT_SET:
        try:
            tp = typing.get_type_hints(route.endpoint, include_extras=True).get("return", NOT_SET)
        except Exception:
            return None
        if tp is NOT_SET:
            return None
        if inspect.iscoroutinefunction(route.endpoint) and typing.get_origin(tp) in (Awaitable,):
            tp = typing.get_args(tp)[0]
    if tp is None or tp is NOT_SET or tp is Any or tp is type(None):
        return None
    base = strip_annotated(tp)[0]
    union = typing.get_origin(base) in (typing.Union, types.UnionType)
    for t in typing.get_args(base) if union else (base,):
        if t in (str, bytes, bytearray, object, Any) or (isinstance(t, type) and issubclass(t, (Response, Continue, StreamingResponse))):
            return None  # not JSON, or an answer of its own
        origin = typing.get_origin(t) or t
        if isinstance(origin, type) and issubclass(origin, (Iterator, AsyncIterable)):
            return None  # a stream
    try:
        return json_schema(tp, mode="serialization")
    except Exception:
        return None


def _compile_route(route: Route, dep_keys: set[str]) -> tuple[dict[str, Any], Callable[[Any], Any], bool]:
    specs = _param_specs(route, dep_keys)
    entry: dict[str, Any] = {"method": route.method, "path": route.path, "handler": route.name}
    groups: dict[str, dict[str, Any]] = {}
    for s in specs:
        if s.source in ("path", "query", "headers", "cookies"):
            decl = dict(s.schema)
            if s.default is not NOT_SET and s.source != "path":
                decl["optional"] = True
            if s.separator:
                decl["separator"] = s.separator
            groups.setdefault(s.source, {})[s.declared] = decl
        elif s.source == "body":
            if s.schema:
                entry["body_schema"] = s.schema
            if s.media_type:
                entry["content_type"] = s.media_type
    if groups:
        entry["parameters"] = groups
    deps = [s.name for s in specs if s.source == "dep"]
    if deps:
        entry["handler_dependencies"] = deps
    resp = _response_schema(route)
    if resp is not None:
        entry["response_schema"] = resp
    for k in ("operation_id", "summary", "tags", "middleware", "content_type", "max_body_size"):
        v = getattr(route, k)
        if v is not None:
            entry["max_body_size" if k == "max_body_size" else k] = v
    desc = route.description or inspect.getdoc(route.endpoint)
    if desc:
        entry["description"] = desc
    if route.sse is not None:
        entry["sse"] = route.sse
    encoder = make_encoder(route.status_code, (route.response_headers or {}).items(), sse=route.sse is not None)
    fn, is_async = _route_function(route.name, route.endpoint, specs, encoder)
    return entry, fn, is_async


def _compile_websocket(route: Route) -> tuple[dict[str, Any], Callable[[Any], Any], bool]:
    from ._websocket import websocket_function

    entry: dict[str, Any] = {"method": "GET", "path": route.path, "handler": route.name, "websocket": route.websocket}
    if route.parameters:
        entry["parameters"] = route.parameters
    if route.middleware:
        entry["middleware"] = route.middleware
    fn, is_async = websocket_function(route.name, route.endpoint, _fail)
    return entry, fn, is_async


def _sse_member(sse: bool | Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The route's "sse" member: options, and the event schema as JSON Schema."""
    if sse is None or sse is False:
        return None
    member = {} if sse is True else dict(sse)
    schema = member.get("event_schema")
    if schema is not None and not isinstance(schema, Mapping):
        member["event_schema"] = json_schema(schema)
    return member


def _values_decoder(name: str, specs: list[_Spec]) -> msgspec.json.Decoder[Any] | None:
    fields: list[Any] = []
    for source in ("path", "query", "headers", "cookies"):
        group = [s for s in specs if s.source == source]
        if not group:
            continue
        gfields: list[Any] = []
        rename = {}
        for s in group:
            f: tuple[Any, ...] = (s.name, s.tp) if s.default is NOT_SET else (s.name, s.tp, s.default)
            gfields.append(f)
            if s.declared != s.name:
                rename[s.name] = s.declared
        # required fields first (msgspec's rule for positional structs)
        gfields.sort(key=lambda f: len(f) == 3)
        st = msgspec.defstruct(f"{name}_{source}", gfields, rename=rename or None, kw_only=True)
        fields.append((source, st))
    if any(s.source == "dep" for s in specs):
        fields.append(("dependencies", dict[str, Any], {}))
    body = next((s for s in specs if s.source == "body"), None)
    if body is not None:
        tp = msgspec.Raw if body.convert is not None else body.tp
        if body.default is NOT_SET:
            fields.append(("body", tp))
        else:
            fields.append(("body", typing.Optional[tp], body.default))
    if not fields:
        return None
    fields.sort(key=lambda f: len(f) == 3)
    values = msgspec.defstruct(f"{name}_values", fields, kw_only=True)
    return msgspec.json.Decoder(values)


def _route_function(
    name: str, handler: Callable[..., Any], specs: list[_Spec], encoder: Callable[[Any], Answer]
) -> tuple[Callable[[Any], Any], bool]:
    """Generates the route function (source text compiled once)."""
    is_async = inspect.iscoroutinefunction(handler)
    decoder = _values_decoder(name, specs)
    ns: dict[str, Any] = {
        "_h": handler, "_enc": encoder, "_fail": _fail, "_name": name,
        "_HTTPException": HTTPException, "_spawn": _spawn,
    }
    args = []
    for i, s in enumerate(specs):
        if s.source == "request":
            expr = "req"
        elif s.source == "tasks":
            ns["_BT"] = BackgroundTasks
            expr = "_BT(req)"
        elif s.source == "dep":
            ns[f"_r{i}"] = s.convert
            expr = f"_r{i}(_v.dependencies[{s.name!r}])"
        elif s.source == "body":
            expr = "_v.body"
            if s.convert is not None:
                ns[f"_c{i}"] = s.convert
                expr = f"_c{i}(_v.body)" if s.default is NOT_SET else f"(None if _v.body is None else _c{i}(_v.body))"
        else:
            expr = f"_v.{s.source}.{s.name}"
        args.append(expr if s.positional else f"{s.name}={expr}")
    call = f"_h({', '.join(args)})"
    lines = ["def route(req):", "    try:"]
    if decoder is not None:
        ns["_dec"] = decoder.decode
        lines.append("        _v = _dec(req.values)")
    if is_async:
        lines += [
            f"        _co = {call}",
            "    except _HTTPException as _e:",
            "        return _e.answer()",
            "    except Exception as _e:",
            "        return _fail(req, _e, _name)",
            "    return _spawn(_co, req, _enc, _name)",
        ]
    else:
        lines += [
            f"        return _enc({call})",
            "    except _HTTPException as _e:",
            "        return _e.answer()",
            "    except Exception as _e:",
            "        return _fail(req, _e, _name)",
        ]
    exec(compile("\n".join(lines), f"<spikard route {name}>", "exec"), ns)
    route = ns["route"]
    route.__qualname__ = route.__name__ = f"route_{name}"
    # an async generator handler is called like a sync one (it returns the
    # generator, a stream), but its body wants an asyncio loop
    return route, is_async or inspect.isasyncgenfunction(handler)


def _wrap_named(name: str, handler: Callable[..., Any], *, sse: bool = False) -> tuple[Callable[[Any], Any], bool]:
    """A handler of a from_document app: called with the Request."""
    return _route_function(name, handler, [_Spec("request", "request")], make_encoder(200, sse=sse))


# ---------------------------------------------------------------------- async

# Running async handlers: task → its request (released if its app is freed first).
_pending: dict[Any, Any] = {}


def _spawn(coro: Any, req: Any, enc: Callable[[Any], Answer], name: str) -> None:
    """Runs an async handler's coroutine on the serving loop; it answers when done."""
    task = _create_task(_finish(coro, req, enc, name))
    if not task.done():
        _pending[task] = req
        task.add_done_callback(_forget)
    return None


def _forget(task: Any) -> None:
    _pending.pop(task, None)


async def _finish(coro: Any, req: Any, enc: Callable[[Any], Answer], name: str) -> None:
    try:
        out = enc(await coro)
    except HTTPException as e:
        out = e.answer()
    except Exception as e:
        req.respond_error(_fail(req, e, name))
        return
    try:
        if callable(out):  # a stream: it takes the request over
            failed = out(req)
            if failed is not None:
                req.respond_error(failed)
        elif len(out) == 1:
            req.continue_(out[0])
        else:
            req.respond(*out)
    except Exception as e:  # a malformed answer: the request is still open
        req.respond_error(_fail(req, e, name))


def _create_task_default(coro: Any) -> Any:
    return asyncio.get_running_loop().create_task(coro)


def _eager(coro: Any) -> Any:
    # Python 3.12+: run the coroutine's first step now, inside its task (a
    # handler that never suspends answers in this very call).
    return asyncio.Task(coro, loop=asyncio.get_running_loop(), eager_start=True)  # type: ignore[call-arg]


_create_task: Callable[[Any], Any] = _eager if sys.version_info >= (3, 12) else _create_task_default
