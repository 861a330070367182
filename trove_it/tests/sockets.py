"""Listening TCP sockets, read from /proc (for the no-leftovers tests)."""

from __future__ import annotations

import ipaddress
from pathlib import Path


def listening(network: str) -> list[tuple[str, int]]:
    """(address, port) of every IPv4 socket listening inside ``network``."""
    net = ipaddress.ip_network(network)
    found = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, state = fields[1], fields[3]
        if state != "0A":  # LISTEN
            continue
        hex_ip, hex_port = local.split(":")
        address = ipaddress.IPv4Address(bytes(reversed(bytes.fromhex(hex_ip))))
        if address in net:
            found.append((str(address), int(hex_port, 16)))
    return found


def listening_on_port(port: int) -> bool:
    return any(p == port for _, p in listening("0.0.0.0/0"))
