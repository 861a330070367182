"""Fault injection: failures that error-path scenarios ask the local cloud for.

Only the local cloud offers this (through ``/_trove_it/faults``); scenarios
that need it carry the ``fault_injection`` marker and are deselected on real
clouds.
"""

from __future__ import annotations

import threading

DEFAULT_CREATE_FAULT = "Build of instance aborted: injected failure (trove-it)"


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server_create_failures: list[str] = []

    def fail_next_server_create(self, message: str | None = None, count: int = 1) -> None:
        with self._lock:
            self._server_create_failures.extend([message or DEFAULT_CREATE_FAULT] * count)

    def take_server_create_failure(self) -> str | None:
        with self._lock:
            return self._server_create_failures.pop(0) if self._server_create_failures else None

    def pending(self) -> dict[str, int]:
        with self._lock:
            return {"server_create": len(self._server_create_failures)}

    def clear(self) -> None:
        with self._lock:
            self._server_create_failures.clear()
