"""Assert the exact HTTP status of a Trove call, as the old runners did.

``api_error(404, client.instances.get, id)`` expects the call to fail with
that status; ``request(clients, "POST", path, body, expect=202)`` makes a raw
call on the Trove endpoint (for bodies troveclient will not send, and for
success codes troveclient does not expose) and checks its status.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trove_it.clients import CloudClients
from trove_it.masking import mask


def api_error(status: int, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Exception:
    """Call, expecting an API error with ``status``; returns the exception."""
    try:
        result = call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - any client exception carries a status
        got = getattr(exc, "http_status", None) or getattr(exc, "status_code", None)
        if got != status:
            raise AssertionError(f"expected HTTP {status} from {_name(call)}, got "
                                 f"{got or type(exc).__name__}: {mask(str(exc))[:300]}") from exc
        return exc
    raise AssertionError(f"expected HTTP {status} from {_name(call)}, but it succeeded: "
                         f"{mask(repr(result))[:300]}")


def _name(call: Callable[..., Any]) -> str:
    owner = getattr(getattr(call, "__self__", None), "__class__", None)
    return f"{owner.__name__}.{call.__name__}" if owner else getattr(call, "__name__", "call")


def request(clients: CloudClients, method: str, path: str, body: Any = None, *,
            expect: int | tuple[int, ...]) -> Any:
    """A raw call on the Trove endpoint (path relative to it); returns the JSON body."""
    response = clients.conn.database.request(path, method, json=body, raise_exc=False)
    wanted = (expect,) if isinstance(expect, int) else expect
    if response.status_code not in wanted:
        raise AssertionError(f"{method} {path}: expected HTTP {' or '.join(map(str, wanted))}, "
                             f"got {response.status_code}: {mask(response.text)[:300]}")
    if response.content:
        try:
            return response.json()
        except ValueError:
            return response.text
    return None
