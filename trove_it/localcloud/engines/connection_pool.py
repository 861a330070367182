"""Admin connections an engine reuses between guest calls.

The guest talks to its engine for every heartbeat and every user or
database call. Opening a connection each time was most of the local cloud's
CPU (PyMySQL builds a fresh TLS context per connection; PostgreSQL forks a
backend per connection). A pool keeps a few idle connections per key (a
database name) and hands each caller its own, so green threads never share
one. A connection that raised is closed rather than reused; the engine
empties the pool whenever its server stops.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

C = TypeVar("C")

IDLE_PER_KEY = 4


class ConnectionPool(Generic[C]):
    def __init__(self, open_connection: Callable[[Hashable], C],
                 close_connection: Callable[[C], None], idle_per_key: int = IDLE_PER_KEY):
        self._open = open_connection
        self._close = close_connection
        self._idle_per_key = idle_per_key
        self._idle: dict[Hashable, list[C]] = {}
        self._lock = threading.Lock()
        self._generation = 0

    @contextmanager
    def connection(self, key: Hashable = None) -> Iterator[C]:
        """A connection for the caller alone; back to the pool if no error escaped."""
        with self._lock:
            idle = self._idle.get(key)
            conn = idle.pop() if idle else None
            generation = self._generation
        if conn is None:
            conn = self._open(key)
        try:
            yield conn
        except BaseException:
            self._discard(conn)
            raise
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if generation == self._generation and len(idle) < self._idle_per_key:
                idle.append(conn)
                return
        self._discard(conn)

    def clear(self) -> None:
        """Close every idle connection; ones in use are closed when returned."""
        with self._lock:
            self._generation += 1
            idle = [conn for conns in self._idle.values() for conn in conns]
            self._idle.clear()
        for conn in idle:
            self._discard(conn)

    def idle_count(self) -> int:
        with self._lock:
            return sum(len(conns) for conns in self._idle.values())

    def _discard(self, conn: C) -> None:
        try:
            self._close(conn)
        except Exception:  # noqa: BLE001 - a broken connection may fail to close
            pass
