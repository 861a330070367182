"""Fault injection: failures that error-path scenarios ask the local cloud for.

Only the local cloud offers this (through ``/_trove_it/faults``); scenarios
that need it carry the ``fault_injection`` marker and are deselected on real
clouds.

A fault can name the instance it is meant for (the server name nova gets is
the Trove instance's name): then only that instance takes it, so tests that
run side by side on one cloud (xdist) never take each other's faults. A
fault without a name goes to the next server created.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

DEFAULT_CREATE_FAULT = "Build of instance aborted: injected failure (trove-it)"


class _Queue:
    """Pending faults, each for one instance name or (None) for any."""

    def __init__(self) -> None:
        self.items: list[tuple[str | None, str]] = []

    def take(self, name: str | None) -> str | None:
        for index, (wanted, value) in enumerate(self.items):
            if wanted is None or wanted == name:
                del self.items[index]
                return value
        return None


TRANSIENT_KINDS = ("503", "drop")


@dataclass
class TransientFaults:
    """A share of Trove API requests that fail as a flaky network or an
    overloaded API would: a 503 answer, or the connection dropped unanswered.

    Unlike the queued faults it stays until changed, and ``clear`` leaves it:
    a run sets it once for all its tests."""

    rate: float = 0.0
    methods: frozenset[str] = frozenset({"GET", "HEAD"})
    kinds: tuple[str, ...] = TRANSIENT_KINDS
    seen: int = 0
    injected: dict[str, int] = field(default_factory=dict)
    _random: random.Random = field(default_factory=lambda: random.Random(0))

    def configure(self, rate: float, methods: list[str] | None, kinds: list[str] | None,
                  seed: int | None = None) -> None:
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"rate must be between 0 and 1, not {rate}")
        wanted = tuple(kinds or TRANSIENT_KINDS)
        unknown = [k for k in wanted if k not in TRANSIENT_KINDS]
        if unknown:
            raise ValueError(f"unknown transient fault {unknown[0]!r}; known: "
                             f"{', '.join(TRANSIENT_KINDS)}")
        self.rate = rate
        self.methods = frozenset(m.upper() for m in (methods or ("GET", "HEAD")))
        self.kinds = wanted
        self.seen, self.injected = 0, {}
        self._random = random.Random(seed)

    def pick(self, method: str) -> str | None:
        """The fault this request takes, or None."""
        if self.rate <= 0 or method.upper() not in self.methods:
            return None
        self.seen += 1
        if self._random.random() >= self.rate:
            return None
        kind = self._random.choice(self.kinds)
        self.injected[kind] = self.injected.get(kind, 0) + 1
        return kind

    def describe(self) -> dict[str, object]:
        return {"rate": self.rate, "methods": sorted(self.methods), "kinds": list(self.kinds),
                "requests_seen": self.seen, "injected": dict(self.injected)}


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server_create_failures = _Queue()
        self._build_holds = _Queue()
        self.transient = TransientFaults()

    def pick_transient(self, method: str) -> str | None:
        with self._lock:
            return self.transient.pick(method)

    def set_transient(self, rate: float, methods: list[str] | None = None,
                      kinds: list[str] | None = None, seed: int | None = None) -> None:
        with self._lock:
            self.transient.configure(rate, methods, kinds, seed)

    def fail_next_server_create(self, message: str | None = None, count: int = 1,
                                name: str | None = None) -> None:
        with self._lock:
            self._server_create_failures.items.extend(
                [(name, message or DEFAULT_CREATE_FAULT)] * count)

    def take_server_create_failure(self, name: str | None = None) -> str | None:
        with self._lock:
            return self._server_create_failures.take(name)

    def hold_next_build(self, name: str | None = None) -> None:
        """The guest of the next instance (named ``name``) never answers prepare:
        the instance stays in BUILD, as when a guest agent does not come up."""
        with self._lock:
            self._build_holds.items.append((name, "hold"))

    def take_build_hold(self, name: str | None) -> bool:
        with self._lock:
            return self._build_holds.take(name) is not None

    def pending(self) -> dict[str, int]:
        with self._lock:
            return {"server_create": len(self._server_create_failures.items),
                    "build_hold": len(self._build_holds.items)}

    def clear(self) -> None:
        with self._lock:
            self._server_create_failures.items.clear()
            self._build_holds.items.clear()
