"""Every resource a fixture or test creates is registered here when created,
and deleted last-in first-out when its owner ends.

The policy decides what happens at the end: delete (the default), keep
everything (``--keep``), or keep a failed test's resources
(``--keep-on-failure``) and say how to reach them. A reused instance is
never deleted.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from trove_it.masking import mask

LOG = logging.getLogger(__name__)


@dataclass(frozen=True)
class Resource:
    kind: str
    id: str
    name: str
    delete: Callable[[], None]
    hint: str = ""
    """How to reach it when kept (address, command)."""


@dataclass(frozen=True)
class KeepPolicy:
    keep_all: bool = False
    keep_on_failure: bool = False
    protected: frozenset[str] = frozenset()
    """Ids never deleted (a reused instance)."""


@dataclass
class CleanupReport:
    deleted: list[Resource] = field(default_factory=list)
    kept: list[Resource] = field(default_factory=list)
    failed: list[tuple[Resource, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        out = [f"kept {r.kind} {r.id} ({r.name}){': ' + r.hint if r.hint else ''}"
               for r in self.kept]
        out += [f"could not delete {r.kind} {r.id} ({r.name}): {mask(err)}"
                for r, err in self.failed]
        return out


class Tracker:
    """A LIFO stack of cleanups for one owner (a fixture scope or a test)."""

    def __init__(self, owner: str, policy: KeepPolicy):
        self.owner = owner
        self.policy = policy
        self._stack: list[Resource] = []
        self._lock = threading.Lock()

    def add(self, kind: str, id: str, name: str, delete: Callable[[], None],
            hint: str = "") -> Resource:
        resource = Resource(kind, id, name, delete, hint)
        with self._lock:
            self._stack.append(resource)
        return resource

    def forget(self, id: str) -> None:
        """The test deleted it itself."""
        with self._lock:
            self._stack = [r for r in self._stack if r.id != id]

    @property
    def resources(self) -> list[Resource]:
        with self._lock:
            return list(self._stack)

    def cleanup(self, failed: bool = False) -> CleanupReport:
        report = CleanupReport()
        keep = self.policy.keep_all or (failed and self.policy.keep_on_failure)
        while True:
            with self._lock:
                if not self._stack:
                    break
                resource = self._stack.pop()
            if keep or resource.id in self.policy.protected:
                report.kept.append(resource)
                continue
            try:
                resource.delete()
                report.deleted.append(resource)
            except BaseException as exc:  # noqa: BLE001 - finish the others first
                report.failed.append((resource, f"{type(exc).__name__}: {exc}"))
                LOG.warning("cleanup of %s %s failed: %s", resource.kind, resource.id,
                            mask(str(exc)))
                if isinstance(exc, KeyboardInterrupt):
                    continue
        return report
