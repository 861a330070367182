"""SQL probes (MySQL family with PyMySQL, PostgreSQL with psycopg).

Each data set is one table named after its label with one integer column,
in the probe's database (the helper database).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from trove_it.probes.base import DataSet, Probe, require_module


class SqlProbe(Probe):
    placeholder = "%s"

    @contextmanager
    def cursor(self) -> Iterator[Any]:
        with self.reach():
            conn = self.connect()
        try:
            cur = conn.cursor()
            yield cur
            conn.commit()
        finally:
            conn.close()

    def connect(self) -> Any:
        raise NotImplementedError

    def ping(self) -> bool:
        try:
            with self.cursor() as cur:
                cur.execute("SELECT 1")
                return bool(cur.fetchone()[0] == 1)
        except Exception:  # noqa: BLE001 - any failure to log in is "no"
            return False

    def add(self, data: DataSet) -> None:
        with self.cursor() as cur:
            cur.execute(f"CREATE TABLE IF NOT EXISTS {data.label} (value INT NOT NULL)")
            cur.execute(f"SELECT COUNT(*) FROM {data.label}")
            if cur.fetchone()[0] == 0:
                cur.executemany(f"INSERT INTO {data.label} (value) VALUES ({self.placeholder})",
                                [(v,) for v in data.values])

    def read(self, data: DataSet) -> list[int]:
        with self.cursor() as cur:
            try:
                cur.execute(f"SELECT value FROM {data.label} ORDER BY value")
            except Exception as exc:  # noqa: BLE001
                if self._missing_table(exc):
                    return []
                raise
            return [int(row[0]) for row in cur.fetchall()]

    def remove(self, data: DataSet) -> None:
        with self.cursor() as cur:
            cur.execute(f"DROP TABLE IF EXISTS {data.label}")

    def _missing_table(self, exc: Exception) -> bool:
        return False

    def execute(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        with self.cursor() as cur:
            cur.execute(sql, args)
            try:
                return [tuple(r) for r in cur.fetchall()]
            except Exception:  # noqa: BLE001 - statements without rows
                return []


@functools.cache
def _mysql_connection_class() -> Any:
    """PyMySQL's Connection, sharing one opportunistic TLS context.

    PyMySQL builds a TLS context (loading the system's CA store) for every
    connection it opens, whether the server offers TLS or not; a probe opens
    many short connections, so that was most of its CPU. The context PyMySQL
    builds first is kept and handed to every later connection: the same
    settings, built once.
    """
    pymysql = require_module("pymysql", "PyMySQL")
    shared: list[Any] = []

    class Connection(pymysql.connections.Connection):  # type: ignore[name-defined]
        def _create_ssl_ctx(self, sslp: Any) -> Any:
            if sslp:
                return super()._create_ssl_ctx(sslp)
            if not shared:
                shared.append(super()._create_ssl_ctx(sslp))
            return shared[0]

    return Connection


class MySQLProbe(SqlProbe):
    def connect(self) -> Any:
        creds = self.credentials
        return _mysql_connection_class()(
            host=self.host, port=self.port, user=creds.user, password=creds.password or "",
            database=creds.database, connect_timeout=10, read_timeout=60, write_timeout=60)

    def _missing_table(self, exc: Exception) -> bool:
        return getattr(exc, "args", [None])[0] == 1146

    def setting(self, name: str) -> str | None:
        rows = self.execute("SHOW GLOBAL VARIABLES LIKE %s", (name,))
        return str(rows[0][1]) if rows else None

    def version(self) -> str:
        return str(self.execute("SELECT VERSION()")[0][0])

    def databases(self) -> list[str]:
        return sorted(str(r[0]) for r in self.execute("SHOW DATABASES"))


class PostgreSQLProbe(SqlProbe):
    def connect(self) -> Any:
        psycopg = require_module("psycopg", "psycopg[binary]")
        creds = self.credentials
        return psycopg.connect(host=self.host, port=self.port, user=creds.user,
                               password=creds.password or "",
                               dbname=creds.database or "postgres", connect_timeout=10)

    def _missing_table(self, exc: Exception) -> bool:
        return type(exc).__name__ == "UndefinedTable"

    def setting(self, name: str) -> str | None:
        rows = self.execute("SELECT current_setting(%s, true)", (name,))
        return None if not rows or rows[0][0] is None else str(rows[0][0])

    def version(self) -> str:
        return str(self.execute("SHOW server_version")[0][0])

    def databases(self) -> list[str]:
        return sorted(str(r[0]) for r in self.execute(
            "SELECT datname FROM pg_database WHERE NOT datistemplate"))

