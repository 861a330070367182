"""Time spent waiting, per operation, for the terminal summary.

Each process keeps a ledger; under xdist each worker ships its waits in the
test reports and the controller adds them up.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field


@dataclass
class OperationTotals:
    count: int = 0
    seconds: float = 0.0
    longest: float = 0.0
    failed: int = 0

    def add(self, seconds: float, ok: bool) -> None:
        self.count += 1
        self.seconds += seconds
        self.longest = max(self.longest, seconds)
        if not ok:
            self.failed += 1


@dataclass
class WaitLedger:
    totals: dict[str, OperationTotals] = field(
        default_factory=lambda: defaultdict(OperationTotals))
    _pending: list[tuple[str, float, bool]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, seconds: float, ok: bool = True) -> None:
        with self._lock:
            self.totals[operation].add(seconds, ok)
            self._pending.append((operation, seconds, ok))

    def drain(self) -> list[tuple[str, float, bool]]:
        """Waits recorded since the last drain (shipped in the next test report)."""
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def merge(self, entries: list[tuple[str, float, bool]]) -> None:
        with self._lock:
            for operation, seconds, ok in entries:
                self.totals[operation].add(seconds, ok)

    def lines(self) -> list[str]:
        rows = sorted(self.totals.items(), key=lambda kv: -kv[1].seconds)
        return [f"{op:<14} {t.count:4d} waits {t.seconds:8.1f}s total {t.longest:7.1f}s longest"
                + (f"  {t.failed} failed" if t.failed else "") for op, t in rows]


LEDGER = WaitLedger()
