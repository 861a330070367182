"""What a run created, counted for the terminal summary ("created: 23 instances").

Instances are the expensive resource of a scenario run, so the count says
whether fixtures share them as they should. Each process counts; under
xdist each worker ships its counts in the test reports (as the wait ledger
does) and the controller adds them up.
"""

from __future__ import annotations

import threading
from collections import Counter


class CreatedCounts:
    def __init__(self) -> None:
        self.totals: Counter[str] = Counter()
        self._pending: Counter[str] = Counter()
        self._lock = threading.Lock()

    def add(self, kind: str) -> None:
        with self._lock:
            self.totals[kind] += 1
            self._pending[kind] += 1

    def drain(self) -> dict[str, int]:
        with self._lock:
            pending, self._pending = dict(self._pending), Counter()
        return pending

    def merge(self, counts: dict[str, int]) -> None:
        with self._lock:
            self.totals.update(counts)

    def line(self) -> str | None:
        with self._lock:
            if not self.totals:
                return None
            parts = [f"{n} {kind}{'' if n == 1 else 's'}"
                     for kind, n in sorted(self.totals.items())]
        return "created: " + ", ".join(parts)


CREATED = CreatedCounts()
