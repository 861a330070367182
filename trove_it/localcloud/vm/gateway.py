"""The gateway of a ``vm`` cloud's subnet: its services, seen from the guests.

The cloud's server, its message bus and its registry listen on the host's
loopback, which guests cannot reach. The gateway listens on the subnet's
gateway address inside the cloud's namespace (``profiles.VM_GATEWAY``) and
relays each connection to the service on the host, as a router with
port forwarding would: the catalogue on the server's own port, RabbitMQ on
5672, the registry on 5000.
"""

from __future__ import annotations

import contextlib
import socket

from trove_it.localcloud.drivers.floating_relay import connect_tcp, serve
from trove_it.localcloud.vm import netns


class Gateway:
    def __init__(self, namespace: str, address: str, routes: dict[int, tuple[str, int]]):
        self.namespace = namespace
        self.address = address
        self.routes = dict(routes)
        self._listeners: list[socket.socket] = []

    def start(self) -> None:
        for port, target in sorted(self.routes.items()):
            listener = netns.socket_in(self.namespace)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.address, port))
            listener.listen(128)
            self._listeners.append(listener)
            serve(listener, target, connect_tcp, name=f"gateway-{port}")

    def stop(self) -> None:
        for listener in self._listeners:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        self._listeners = []
