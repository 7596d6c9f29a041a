"""Spikard for Python: typed HTTP APIs served by the Spikard Go core.

Routing, validation (JSON Schema from your type hints), coercion, RFC 9457
errors and middleware run in libspikard; your handlers get values already
converted to the types they declare.

    from spikard import Spikard

    app = Spikard()

    @app.get("/users/{user_id:int}")
    def get_user(user_id: int, verbose: bool = False) -> dict:
        return {"id": user_id, "verbose": verbose}

    app.run(port=8000)          # or: spikard run module:app
"""

from __future__ import annotations

from . import _native
from ._app import Compiled, Route, Spikard, SpikardError
from ._di import BackgroundTasks, Provide
from ._params import Body, Cookie, Form, Header, Param, Path, Query
from ._request import Headers, Request
from ._response import Continue, HTTPException, Response
from ._server import Server
from ._stream import ClientDisconnected, EventSchemaError, EventSourceResponse, ServerSentEvent, StreamingResponse
from ._websocket import WebSocket, WebSocketClose

__version__ = "0.1.0"
LIBRARY_VERSION: str = _native.version()

__all__ = [
    "Spikard",
    "Route",
    "Compiled",
    "Server",
    "Request",
    "Headers",
    "Response",
    "HTTPException",
    "Continue",
    "StreamingResponse",
    "EventSourceResponse",
    "ServerSentEvent",
    "EventSchemaError",
    "ClientDisconnected",
    "WebSocket",
    "WebSocketClose",
    "SpikardError",
    "Param",
    "Query",
    "Header",
    "Cookie",
    "Path",
    "Body",
    "Form",
    "Provide",
    "BackgroundTasks",
    "LIBRARY_VERSION",
    "__version__",
]
