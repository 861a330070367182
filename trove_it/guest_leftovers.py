"""What a deleted instance must not leave behind on the local cloud.

On the default and production profiles: its stand-in guest, its engine
process, its data directory, a listener on its address. On the vm profile:
its QEMU guest, and a listener on its address in the cloud's namespace.

Read what hosts the instance (``hosting_of``) before the delete; after it,
``assert_nothing_left`` waits for that to go and checks the rest. Other
targets have no control endpoint, and there is nothing to look at.
"""

from __future__ import annotations

import contextlib
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trove_it import waiters
from trove_it.localcloud.lifecycle import processes
from trove_it.targets.base import LocalControl, Target


@dataclass(frozen=True)
class Hosting:
    """What runs an instance on a local cloud, as it was described."""

    control: LocalControl
    kind: str
    """``guest`` (the stand-in and its engine) or ``vm`` (a QEMU guest)."""
    info: dict[str, Any]
    network: str | None = None


def guest_is_gone(control: LocalControl, instance_id: str) -> bool:
    try:
        control.guest(instance_id)
    except RuntimeError as exc:
        if "answered 404" in str(exc):
            return True
        raise
    return False


def hosting_of(target: Target, instance_id: str) -> Hosting | None:
    control = target.control
    if control is None:
        return None
    if target.runs_real_guests:
        vm = control.vm(instance_id, lines=1)
        return Hosting(control, "vm", vm, target.guest_network) if vm is not None else None
    return Hosting(control, "guest", control.guest(instance_id))


def refuses_connections(address: str, port: int, network: str | None = None) -> bool:
    place: contextlib.AbstractContextManager[None] = contextlib.nullcontext()
    if network is not None:
        from trove_it.localcloud.vm import netns

        place = netns.inside(network)
    try:
        with place, socket.create_connection((address, port), timeout=2):
            return False
    except OSError:
        return True


def assert_nothing_left(hosting: Hosting, instance_id: str, address: str,
                        default_port: int) -> None:
    """What hosted the instance (described before the delete) is gone, with its
    instance directory, its engine process and its listener."""
    control, info = hosting.control, hosting.info
    if hosting.kind == "vm":
        waiters.wait_until(f"the QEMU guest of {instance_id} to be gone from the local cloud",
                           lambda: control.vm(instance_id, lines=1) is None,
                           operation="delete")
        assert refuses_connections(address, default_port, hosting.network), \
            f"{address}:{default_port} still answers in {hosting.network}"
        return
    waiters.wait_until(f"the guest of {instance_id} to be gone from the local cloud",
                       lambda: guest_is_gone(control, instance_id), operation="delete")
    if info.get("instance_dir"):
        assert not Path(info["instance_dir"]).exists(), \
            f"{info['instance_dir']} is still there"
    if info.get("real_engine"):
        if info.get("pid"):
            waiters.wait_until(f"engine process {info['pid']} to stop",
                               lambda: not processes.alive(int(info["pid"])),
                               operation="delete", timeout=30)
        port = int(info.get("port") or default_port)
        assert refuses_connections(address, port), f"{address}:{port} still answers"
