"""The network namespace a ``vm`` cloud's guests live in.

Each cloud gets a namespace of its own with a bridge for the tenant subnet
(its gateway address on the bridge) and a tap per VM; nothing is configured
on the host's interfaces. The cloud's services stay on the host's loopback
and are reached from the namespace through the gateway relay; sockets that
must live in the namespace (the relay's listeners, a probe's connection to
a guest, QEMU's tap) are made there with ``setns`` on the calling thread,
which leaves the rest of the process where it was.

Namespaces are named after the cloud's state directory, so two clouds on
one machine, whatever their names, never share one.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

CLONE_NEWNET = 0x40000000
NETNS_DIR = Path("/run/netns")
BRIDGE = "br-tenant"
PREFIX = "trove-it-"
_libc = ctypes.CDLL(None, use_errno=True)
_switch = threading.Lock()


class NetnsError(RuntimeError):
    """A namespace operation failed; the message names the command."""


def name_for(state_dir: Path) -> str:
    digest = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:10]
    return f"{PREFIX}{digest}"


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30,
                            check=False)
    if result.returncode != 0:
        raise NetnsError(f"ip {' '.join(args)}: {result.stderr.strip() or result.returncode}")


def exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def create(name: str, gateway_cidr: str) -> None:
    """The namespace, its loopback and the bridge holding the gateway address."""
    if exists(name):
        remove(name)
    _ip("netns", "add", name)
    _ip("-n", name, "link", "set", "lo", "up")
    _ip("-n", name, "link", "add", BRIDGE, "type", "bridge")
    _ip("-n", name, "addr", "add", gateway_cidr, "dev", BRIDGE)
    _ip("-n", name, "link", "set", BRIDGE, "up")


def add_tap(name: str, tap: str) -> None:
    _ip("-n", name, "tuntap", "add", "dev", tap, "mode", "tap")
    _ip("-n", name, "link", "set", tap, "master", BRIDGE)
    _ip("-n", name, "link", "set", tap, "up")


def remove_tap(name: str, tap: str) -> None:
    with contextlib.suppress(NetnsError):
        _ip("-n", name, "link", "del", tap)


def remove(name: str) -> None:
    """Delete the namespace; its bridge and taps go with it once no process
    (a QEMU) holds it."""
    if exists(name):
        with contextlib.suppress(NetnsError):
            _ip("netns", "del", name)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        errno = ctypes.get_errno()
        raise NetnsError(f"setns: {os.strerror(errno)}")


@contextlib.contextmanager
def inside(name: str) -> Iterator[None]:
    """Sockets this thread makes in the block belong to the namespace.

    For plain threads (a probe's client library making its own socket).
    Under eventlet a blocking call in the block would let other green
    threads run inside the namespace: there, use ``socket_in``.
    """
    with _switch:
        home = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(NETNS_DIR / name, os.O_RDONLY)
        try:
            _setns(target)
            try:
                yield
            finally:
                _setns(home)
        finally:
            os.close(target)
            os.close(home)


def socket_in(name: str, family: int = socket.AF_INET,
              kind: int = socket.SOCK_STREAM) -> socket.socket:
    """A socket of the namespace: the namespace is fixed when a socket is
    made, so it can be bound or connected afterwards from anywhere."""
    with inside(name):
        return socket.socket(family, kind)


def enter_in_child(name: str) -> None:
    """For a ``preexec_fn``: move the child into the namespace before exec."""
    fd = os.open(NETNS_DIR / name, os.O_RDONLY)
    try:
        _setns(fd)
    finally:
        os.close(fd)


def stale(live_state_dirs: set[str]) -> list[str]:
    """trove-it namespaces whose cloud is gone (no live state directory names them)."""
    if not NETNS_DIR.is_dir():
        return []
    wanted = {name_for(Path(d)) for d in live_state_dirs}
    return sorted(p.name for p in NETNS_DIR.iterdir()
                  if p.name.startswith(PREFIX) and p.name not in wanted)


def connect_in(name: str, address: tuple[str, int], timeout: float = 10.0) -> socket.socket:
    """A TCP connection to ``address`` made from inside the namespace."""
    sock = socket_in(name)
    try:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.settimeout(None)
    except OSError:
        sock.close()
        raise
    return sock
