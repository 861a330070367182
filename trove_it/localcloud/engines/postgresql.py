"""PostgreSQL engine: serves the postgresql datastore.

One ``postgres`` per instance, started directly (not through ``pg_ctl``, which
would detach it from the cloud server). PostgreSQL refuses to run as root, so
when the cloud runs as root the server runs as an unprivileged user. The
guest administers it as ``postgres`` over the instance's unix socket with
pg8000, which is pure Python and so cooperates with the server's eventlet
hub. Replicas are real streaming standbys made with ``pg_basebackup``.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import pg8000.native

from trove_it.localcloud.engines import binaries
from trove_it.localcloud.engines.base import (
    TLS_MODES,
    Database,
    Engine,
    EngineError,
    ReplicationSource,
    TlsSettings,
    User,
)
from trove_it.localcloud.engines.connection_pool import ConnectionPool
from trove_it.localcloud.engines.server_process import (
    ServerProcess,
    binary_fingerprint,
    chown_tree,
    copy_template,
    prepare_template,
)
from trove_it.localcloud.lifecycle import processes

SYSTEM_DATABASES = frozenset({"postgres", "template0", "template1"})
INTERNAL_USERS = frozenset({"postgres", "os_admin"})
REPLICATION_USER = "os_repl"
ADMIN_DATABASE = "postgres"
TEMPLATE_VERSION = 2  # bump when the template's initdb options change
# Every instance's data directory is a copy of the template; 1 MB WAL
# segments (rather than 16 MB) keep that copy small.
WAL_SEGMENT_SIZE = "--wal-segsize=1"
ROOT_USER = "root"
HBA = """\
local   all             all                                     trust
host    all             all             0.0.0.0/0               scram-sha-256
host    replication     all             0.0.0.0/0               scram-sha-256
"""
# Trove's postgres guest: the key, certificate and CA in the data directory,
# named relative to it (so a replica's base backup carries them along).
TLS_FILES = {"private_key": "server.key", "certificate": "server.crt", "ca": "ca.crt"}


def hba_rules(tls: bool = False, mtls: bool = False) -> str:
    """pg_hba.conf as Trove's ``apply_access_rules`` writes it for a mode:
    ``hostssl`` when TLS is required, certificate authentication (the
    certificate's CN is the user) for mutual TLS; replication keeps passwords."""
    host = "hostssl" if tls else "host"
    method = "cert clientcert=verify-full" if mtls else "scram-sha-256"
    return (f"local   all             all                                     trust\n"
            f"{host:<7} all             all             0.0.0.0/0               {method}\n"
            f"{host:<7} replication     all             0.0.0.0/0               scram-sha-256\n")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _setting_value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


class PostgreSQLEngine(Engine):
    kind = "postgresql"
    port = 5432
    internal_users = INTERNAL_USERS
    internal_databases = SYSTEM_DATABASES

    def __init__(self, ctx: Any):
        super().__init__(ctx)
        self.process = ServerProcess(ctx, "postgres")
        self.statement_logging = False
        self._pool: ConnectionPool[pg8000.native.Connection] = ConnectionPool(
            self._open, lambda conn: conn.close())

    @property
    def socket_dir(self) -> Path:
        return self.ctx.run_dir

    # lifecycle -------------------------------------------------------
    def initialize(self) -> None:
        name = f"postgresql-{TEMPLATE_VERSION}-" + \
            binary_fingerprint(binaries.require("postgresql", "postgres"))
        template = prepare_template(self.ctx.templates, name, self._build_template)
        copy_template(template, self.ctx.data_dir, self.ctx.run_as)
        os.chmod(self.ctx.data_dir, 0o700)

    def _build_template(self, scratch: Path) -> None:
        initdb = binaries.require("postgresql", "initdb")
        data = scratch / "data"
        chown_tree(scratch, self.ctx.run_as)
        result = processes.run([initdb, "-D", str(data), "-U", "postgres",
                                "--auth-local=trust", "--auth-host=scram-sha-256",
                                "-E", "UTF8", "--locale=C.UTF-8", "--no-sync",
                                WAL_SEGMENT_SIZE],
                               user=self.ctx.run_as, timeout=180)
        if result.returncode != 0:
            raise EngineError("initdb failed: " + result.stderr.decode(errors="replace")[-300:])
        (data / "pg_hba.conf").write_text(HBA)

    def _argv(self) -> list[str]:
        ctx = self.ctx
        settings = {
            "listen_addresses": ctx.address, "port": self.port,
            "unix_socket_directories": str(self.socket_dir), "shared_buffers": "16MB",
            "max_connections": 100, "wal_level": "replica", "max_wal_senders": 10,
            # Segments are 1 MB here, and a replica's snapshot forces a checkpoint:
            # without a reserve, a second replica's snapshot recycled the WAL the
            # first still had to stream ("requested WAL segment ... removed").
            "wal_keep_size": "64MB",
            "hot_standby": "on", "fsync": "off", "synchronous_commit": "off",
            "log_destination": "stderr", "logging_collector": "off",
            "log_line_prefix": "%m [%p] %q%u@%d ",
            "log_statement": "all" if self.statement_logging else "none",
        }
        settings.update(ctx.overrides)
        argv = [binaries.require("postgresql", "postgres"), "-D", str(ctx.data_dir)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={_setting_value(value)}"]
        return argv

    def start(self) -> None:
        self._pool.clear()
        self.process.start(self._argv(), ready=self._ping, timeout=90, user=self.ctx.run_as)

    def stop(self) -> None:
        self._pool.clear()
        self.process.stop()

    def kill(self) -> None:
        self._pool.clear()
        self.process.kill()

    def is_running(self) -> bool:
        if not self.process.alive():
            return False
        try:
            return self._ping()
        except Exception:  # noqa: BLE001
            return False

    def _ping(self) -> bool:
        self.query("SELECT 1")
        return True

    def _open(self, database: Any) -> pg8000.native.Connection:
        # No TLS over the unix socket: pg8000 would otherwise build a TLS
        # context (loading the system's CA store) for every connection.
        conn = pg8000.native.Connection(
            user="postgres", database=database, timeout=10, ssl_context=False,
            unix_sock=str(self.socket_dir / f".s.PGSQL.{self.port}"))
        # The guest administers a read-only source too (accounts, settings);
        # read-only applies to users, as in Trove's guest.
        conn.run("SET default_transaction_read_only = off")
        return conn

    def query(self, sql: str, database: str = ADMIN_DATABASE, **params: Any) -> list[list[Any]]:
        if database != ADMIN_DATABASE:
            # Only the admin database's sessions are kept: an idle session in
            # a user database (or template1) would block CREATE and DROP
            # DATABASE, which need it to have no other sessions.
            conn = self._open(database)
            try:
                return conn.run(sql, **params) or []
            finally:
                conn.close()
        with self._pool.connection(database) as conn:
            return conn.run(sql, **params) or []

    def version(self) -> str:
        return str(self.query("SHOW server_version")[0][0])

    # databases -------------------------------------------------------
    def create_database(self, database: Database) -> None:
        sql = f"CREATE DATABASE {quote_ident(database.name)}"
        if database.character_set:
            sql += f" ENCODING {quote_literal(database.character_set)}"
        if database.collate:
            sql += f" LC_COLLATE {quote_literal(database.collate)} TEMPLATE template0"
        self.query(sql)

    def delete_database(self, name: str) -> None:
        self.query(f"DROP DATABASE IF EXISTS {quote_ident(name)} WITH (FORCE)")

    def list_databases(self) -> list[Database]:
        rows = self.query("SELECT datname, pg_encoding_to_char(encoding), datcollate "
                          "FROM pg_database WHERE NOT datistemplate ORDER BY datname")
        return [Database(n, c, o) for n, c, o in rows if n not in SYSTEM_DATABASES]

    # users -----------------------------------------------------------
    def create_user(self, user: User) -> None:
        self.query(f"CREATE ROLE {quote_ident(user.name)} LOGIN "
                   f"PASSWORD {quote_literal(user.password or '')}")
        if user.databases:
            self.grant(user.name, None, user.databases)

    def delete_user(self, name: str, host: str | None) -> None:
        if not self._role_exists(name):
            return
        for (db,) in self.query("SELECT datname FROM pg_database WHERE datallowconn"):
            self.query(f"REASSIGN OWNED BY {quote_ident(name)} TO postgres", database=db)
            self.query(f"DROP OWNED BY {quote_ident(name)}", database=db)
        self.query(f"DROP ROLE IF EXISTS {quote_ident(name)}")

    def _role_exists(self, name: str) -> bool:
        return bool(self.query("SELECT 1 FROM pg_roles WHERE rolname = :n", n=name))

    def list_users(self) -> list[User]:
        rows = self.query(
            "SELECT r.rolname, d.datname FROM pg_roles r LEFT JOIN pg_database d "
            "ON NOT d.datistemplate AND d.datname <> 'postgres' "
            "AND has_database_privilege(r.rolname, d.datname, 'CREATE') "
            "WHERE r.rolcanlogin ORDER BY r.rolname, d.datname")
        users: dict[str, User] = {}
        for name, database in rows:
            if name in INTERNAL_USERS or name == REPLICATION_USER:
                continue
            user = users.setdefault(name, User(name, None, None, []))
            if database:
                user.databases.append(database)
        return list(users.values())

    def list_access(self, name: str, host: str | None) -> list[str]:
        rows = self.query(
            "SELECT datname FROM pg_database WHERE NOT datistemplate AND "
            "has_database_privilege(:n, datname, 'CREATE') AND datname <> 'postgres' "
            "ORDER BY datname", n=name)
        return [r[0] for r in rows]

    def user_exists(self, name: str, host: str | None) -> bool:
        return self._role_exists(name)

    def update_user(self, name: str, host: str | None, new_name: str | None,
                    new_host: str | None, new_password: str | None) -> None:
        current = name
        if new_name and new_name != name:
            self.query(f"ALTER ROLE {quote_ident(name)} RENAME TO {quote_ident(new_name)}")
            current = new_name
            # Renaming an md5/scram role clears its password; set it again.
        if new_password is not None:
            self.query(f"ALTER ROLE {quote_ident(current)} "
                       f"PASSWORD {quote_literal(new_password)}")

    def grant(self, name: str, host: str | None, databases: list[str]) -> None:
        for db in databases:
            self.query(f"GRANT ALL PRIVILEGES ON DATABASE {quote_ident(db)} "
                       f"TO {quote_ident(name)}")
            self.query(f"GRANT ALL ON SCHEMA public TO {quote_ident(name)}", database=db)

    def revoke(self, name: str, host: str | None, database: str) -> None:
        # As Trove 26's guest does: PUBLIC's default CONNECT goes too, or the
        # revoked user could still log in to the database.
        self.query(f"REVOKE ALL PRIVILEGES ON DATABASE {quote_ident(database)} "
                   f"FROM {quote_ident(name)}")
        self.query(f"REVOKE CONNECT ON DATABASE {quote_ident(database)} FROM PUBLIC")
        self.query(f"REVOKE ALL ON SCHEMA public FROM {quote_ident(name)}", database=database)

    # root ------------------------------------------------------------
    def enable_root(self, password: str) -> str:
        """Trove 26's guest makes (or resets) a superuser named ``root``; the
        ``postgres`` account stays local-only."""
        if not self._role_exists(ROOT_USER):
            self.query(f"CREATE ROLE {ROOT_USER} LOGIN")
        self.query(f"ALTER ROLE {ROOT_USER} WITH SUPERUSER CREATEDB CREATEROLE INHERIT "
                   f"REPLICATION BYPASSRLS LOGIN PASSWORD {quote_literal(password)}")
        return ROOT_USER

    def disable_root(self) -> None:
        """Like Trove 26's guest: reset root's password to an unknown value."""
        import secrets

        if self._role_exists(ROOT_USER):
            self.query(f"ALTER ROLE {ROOT_USER} "
                       f"PASSWORD {quote_literal(secrets.token_urlsafe(24))}")

    # configuration ---------------------------------------------------
    def apply_live(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            self.query(f"ALTER SYSTEM SET {key} = {quote_literal(_setting_value(value))}")
        self.query("SELECT pg_reload_conf()")

    def read_setting(self, name: str) -> str | None:
        rows = self.query("SELECT current_setting(:n, true)", n=name)
        return None if not rows or rows[0][0] is None else str(rows[0][0])

    # TLS (reloaded, never restarted: Trove's postgres guest says so) -------
    def enable_tls(self, settings: TlsSettings) -> bool:
        if settings.mode not in TLS_MODES:
            raise EngineError(f"unknown TLS access mode {settings.mode!r}")
        for key, name in TLS_FILES.items():
            if settings.files.get(key):
                path = self.ctx.data_dir / name
                path.write_text(settings.files[key])
                path.chmod(0o600)
                chown_tree(path, self.ctx.run_as)
        self._write_hba(hba_rules(tls=settings.mode != "basic", mtls=settings.mode == "mtls"))
        for key, value in (("ssl", "on"), ("ssl_ca_file", TLS_FILES["ca"]),
                           ("ssl_cert_file", TLS_FILES["certificate"]),
                           ("ssl_key_file", TLS_FILES["private_key"])):
            self.query(f"ALTER SYSTEM SET {key} = {quote_literal(value)}")
        self.query("SELECT pg_reload_conf()")
        self._await_setting("ssl", "on")
        return False

    def disable_tls(self) -> bool:
        self._write_hba(hba_rules())
        self.query("ALTER SYSTEM SET ssl = 'off'")
        self.query("SELECT pg_reload_conf()")
        self._await_setting("ssl", "off")
        return False

    def tls_status(self) -> tuple[bool, str | None]:
        if self.read_setting("ssl") != "on":
            return False, None
        return True, (self.ctx.data_dir / TLS_FILES["certificate"]).read_text()

    def _write_hba(self, text: str) -> None:
        path = self.ctx.data_dir / "pg_hba.conf"
        path.write_text(text)
        chown_tree(path, self.ctx.run_as)

    def _await_setting(self, name: str, value: str) -> None:
        """A reload is asynchronous: wait until new sessions see it (a bad
        certificate leaves the old value, which is then the error)."""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            self._pool.clear()
            if self.read_setting(name) == value:
                return
            time.sleep(0.1)
        raise EngineError(f"postgresql did not apply {name} = {value} on reload; its log says "
                          f"why (a certificate the server cannot load?)")

    # backup ----------------------------------------------------------
    def backup(self, target: Path) -> dict[str, Any]:
        dumpall = binaries.require("postgresql", "pg_dumpall")
        result = processes.run([dumpall, "-h", str(self.socket_dir), "-p", str(self.port),
                                "-U", "postgres", "--quote-all-identifiers"], timeout=600)
        if result.returncode != 0:
            raise EngineError("pg_dumpall failed: " + result.stderr.decode(errors="replace")[-300:])
        lines = [line for line in result.stdout.decode().splitlines(keepends=True)
                 if REPLICATION_USER not in line]
        target.write_text("".join(lines))
        return {"lsn": self.replication_position().get("lsn", "")}

    def restore(self, source: Path, metadata: dict[str, Any]) -> None:
        psql = binaries.require("postgresql", "psql")
        result = processes.run([psql, "-h", str(self.socket_dir), "-p", str(self.port),
                                "-U", "postgres", "-d", "postgres", "-q", "-f", str(source)],
                               timeout=600)
        if result.returncode != 0:
            raise EngineError("restoring the dump failed: " +
                              result.stderr.decode(errors="replace")[-300:])

    # replication -----------------------------------------------------
    def replication_credentials(self) -> tuple[str, str]:
        password = self.replication_password()
        if self._role_exists(REPLICATION_USER):
            self.query(f"ALTER ROLE {REPLICATION_USER} PASSWORD {quote_literal(password)}")
        else:
            self.query(f"CREATE ROLE {REPLICATION_USER} REPLICATION LOGIN "
                       f"PASSWORD {quote_literal(password)}")
        return REPLICATION_USER, password

    def replication_position(self) -> dict[str, Any]:
        rows = self.query("SELECT CASE WHEN pg_is_in_recovery() THEN "
                          "pg_last_wal_replay_lsn()::text ELSE pg_current_wal_lsn()::text END")
        return {"lsn": str(rows[0][0] or "")}

    def seed_from(self, source: ReplicationSource, snapshot: Path | None,
                  metadata: dict[str, Any]) -> None:
        """Replace this instance's data with a base backup of the source."""
        self.stop()
        shutil.rmtree(self.ctx.data_dir, ignore_errors=True)
        self.ctx.data_dir.mkdir(mode=0o700)
        chown_tree(self.ctx.data_dir, self.ctx.run_as)
        env = dict(os.environ, PGPASSWORD=source.password)
        basebackup = binaries.require("postgresql", "pg_basebackup")
        result = processes.run(
            [basebackup, "-h", source.host, "-p", str(source.port), "-U", source.user,
             "-D", str(self.ctx.data_dir), "-R", "-X", "stream", "--no-sync",
             "--checkpoint=fast"],
            user=self.ctx.run_as, env=env, timeout=600)
        if result.returncode != 0:
            raise EngineError("pg_basebackup failed: " +
                              result.stderr.decode(errors="replace")[-300:])
        self.start()

    def follow(self, source: ReplicationSource) -> None:
        if not self.query("SELECT pg_is_in_recovery()")[0][0]:
            self.seed_from(source, None, {})
        else:
            conninfo = (f"host={source.host} port={source.port} user={source.user} "
                        f"password={source.password}")
            self.query(f"ALTER SYSTEM SET primary_conninfo = {quote_literal(conninfo)}")
            self.query("SELECT pg_reload_conf()")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.query("SELECT count(*) FROM pg_stat_wal_receiver")[0][0]:
                return
            time.sleep(0.2)
        raise EngineError("the standby did not connect to its source within 30s")

    def unfollow(self) -> None:
        if self.query("SELECT pg_is_in_recovery()")[0][0]:
            self.query("SELECT pg_promote(true, 60)")

    def set_read_only(self, read_only: bool) -> None:
        value = "on" if read_only else "off"
        self.query(f"ALTER SYSTEM SET default_transaction_read_only = {value}")
        self.query("SELECT pg_reload_conf()")

    def last_transaction(self) -> str | None:
        return self.replication_position().get("lsn") or None

    def wait_for_transaction(self, txn: str, timeout: float) -> None:
        if not txn:
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = self.query("SELECT pg_last_wal_replay_lsn() >= CAST(:t AS pg_lsn)", t=txn)
            if rows and rows[0][0]:
                return
            time.sleep(0.2)
        raise EngineError(f"standby did not replay {txn} within {timeout}s")

    # logs ------------------------------------------------------------
    def log_files(self) -> dict[str, Path]:
        return {"general": self.process.log}

    def enable_log(self, name: str, enabled: bool) -> bool:
        if name != "general":
            return False
        self.statement_logging = enabled
        return True
