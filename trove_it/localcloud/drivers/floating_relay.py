"""TCP forwarding from a floating IP to the fixed address behind it.

On a real cloud neutron's L3 agent DNATs a floating IP to its port's fixed
address. Here the floating range is more loopback addresses, so the server
listens on the floating address for each port the port's security groups
open and relays every connection to the same port on the fixed address.
TLS passes through untouched, so a certificate issued for the floating IP
verifies as it would on a cloud. The server runs under eventlet, whose
patched sockets and threads make each relay a green thread.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

LOG = logging.getLogger(__name__)
CHUNK = 65536
Connect = Callable[[tuple[str, int]], socket.socket]
"""Opens the upstream connection: a plain TCP connect, or one made from
inside a vm cloud's namespace."""


def connect_tcp(address: tuple[str, int]) -> socket.socket:
    upstream = socket.create_connection(address, timeout=10)
    upstream.settimeout(None)
    return upstream


@dataclass
class _Forward:
    target: str
    listeners: list[socket.socket] = field(default_factory=list)


class FloatingRelay:
    def __init__(self, connect: Connect = connect_tcp) -> None:
        self._connect = connect
        self._forwards: dict[str, _Forward] = {}
        self._lock = threading.Lock()

    def start(self, floating: str, fixed: str, ports: list[int]) -> None:
        """Listen on ``floating`` for each port; a port already taken on that
        address is logged and skipped rather than failing the association."""
        self.stop(floating)
        forward = _Forward(fixed)
        for port in ports:
            listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                listener.bind((floating, port))
                listener.listen(128)
            except OSError as exc:
                LOG.warning("floating IP %s: cannot listen on port %s: %s", floating, port, exc)
                listener.close()
                continue
            forward.listeners.append(listener)
            serve(listener, (fixed, port), self._connect, name=f"relay-{floating}:{port}")
        with self._lock:
            self._forwards[floating] = forward
        LOG.info("floating IP %s forwards tcp %s to %s", floating, ports, fixed)

    def stop(self, floating: str) -> None:
        with self._lock:
            forward = self._forwards.pop(floating, None)
        for listener in forward.listeners if forward else []:
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()

    def stop_all(self) -> None:
        for floating in list(self._forwards):
            self.stop(floating)

    def forwarded(self, floating: str) -> list[int]:
        forward = self._forwards.get(floating)
        return sorted(s.getsockname()[1] for s in forward.listeners) if forward else []



def serve(listener: socket.socket, target: tuple[str, int], connect: Connect,
          name: str) -> None:
    """Relay every connection ``listener`` accepts to ``target``, until the
    listener is closed."""
    threading.Thread(target=_accept, args=(listener, target, connect), name=name,
                     daemon=True).start()


def _accept(listener: socket.socket, target: tuple[str, int], connect: Connect) -> None:
    while True:
        try:
            client, _ = listener.accept()
        except OSError:
            return  # the listener was closed: the floating IP moved or went
        try:
            upstream = connect(target)
        except OSError:
            client.close()  # nothing listens behind it: refused, as DNAT would be
            continue
        pair = _Pair(client, upstream)
        for source, sink in ((client, upstream), (upstream, client)):
            threading.Thread(target=pair.pump, args=(source, sink), daemon=True).start()


class _Pair:
    """One relayed connection: each direction is pumped by its own thread, and
    the second to finish closes both sockets."""

    def __init__(self, client: socket.socket, upstream: socket.socket):
        self._sockets = (client, upstream)
        self._finished = 0
        self._lock = threading.Lock()

    def pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(CHUNK):
                sink.sendall(data)
        except OSError:
            pass
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with self._lock:
            self._finished += 1
            last = self._finished == 2
        if last:
            for sock in self._sockets:
                sock.close()
