"""A QEMU Machine Protocol client: one command per connection.

What nova's libvirt driver asks of a running guest, the hypervisor asks of
QEMU here: a reset (reboot), a quit (stop, delete) and a block resize (a
Cinder volume extended while attached).
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

TIMEOUT = 10.0


class QmpError(RuntimeError):
    """QEMU refused the command or did not answer; the message says which."""


def execute(path: Path, command: str, arguments: dict[str, Any] | None = None,
            timeout: float = TIMEOUT) -> Any:
    """Run ``command`` on the QEMU listening at ``path``; returns its ``return``."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.connect(str(path))
        except OSError as exc:
            raise QmpError(f"QMP socket {path}: {exc.strerror or exc}") from None
        stream = sock.makefile("rwb")
        _read(stream, command)  # the greeting
        for name, args in (("qmp_capabilities", None), (command, arguments)):
            message: dict[str, Any] = {"execute": name}
            if args:
                message["arguments"] = args
            stream.write(json.dumps(message).encode() + b"\n")
            stream.flush()
            while True:
                reply = _read(stream, command)
                if "event" in reply:
                    continue
                if "error" in reply:
                    raise QmpError(f"QMP {name}: {reply['error'].get('desc', reply['error'])}")
                if "return" in reply:
                    break
        return reply["return"]


def _read(stream: Any, command: str) -> dict[str, Any]:
    try:
        line = stream.readline()
    except OSError as exc:
        raise QmpError(f"QMP {command}: {exc}") from None
    if not line:
        if command == "quit":
            return {"return": {}}
        raise QmpError(f"QMP {command}: QEMU closed the connection")
    return dict(json.loads(line))
