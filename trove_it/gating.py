"""Which collected tests the target and datastore can run, and why not.

A test that cannot run here is deselected, not failed and not silently
skipped: the terminal summary counts the deselections by reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from trove_it import catalogue
from trove_it.localcloud.lifecycle import profiles
from trove_it.settings import Settings


@dataclass(frozen=True)
class TestNeeds:
    """What one collected test asked for through its markers."""

    datastore: str | None
    capabilities: tuple[str, ...] = ()
    lacking: tuple[str, ...] = ()
    """Capabilities the datastore must not have (tests of what Trove refuses it)."""
    fault_injection: bool = False
    image: bool = False
    real_data: bool = False
    upgrade_phase: str | None = None
    """The upgrade-survival phase the test is (``upgrade_phase`` marker)."""


def reason_to_deselect(needs: TestNeeds, settings: Settings) -> str | None:
    """None when the test can run; otherwise the reason, short and countable."""
    unknown = [c for c in (*needs.capabilities, *needs.lacking)
               if c not in catalogue.CAPABILITIES]
    if unknown:
        raise ValueError(f"unknown capability {unknown[0]!r} in a requires() marker; known: "
                         f"{', '.join(sorted(catalogue.CAPABILITIES))}")
    if settings.upgrade_phase is not None and needs.upgrade_phase != settings.upgrade_phase:
        return f"--upgrade-phase {settings.upgrade_phase} runs only that phase"
    if settings.upgrade_phase is None and needs.upgrade_phase is not None:
        return "upgrade-survival phases run with --upgrade-phase"
    if needs.image and not (settings.image or settings.build_image):
        return "image validation needs --image or --build-image"
    if needs.fault_injection and settings.cloud != "local":
        return "fault injection needs the local cloud"
    if needs.fault_injection and profiles.get(settings.local_profile).vm:
        return "fault injection needs the local cloud's stand-in guest, not Trove's own agent"
    if needs.datastore is not None:
        entry = catalogue.get(needs.datastore)
        missing = entry.missing(*needs.capabilities)
        if missing:
            return f"{needs.datastore} lacks {', '.join(missing)}"
        present = [c for c in needs.lacking if entry.has(c)]
        if present:
            return f"{needs.datastore} has {', '.join(present)} (the test is of its absence)"
        if needs.real_data and settings.cloud == "local" and _emulated(needs.datastore):
            return f"{needs.datastore} runs on the local cloud's in-memory engine (no data)"
    return None


def _emulated(datastore: str) -> bool:
    """Served by the local cloud's in-memory engine: no server to read data from."""
    from trove_it.localcloud.datastores import served

    entry = served(datastore)
    return entry is None or entry.engine == "memory"


@dataclass
class Deselections:
    """Deselection counts by reason, for the terminal summary."""

    counts: Counter[str] = field(default_factory=Counter)

    def add(self, reason: str) -> None:
        self.counts[reason] += 1

    def lines(self) -> Iterable[str]:
        for reason, count in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0])):
            yield f"{count:4d} deselected: {reason}"

    @property
    def total(self) -> int:
        return sum(self.counts.values())
