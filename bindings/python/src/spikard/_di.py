"""Dependencies, lifecycle hooks and background tasks, on the core's own.

The core resolves dependencies (order, singletons, per-request caching,
cleanup after the response), runs hooks at their phases and runs background
work after the response; this module only declares them in the document and
provides the named handlers it calls back:

- a factory's value crosses as JSON when it is plain data (dicts, lists,
  scalars, Structs, dataclasses, attrs, Pydantic models; converted back to the
  parameter's declared type), otherwise as a reference to the Python object
  kept here (released by the core's cleanup call, or kept for singletons);
- generator factories (``yield`` the value) are cleaned up after the response;
- a hook returns None or ``Continue(...)`` to let the request go on, anything
  else answers (short-circuit, or replaces the response in on_response and
  on_error);
- ``BackgroundTasks.add_task`` queues a Python call that the core runs after
  the response (spikard_background).
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import threading
import typing
from collections.abc import Callable
from typing import Any

import msgspec

from ._response import CONTINUE, Answer, header_block, make_encoder, to_json
from ._types import contains_pydantic, is_model_type, strip_annotated

__all__ = ["Provide", "BackgroundTasks", "HOOK_PHASES", "TASK_HANDLER"]

HOOK_PHASES = ("on_request", "pre_validation", "pre_handler", "on_response", "on_error")
TASK_HANDLER = "__spikard_task__"
REF = "$spikard_ref"


class Provide:
    """A dependency produced by a function, called with the dependencies its
    parameters name. ``singleton``: once per app; ``cacheable``: once per
    request (default); neither: for every use. A generator function
    (``yield value``) is resumed after the response to clean up."""

    __slots__ = ("fn", "singleton", "cacheable")

    def __init__(self, fn: Callable[..., Any], *, singleton: bool = False, cacheable: bool = True) -> None:
        self.fn = fn
        self.singleton = singleton
        self.cacheable = cacheable and not singleton

    def __repr__(self) -> str:
        return f"Provide({getattr(self.fn, '__name__', self.fn)!r}, singleton={self.singleton})"


# ------------------------------------------------------------------ references

_lock = threading.Lock()
_ids = itertools.count(1)
_refs: dict[int, Any] = {}
_gens: dict[int, Any] = {}
_tasks: dict[int, tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = {}

_PLAIN = (dict, list, str, int, float, bool, type(None))


def _wire(value: Any, gen: Any = None) -> bytes:
    """The JSON a factory answers: the value itself, or a reference."""
    if gen is None and (type(value) in _PLAIN or is_model_type(type(value))):
        return to_json(value)
    with _lock:
        n = next(_ids)
        _refs[n] = value
        if gen is not None:
            _gens[n] = gen
    return to_json({REF: n})


def _ref_id(value: Any) -> int | None:
    if type(value) is dict and len(value) == 1 and REF in value:
        return int(value[REF])
    return None


def resolver(tp: Any) -> Callable[[Any], Any]:
    """Turns a dependency's JSON value into the declared type."""
    base = strip_annotated(tp)[0]
    convert: Callable[[Any], Any]
    if base is Any or base is object or tp is inspect.Parameter.empty:
        convert = _identity
    elif contains_pydantic(tp):
        import pydantic

        convert = pydantic.TypeAdapter(tp).validate_python
    else:
        try:
            msgspec.json.schema(tp)
        except Exception:
            convert = _identity  # not a msgspec type (a client, a pool): a reference
        else:

            def convert(v: Any) -> Any:
                return msgspec.convert(v, tp)

    def resolve(value: Any) -> Any:
        n = _ref_id(value)
        if n is not None:
            return _refs[n]
        return convert(value)

    return resolve


def _identity(v: Any) -> Any:
    return v


# ------------------------------------------------------------------ callables


class Needs(typing.NamedTuple):
    """What a hook or factory function takes: (name, kind, resolver) per
    parameter, kind "request", "dep" or "tasks"."""

    params: list[tuple[str, str, Callable[[Any], Any] | None]]

    @property
    def deps(self) -> list[str]:
        return [n for n, k, _ in self.params if k == "dep"]


def needs_of(fn: Callable[..., Any], dep_keys: set[str], what: str) -> Needs:
    from ._request import Request

    hints = typing.get_type_hints(fn, include_extras=True)
    out: list[tuple[str, str, Callable[[Any], Any] | None]] = []
    for p in inspect.signature(fn).parameters.values():
        tp = hints.get(p.name, Any)
        base = strip_annotated(tp)[0]
        if (isinstance(base, type) and issubclass(base, Request)) or (p.name == "request" and p.name not in hints):
            out.append((p.name, "request", None))
        elif base is BackgroundTasks:
            out.append((p.name, "tasks", None))
        elif p.name in dep_keys:
            out.append((p.name, "dep", resolver(tp)))
        elif p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise TypeError(
                f"{what} {getattr(fn, '__qualname__', fn)}: parameter {p.name!r} is neither the Request "
                f"nor a dependency ({', '.join(sorted(dep_keys)) or 'none declared'})"
            )
    return Needs(out)


def _arguments(needs: Needs, req: Any) -> dict[str, Any]:
    deps = req.dependencies if needs.deps else {}
    kw: dict[str, Any] = {}
    for name, kind, res in needs.params:
        if kind == "request":
            kw[name] = req
        elif kind == "tasks":
            kw[name] = BackgroundTasks(req)
        else:
            assert res is not None
            kw[name] = res(deps[name])
    return kw


def hook_function(name: str, fn: Callable[..., Any], needs: Needs, fail: Callable[..., str]) -> tuple[Any, bool]:
    """The named handler of a lifecycle hook."""
    from ._app import _spawn

    enc = make_encoder(200)

    def encode(result: Any) -> Answer:
        if result is None:
            return CONTINUE
        return enc(result)

    is_async = inspect.iscoroutinefunction(fn)
    from ._response import HTTPException

    def hook(req: Any) -> Any:
        try:
            r = fn(**_arguments(needs, req))
            if is_async:
                return _spawn(r, req, encode, name)
            return encode(r)
        except HTTPException as e:
            return e.answer()
        except Exception as e:
            return fail(req, e, name)

    return hook, is_async


def factory_function(key: str, name: str, prov: Provide, needs: Needs, fail: Callable[..., str]) -> tuple[Any, bool]:
    """The named handler of a dependency factory (and of its cleanup)."""
    from ._app import _spawn

    fn = prov.fn
    json_h = header_block([("Content-Type", "application/json")])
    is_gen = inspect.isgeneratorfunction(fn)
    is_agen = inspect.isasyncgenfunction(fn)
    is_async = inspect.iscoroutinefunction(fn) or is_agen

    def answer(value: Any, gen: Any = None) -> Answer:
        return (200, json_h, _wire(value, gen))

    def factory(req: Any) -> Any:
        try:
            call = req.call or {}
            if call.get("kind") == "cleanup":
                return cleanup(req, call.get("value"))
            r = fn(**_arguments(needs, req))
            if is_gen:
                return answer(next(r), r)
            if is_agen:
                return _spawn(_first(r), req, lambda v: answer(v, r), name)
            if is_async:
                return _spawn(r, req, answer, name)
            return answer(r)
        except Exception as e:
            return fail(req, e, name)

    def cleanup(req: Any, value: Any) -> Any:
        n = _ref_id(value)
        if n is None:
            return CONTINUE
        with _lock:
            _refs.pop(n, None)
            gen = _gens.pop(n, None)
        if gen is None:
            return CONTINUE
        if is_agen:
            return _spawn(_last_async(gen), req, lambda _: CONTINUE, name)
        try:
            next(gen)
        except StopIteration:
            pass
        else:
            raise RuntimeError(f"dependency {key!r}: the generator yielded twice")
        return CONTINUE

    return factory, is_async


async def _awaited(aw: Any) -> Any:
    return await aw


async def _first(agen: Any) -> Any:
    return await agen.__anext__()


async def _last_async(agen: Any) -> None:
    try:
        await agen.__anext__()
    except StopAsyncIteration:
        return
    raise RuntimeError("an async generator dependency yielded twice")


def declare(key: str, dep: Any, handler_name: str, needs: Needs | None) -> dict[str, Any]:
    """The document's declaration of one dependency."""
    if isinstance(dep, Provide):
        assert needs is not None
        fn = dep.fn
        d: dict[str, Any] = {
            "type": "async_factory" if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn) else "factory",
            "factory": handler_name,
        }
        if needs.deps:
            d["depends_on"] = needs.deps
        if dep.singleton:
            d["singleton"] = True
        elif dep.cacheable:
            d["cacheable"] = True
        if not dep.singleton:
            d["cleanup"] = True  # releases references and finishes generators
        return d
    return {"type": "value", "value": msgspec.to_builtins(dep) if not isinstance(dep, (bytes, bytearray)) else dep.decode()}


# ------------------------------------------------------------------ background


class BackgroundTasks:
    """Calls to run after the response is sent (the core's background queue).
    Ask for it as a handler parameter: ``tasks: BackgroundTasks``."""

    __slots__ = ("_req",)

    def __init__(self, req: Any) -> None:
        self._req = req

    def add_task(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> None:
        """Runs ``fn(*args, **kwargs)`` (a function or a coroutine function)
        after the response; a failure is logged."""
        with _lock:
            n = next(_ids)
            _tasks[n] = (fn, args, kwargs)
        try:
            self._req.background(TASK_HANDLER, str(n).encode())
        except BaseException:
            with _lock:
                _tasks.pop(n, None)
            raise


def task_function(fail: Callable[..., str]) -> tuple[Any, bool]:
    """The named handler the core calls for background work."""
    from ._app import _spawn

    def run(req: Any) -> Any:
        try:
            n = int((req.call or {}).get("payload") or 0)
            with _lock:
                fn, args, kwargs = _tasks.pop(n)
            r = fn(*args, **kwargs)
            if inspect.isawaitable(r):
                try:
                    asyncio.get_running_loop()
                except RuntimeError:  # a sync-only app: no loop to run it on
                    asyncio.run(_awaited(r))
                    return CONTINUE
                return _spawn(r, req, lambda _: CONTINUE, TASK_HANDLER)
            return CONTINUE
        except Exception as e:
            return fail(req, e, f"background task {getattr(locals().get('fn'), '__qualname__', '?')}")

    return run, False

