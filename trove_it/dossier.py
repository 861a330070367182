"""What a failing test's report carries, so the failure explains itself.

For every instance the test had in play: the instance as an admin sees it,
its fault, the recent guest log, and on the local cloud the tail of the
engine's logs and of the server log. The old int-tests did this for any
failed step; the tempest plugin only on ERROR during a wait.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import Any

import pytest

from trove_it import api_retries
from trove_it.masking import mask

LOG_LINES = 40
SHOWN_FIELDS = ("id", "name", "status", "operating_status", "datastore", "flavor", "volume",
                "addresses", "replica_of", "replicas", "configuration", "fault",
                "service_status_updated", "updated")


@dataclass
class InPlay:
    instance_id: str
    label: str


class InstancesInPlay:
    """Instances this process created or uses, for the dossier of any failure."""

    def __init__(self) -> None:
        self._items: dict[str, InPlay] = {}
        self._lock = threading.Lock()
        self.target: Any = None

    def note(self, instance_id: str, label: str) -> None:
        with self._lock:
            self._items[instance_id] = InPlay(instance_id, label)

    def forget(self, instance_id: str) -> None:
        with self._lock:
            self._items.pop(instance_id, None)

    def all(self) -> list[InPlay]:
        with self._lock:
            return list(self._items.values())


IN_PLAY = InstancesInPlay()


def _instance_section(target: Any, entry: InPlay) -> list[str]:
    lines = [f"== instance {entry.instance_id} ({entry.label}) =="]
    role = "admin" if target.has("admin") else "member"
    try:
        instance = target.clients(role).trove.instances.get(entry.instance_id)
        info = {k: _without_links(v) for k, v in getattr(instance, "_info", {}).items()
                if k in SHOWN_FIELDS}
        lines.append(json.dumps(info, indent=1, default=str))
    except Exception as exc:  # noqa: BLE001 - the dossier reports what it can
        lines.append(f"(instance show failed: {type(exc).__name__}: {exc})")
        return lines
    control = target.control
    if control is not None and target.runs_real_guests:
        lines.extend(_vm_section(control, entry.instance_id))
    elif control is not None:
        try:
            guest = control.guest(entry.instance_id)
            lines.append(f"-- local guest: engine {guest.get('engine')} at "
                         f"{guest.get('address')}:{guest.get('port')} phase {guest.get('phase')}"
                         f"{' error ' + str(guest.get('error')) if guest.get('error') else ''}")
            lines.append(f"-- guest and engine logs (last {LOG_LINES} lines each):")
            lines.extend(control.guest_log(entry.instance_id, LOG_LINES))
        except Exception as exc:  # noqa: BLE001
            lines.append(f"(local guest details unavailable: {exc})")
    else:
        lines.extend(_published_guest_log(target, entry.instance_id))
    return lines


def _vm_section(control: Any, instance_id: str) -> list[str]:
    """A vm cloud's QEMU guest: how far its boot got, why it cannot come up, its
    serial console and its agent's log."""
    try:
        vm = control.vm(instance_id, LOG_LINES)
    except Exception as exc:  # noqa: BLE001 - the dossier reports what it can
        return [f"(QEMU guest details unavailable: {exc})"]
    if vm is None:
        return ["-- no QEMU guest for this instance (never booted, or deleted)"]
    stages = ", ".join(f"{name} {seconds:.0f}s" for name, seconds in vm["stages"].items())
    lines = [f"-- QEMU guest: server {vm['server_id']}, {vm['accel']}, "
             f"{'running' if vm['running'] else 'not running'} for {vm['seconds']:.0f}s; "
             f"stages: {stages or 'none yet'}"]
    if vm.get("verdict"):
        lines.append(f"-- cannot come up: {vm['verdict']}")
    lines.append(f"-- serial console (last {LOG_LINES} lines):")
    lines.extend(vm["console"])
    lines.append(f"-- guest agent log (last {LOG_LINES} lines):")
    lines.extend(vm["agent_log"])
    return lines


def _without_links(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_links(v) for k, v in value.items() if k != "links"}
    if isinstance(value, list):
        return [_without_links(v) for v in value]
    return value


def _published_guest_log(target: Any, instance_id: str) -> list[str]:
    """Publish and read the 'guest' log through the API (admin only on real clouds)."""
    if not target.has("admin"):
        return ["(no admin credentials: guest log not collected)"]
    admin = target.clients("admin")
    try:
        admin.trove.instances.log_action(instance_id, "guest", publish=True)
        text = "".join(admin.trove.instances.log_generator(
            instance_id, "guest", lines=LOG_LINES, swift=admin.swift())())
        return [f"-- guest log (last {LOG_LINES} lines):", *text.splitlines()[-LOG_LINES:]]
    except Exception as exc:  # noqa: BLE001
        return [f"(guest log unavailable: {type(exc).__name__}: {exc})"]


def build_dossier(item: pytest.Item, error: BaseException | None = None,
                  since: float = 0.0) -> str:
    """The failure report's dossier; ``error`` and ``since`` (when the failing
    phase began) add the API request that failed and the retries made."""
    lines = api_retries.failed_request_lines(error, since)
    target = IN_PLAY.target
    if target is None:
        return mask("\n".join(lines))
    for entry in IN_PLAY.all():
        lines.extend(_instance_section(target, entry))
    control = target.control
    if control is not None:
        try:
            lines.append(f"== local cloud server log (last {LOG_LINES} lines) ==")
            lines.extend(control.server_log(LOG_LINES))
        except Exception as exc:  # noqa: BLE001
            lines.append(f"(server log unavailable: {exc})")
    return mask("\n".join(lines))
