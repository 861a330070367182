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

import threading

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


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server_create_failures = _Queue()
        self._build_holds = _Queue()

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
