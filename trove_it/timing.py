"""Time spent waiting, per operation, for the terminal summary.

Besides how long each wait took, the ledger keeps how late a wait can have
noticed the change it waited for: the time between its last two looks at
the API (the change happened somewhere in between). The summary shows the
worst of these per operation, so a reader sees that polling, not the
harness, set the pace.

Each process keeps a ledger; under xdist each worker ships its waits in the
test reports and the controller adds them up.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from dataclasses import dataclass, field

# (operation, seconds waited, succeeded, noticed within seconds)
Entry = tuple[str, float, bool, float]


@dataclass
class OperationTotals:
    count: int = 0
    seconds: float = 0.0
    longest: float = 0.0
    failed: int = 0
    notice: float = 0.0
    """The longest gap between the last two looks of a successful wait."""

    def add(self, seconds: float, ok: bool, notice: float = 0.0) -> None:
        self.count += 1
        self.seconds += seconds
        self.longest = max(self.longest, seconds)
        if ok:
            self.notice = max(self.notice, notice)
        else:
            self.failed += 1


@dataclass
class WaitLedger:
    totals: dict[str, OperationTotals] = field(
        default_factory=lambda: defaultdict(OperationTotals))
    _pending: list[Entry] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, operation: str, seconds: float, ok: bool = True,
               notice: float = 0.0) -> None:
        with self._lock:
            self.totals[operation].add(seconds, ok, notice)
            self._pending.append((operation, seconds, ok, notice))

    def drain(self) -> list[Entry]:
        """Waits recorded since the last drain (shipped in the next test report)."""
        with self._lock:
            pending, self._pending = self._pending, []
        return pending

    def merge(self, entries: list[Entry]) -> None:
        with self._lock:
            for operation, seconds, ok, notice in entries:
                self.totals[operation].add(seconds, ok, notice)

    def worst_notice(self) -> float:
        with self._lock:
            return max((t.notice for t in self.totals.values()), default=0.0)

    def lines(self) -> list[str]:
        rows = sorted(self.totals.items(), key=lambda kv: -kv[1].seconds)
        return [f"{op:<14} {t.count:4d} waits {t.seconds:8.1f}s total {t.longest:7.1f}s longest"
                f"  noticed within {t.notice:.2f}s"
                + (f"  {t.failed} failed" if t.failed else "") for op, t in rows]


LEDGER = WaitLedger()
