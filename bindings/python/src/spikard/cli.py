"""The ``spikard`` command: ``spikard run module:app``."""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from typing import Any

__all__ = ["main", "load_app"]


def load_app(target: str, *, factory: bool = False) -> Any:
    """Imports ``module:attribute`` (the current directory is importable)."""
    mod_name, sep, attr = target.partition(":")
    if not sep or not mod_name or not attr:
        raise SystemExit(f"spikard: expected module:app, got {target!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    module = importlib.import_module(mod_name)
    obj: Any = module
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SystemExit(f"spikard: {mod_name} has no attribute {attr!r}") from None
    if factory:
        obj = obj()
    from ._app import Spikard

    if not isinstance(obj, Spikard):
        raise SystemExit(f"spikard: {target} is a {type(obj).__name__}, not a Spikard app")
    return obj


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spikard", description="Spikard for Python")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve an app: spikard run module:app")
    run.add_argument("app", help="module:attribute of the Spikard app")
    run.add_argument("--host", default=None, help="address to listen on (default: the app's, 127.0.0.1)")
    run.add_argument("--port", type=int, default=None, help="port (default: the app's, 8000)")
    run.add_argument("--workers", type=int, default=1, help="processes sharing the port (SO_REUSEPORT)")
    run.add_argument("--grace-ms", type=int, default=10000, help="graceful shutdown period")
    run.add_argument("--loop", choices=["auto", "asyncio", "uvloop"], default="auto")
    run.add_argument("--factory", action="store_true", help="the attribute is a function returning the app")
    cfg = sub.add_parser("config", help="print the configuration document an app sends to libspikard")
    cfg.add_argument("app")
    cfg.add_argument("--factory", action="store_true")
    sub.add_parser("version", help="print the versions")
    args = parser.parse_args(argv)
    if args.command == "version":
        from . import __version__, _native

        print(f"spikard {__version__} (libspikard {_native.version()}, ABI {_native.abi_version()})")
        return 0
    app = load_app(args.app, factory=args.factory)
    if args.command == "config":
        print(json.dumps(app.document(), indent=2))
        return 0
    try:
        app.run(args.host, args.port, workers=args.workers, grace_ms=args.grace_ms, loop=args.loop)
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
