"""Fail a wait as soon as a real guest certainly cannot come up.

On a vm local cloud the server watches every QEMU guest's console and agent
log and gives a verdict once a guest cannot come up (QEMU gone, the agent
exited or never started, the bus unreachable, the database image missing).
Waits for an instance read that verdict, at most every few seconds, and fail
with it rather than after Trove's build timeout.
"""

from __future__ import annotations

import time

from trove_it.targets.base import LocalControl

INTERVAL = 5.0


class GuestWatch:
    def __init__(self, control: LocalControl, interval: float = INTERVAL):
        self.control = control
        self.interval = interval
        self._seen: dict[str, tuple[float, str | None]] = {}

    def verdict(self, instance_id: str) -> str | None:
        """Why the instance's guest cannot come up, or None (yet)."""
        now = time.monotonic()
        last = self._seen.get(instance_id)
        if last is not None and (last[1] is not None or now - last[0] < self.interval):
            return last[1]
        try:
            vm = self.control.vm(instance_id, lines=1)
        except Exception:  # noqa: BLE001 - the watch is a bonus; the wait goes on
            vm = None
        verdict = (vm or {}).get("verdict")
        if verdict:
            verdict = f"the guest of {instance_id} cannot come up: {verdict}"
        self._seen[instance_id] = (now, verdict)
        return verdict
