"""Connections the local cloud keeps open: engine admin pools and Trove's SQLite.

Opening a connection per guest call (and per Trove session) was most of the
server's CPU; these prove the connections are reused, that a broken one is
never handed out again, and that a restarted engine gets fresh ones.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from trove_it.localcloud.engines.base import Database, EngineContext, User
from trove_it.localcloud.engines.connection_pool import ConnectionPool
from trove_it.localcloud.engines.host import engine_templates, unprivileged_user
from trove_it.tests.conftest import require_engine


class FakeConnection:
    opened = 0

    def __init__(self, key: object):
        FakeConnection.opened += 1
        self.key = key
        self.closed = False

    def close(self) -> None:
        self.closed = True


def _pool() -> ConnectionPool[FakeConnection]:
    FakeConnection.opened = 0
    return ConnectionPool(FakeConnection, lambda conn: conn.close(), idle_per_key=2)


def test_pool_reuses_a_returned_connection_per_key() -> None:
    pool = _pool()
    with pool.connection("a") as first:
        pass
    with pool.connection("a") as again:
        assert again is first
    with pool.connection("b") as other:
        assert other is not first and other.key == "b"
    assert FakeConnection.opened == 2


def test_pool_gives_concurrent_callers_their_own_connections() -> None:
    pool = _pool()
    with pool.connection() as one, pool.connection() as two, pool.connection() as three:
        assert len({id(one), id(two), id(three)}) == 3
    # Only two stay idle; the last one returned (the first taken) is closed.
    assert pool.idle_count() == 2
    assert one.closed and not two.closed and not three.closed


def test_pool_closes_a_connection_that_raised() -> None:
    pool = _pool()
    with pytest.raises(RuntimeError), pool.connection() as broken:
        raise RuntimeError("server went away")
    assert broken.closed
    with pool.connection() as fresh:
        assert fresh is not broken


def test_clear_closes_idle_and_in_use_connections() -> None:
    pool = _pool()
    with pool.connection() as idle:
        pass
    with pool.connection() as in_use:
        assert in_use is idle
        with pool.connection() as second:
            pass
        pool.clear()
        assert second.closed
    assert in_use.closed
    assert pool.idle_count() == 0


# ------------------------------------------------------------ real engines
def _context(root: Path, address: str) -> EngineContext:
    return EngineContext(instance_id="selftest", root=root, address=address,
                         templates=engine_templates(), run_as=unprivileged_user(), server_id=7)


def test_mariadb_engine_reuses_its_admin_connection(engine_root: Path) -> None:
    require_engine("mariadb")
    from trove_it.localcloud.engines.mariadb import MariaDBEngine

    engine = MariaDBEngine(_context(engine_root, "127.93.0.7"))
    engine.initialize()
    engine.start()
    try:
        engine.create_database(Database("pooled"))
        engine.create_user(User("pool_user", "%", "pw-1", ["pooled"]))
        before = int(engine.query("SHOW GLOBAL STATUS LIKE 'Connections'")[0][1])
        for _ in range(30):
            assert engine.is_running()
            users = {u.name: u.databases for u in engine.list_users()}
        after = int(engine.query("SHOW GLOBAL STATUS LIKE 'Connections'")[0][1])
        assert users == {"pool_user": ["pooled"]}
        assert after - before <= 1, f"{after - before} new connections for 60 guest calls"
        # The harness's MySQL probe shares one TLS context between connections.
        from trove_it.probes import Credentials
        from trove_it.probes.sql import MySQLProbe

        probe = MySQLProbe("127.93.0.7", 3306, Credentials("pool_user", "pw-1", "pooled"))
        first, second = probe.connect(), probe.connect()
        try:
            assert first.ctx is second.ctx and first.ctx is not None
        finally:
            first.close()
            second.close()
        assert probe.ping()
        engine.restart()  # the old connections are gone with the old server
        assert engine.is_running()
        assert [d.name for d in engine.list_databases()] == ["pooled"]
    finally:
        engine.destroy()


def test_postgresql_engine_reuses_its_admin_connection(engine_root: Path) -> None:
    require_engine("postgresql")
    from trove_it.localcloud.engines.postgresql import PostgreSQLEngine

    engine = PostgreSQLEngine(_context(engine_root, "127.93.0.8"))
    engine.initialize()
    engine.start()
    try:
        backend = engine.query("SELECT pg_backend_pid()")[0][0]
        for _ in range(30):
            assert engine.is_running()
            assert engine.query("SELECT pg_backend_pid()")[0][0] == backend
        engine.create_database(Database("pooled"))
        engine.create_user(User("pool_user", None, "pw-1", ["pooled"]))
        assert {u.name: u.databases for u in engine.list_users()} == {"pool_user": ["pooled"]}
        # Deleting a user visits every database (template1 included); no session
        # may stay behind there, or CREATE DATABASE (a copy of template1) fails.
        engine.delete_user("pool_user", None)
        engine.create_database(Database("pooled2"))
        engine.create_user(User("pool_user", None, "pw-2", ["pooled2"]))
        assert {u.name: u.databases for u in engine.list_users()} == {"pool_user": ["pooled2"]}
    finally:
        engine.destroy()


# --------------------------------------------------------- Trove's SQLite
def test_trove_sqlite_engine_keeps_its_connections_and_their_events(tmp_path: Path) -> None:
    from oslo_db.sqlalchemy import engines
    from sqlalchemy import pool, text

    from trove_it.localcloud.lifecycle.sqlite_pool import keep_connections_open

    engine = engines.create_engine(f"sqlite:///{tmp_path / 'trove.sqlite'}",
                                   sqlite_synchronous=False)
    assert isinstance(engine.pool, pool.NullPool)  # what oslo.db gives a file database
    keep_connections_open(engine)
    assert isinstance(engine.pool, pool.QueuePool)
    with engine.connect() as conn:
        first = conn.connection.dbapi_connection
        # oslo.db's connect events still ran on the pooled connection.
        assert conn.execute(text("SELECT 'trove' REGEXP 'ro'")).scalar() == 1
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 0
    with engine.connect() as conn:
        assert conn.connection.dbapi_connection is first
