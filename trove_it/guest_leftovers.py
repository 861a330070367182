"""What a deleted instance must not leave behind on the local cloud: its guest,
its engine process, its data directory, a listener on its address.

Read the guest's description (``LocalControl.guest``) before the delete; after
it, ``assert_nothing_left`` waits for the guest to go and checks the rest.
Other targets have no control endpoint, and there is nothing to look at.
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from trove_it import waiters
from trove_it.localcloud.lifecycle import processes
from trove_it.targets.base import LocalControl


def guest_is_gone(control: LocalControl, instance_id: str) -> bool:
    try:
        control.guest(instance_id)
    except RuntimeError as exc:
        if "answered 404" in str(exc):
            return True
        raise
    return False


def refuses_connections(address: str, port: int) -> bool:
    try:
        with socket.create_connection((address, port), timeout=2):
            return False
    except OSError:
        return True


def assert_nothing_left(control: LocalControl, instance_id: str, guest: dict[str, Any],
                        address: str, default_port: int) -> None:
    """The guest described by ``guest`` (before the delete) is gone, with its
    instance directory, its engine process and its listener."""
    waiters.wait_until(f"the guest of {instance_id} to be gone from the local cloud",
                       lambda: guest_is_gone(control, instance_id), operation="delete")
    if guest.get("instance_dir"):
        assert not Path(guest["instance_dir"]).exists(), \
            f"{guest['instance_dir']} is still there"
    if guest.get("real_engine"):
        if guest.get("pid"):
            waiters.wait_until(f"engine process {guest['pid']} to stop",
                               lambda: not processes.alive(int(guest["pid"])),
                               operation="delete", timeout=30)
        port = int(guest.get("port") or default_port)
        assert refuses_connections(address, port), f"{address}:{port} still answers"
