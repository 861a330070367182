"""A paste filter in front of Trove's API that fails a share of its requests.

The failures are the transient ones a real deployment shows under load or
across a flaky network: a 503 from a proxy in front of the API, or a
connection closed without an answer. The share, the methods and the kinds
come from the control endpoint (``/_trove_it/faults/transient``); the harness
sets them with ``--api-faults``. A failed request never reaches Trove, so
nothing it would have done happens.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable, Iterable
from typing import Any

from trove_it.localcloud import runtime

INJECTED = "injected transient failure (trove-it --api-faults)"


def _drop(environ: dict[str, Any]) -> None:
    """Close the client's connection with no answer, as a crashed proxy would."""
    sock = getattr(environ.get("eventlet.input"), "_sock", None)
    if sock is None:
        return
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class FlakyApi:
    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        kind = runtime.get().faults.pick_transient(environ.get("REQUEST_METHOD", "GET"))
        if kind == "drop":
            _drop(environ)
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        if kind == "503":
            body = json.dumps({"error": {"code": 503, "message": INJECTED}}).encode()
            start_response("503 Service Unavailable", [("Content-Type", "application/json"),
                                                       ("Content-Length", str(len(body)))])
            return [body]
        return self.app(environ, start_response)


def filter_factory(global_config: dict[str, Any], **local_config: Any
                   ) -> Callable[[Callable[..., Iterable[bytes]]], FlakyApi]:
    return FlakyApi
