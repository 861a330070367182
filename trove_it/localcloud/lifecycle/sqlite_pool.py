"""Keep the Trove database's SQLite connections open between sessions.

oslo.db gives a SQLite file database a NullPool: every Trove session opens a
new connection, and SQLite parses the whole schema again on a connection's
first statement. Trove opens several sessions per API call and per
heartbeat, so that parsing was the largest share of the server's CPU once
the engines were fast. A real deployment keeps a pool of connections to its
MySQL server; this does the same for the local cloud's SQLite file.
"""

from __future__ import annotations

from typing import Any

POOL_SIZE = 8


def keep_connections_open(engine: Any, pool_size: int = POOL_SIZE) -> None:
    """Give ``engine`` a QueuePool that keeps ``pool_size`` connections open.

    Overflow is unbounded, so a green thread never waits for a connection
    another green thread holds. The pool keeps the engine's connect events
    (oslo.db's per-connection PRAGMAs and its transaction handling).
    """
    from sqlalchemy import pool

    current = engine.pool
    if isinstance(current, pool.QueuePool):
        return
    engine.pool = pool.QueuePool(
        current._creator, pool_size=pool_size, max_overflow=-1, timeout=30,
        recycle=current._recycle, echo=current.echo,
        logging_name=current._orig_logging_name, reset_on_return=current._reset_on_return,
        _dispatch=current.dispatch, dialect=current._dialect)
    current.dispose()
