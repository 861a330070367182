"""MariaDB engine: serves the mysql and mariadb datastores.

One ``mariadbd`` per instance with binary logs and GTIDs on, so replicas
stream real changes. The guest administers it as ``root@localhost`` over the
instance's unix socket; the ``root@'%'`` account is the user-visible root
that enable-root creates. Backups are logical: a ``mariadb-dump`` of the
user databases plus the accounts and grants, as SQL.
"""

from __future__ import annotations

import logging
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pymysql

from trove_it.localcloud.engines import binaries, galera
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

LOG = logging.getLogger(__name__)
SYSTEM_DATABASES = frozenset({"mysql", "information_schema", "performance_schema", "sys"})
INTERNAL_USERS = frozenset({"os_admin", "mariadb.sys", "root"})
REPLICATION_USER = "os_repl"
# Accounts mariadb-install-db makes that would shadow root@'%' for clients on
# loopback (they arrive from 127.0.0.1 whatever 127.x address they dial).
TEMPLATE_CLEANUP = (
    "DELETE FROM mysql.global_priv WHERE User='root' AND Host NOT IN ('localhost');",
    "DELETE FROM mysql.global_priv WHERE User='';",
    "DELETE FROM mysql.proxies_priv WHERE Host NOT IN ('localhost');",
    "FLUSH PRIVILEGES;",
)
TEMPLATE_VERSION = 3  # bump when TEMPLATE_CLEANUP or the template's options change
# InnoDB's redo log is 96 MB by default, and every instance's data directory
# is a copy of the template: a small log makes that copy ten times cheaper.
INNODB_LOG_FILE_SIZE = "--innodb-log-file-size=8M"
LOGS = {"general": "general.log", "slow_query": "slow_query.log", "error": "error.log"}
TLS_VERSIONS = "TLSv1.2,TLSv1.3"  # Trove's mariadb and mysql guests for these versions


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def quote_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def account(name: str, host: str | None) -> str:
    return f"{quote_str(name)}@{quote_str(host or '%')}"


def byte_value(value: Any) -> Any:
    """'50M' -> 52428800: SET GLOBAL takes no size suffixes, templates use them."""
    if isinstance(value, str):
        match = re.match(r"^(\d+)([KMGT])$", value)
        if match:
            return int(match.group(1)) * 1024 ** ("KMGT".index(match.group(2)) + 1)
    return value


def _sql_value(value: Any) -> str:
    if isinstance(value, bool):
        return "ON" if value else "OFF"
    if isinstance(value, (int, float)):
        return str(value)
    return quote_str(str(value))


class MariaDBEngine(Engine):
    kind = "mariadb"
    port = 3306
    internal_users = INTERNAL_USERS
    internal_databases = SYSTEM_DATABASES

    def __init__(self, ctx: Any):
        super().__init__(ctx)
        self.process = ServerProcess(ctx, "mariadbd")
        self.enabled_logs: set[str] = set()
        self.galera: galera.GaleraSettings | None = None
        """Set once the member has joined a Galera cluster; kept for restarts."""
        self.tls: TlsSettings | None = None
        """The TLS the server starts with (Trove's guest writes it to my.cnf)."""
        self._pool: ConnectionPool[pymysql.connections.Connection] = ConnectionPool(
            self._open, lambda conn: conn.close())

    @property
    def socket(self) -> Path:
        return self.ctx.run_dir / "mysqld.sock"

    @property
    def tmp_dir(self) -> Path:
        return self.ctx.root / "tmp"

    # lifecycle -------------------------------------------------------
    def initialize(self) -> None:
        name = f"mariadb-{TEMPLATE_VERSION}-" + \
            binary_fingerprint(binaries.require("mariadb", "mariadbd"))
        template = prepare_template(self.ctx.templates, name, self._build_template)
        copy_template(template, self.ctx.data_dir, None)

    def _build_template(self, scratch: Path) -> None:
        install = binaries.require("mariadb", "mariadb-install-db")
        mariadbd = binaries.require("mariadb", "mariadbd")
        data = scratch / "data"
        result = processes.run([install, "--no-defaults", f"--datadir={data}", "--user=root",
                                "--auth-root-authentication-method=normal", "--skip-test-db",
                                INNODB_LOG_FILE_SIZE],
                               timeout=120)
        if result.returncode != 0:
            raise EngineError("mariadb-install-db failed: " +
                              result.stderr.decode(errors="replace")[-300:])
        sql = "\n".join(TEMPLATE_CLEANUP).encode()
        boot = processes.run([mariadbd, "--no-defaults", "--user=root", f"--datadir={data}",
                              INNODB_LOG_FILE_SIZE, "--bootstrap"], input_data=sql,
                             timeout=120)
        if boot.returncode != 0:
            raise EngineError("mariadbd --bootstrap failed: " +
                              boot.stderr.decode(errors="replace")[-300:])

    def _argv(self) -> list[str]:
        ctx = self.ctx
        argv = [
            binaries.require("mariadb", "mariadbd"), "--no-defaults", "--user=root",
            f"--datadir={ctx.data_dir}", f"--bind-address={ctx.address}", f"--port={self.port}",
            f"--socket={self.socket}", f"--pid-file={ctx.run_dir / 'mariadbd.pid'}",
            # Its own temporary directory: a starting mariadbd deletes every #sql*
            # file in its tmpdir, which in a shared /tmp are other servers' tables.
            f"--tmpdir={self.tmp_dir}",
            f"--server-id={ctx.server_id}", f"--log-bin={ctx.data_dir / 'binlog'}",
            "--log-slave-updates=ON",
            "--innodb-buffer-pool-size=16M", INNODB_LOG_FILE_SIZE, "--performance-schema=OFF",
            "--skip-name-resolve", "--max-connections=100",
            f"--log-error={ctx.log_dir / LOGS['error']}",
            f"--general-log-file={ctx.log_dir / LOGS['general']}",
            f"--slow-query-log-file={ctx.log_dir / LOGS['slow_query']}",
            f"--general-log={'ON' if 'general' in self.enabled_logs else 'OFF'}",
            f"--slow-query-log={'ON' if 'slow_query' in self.enabled_logs else 'OFF'}",
        ]
        if self.galera is None:
            argv += ["--gtid-strict-mode=ON", "--binlog-format=MIXED"]
        else:
            argv += galera.argv(self.galera)
        for key, value in sorted(ctx.overrides.items()):
            argv.append(f"--{key.replace('_', '-')}={_sql_value(value).strip(chr(39))}")
        if self.tls is not None:
            paths = self.tls_paths()
            argv += [f"--ssl-cert={paths['certificate']}", f"--ssl-key={paths['private_key']}",
                     f"--ssl-ca={paths['ca']}", f"--tls-version={TLS_VERSIONS}"]
            if self.tls.require_secure_transport:
                argv.append("--require-secure-transport=ON")
        return argv

    # TLS (Trove's mysql_common guest: files in the data directory, my.cnf
    # overrides, then a restart; accounts get REQUIRE NONE / SSL / X509) ------
    def tls_paths(self) -> dict[str, Path]:
        tls_dir = self.ctx.root / "tls"
        return {"private_key": tls_dir / "server-key.pem",
                "certificate": tls_dir / "server-cert.pem", "ca": tls_dir / "ca.pem"}

    def enable_tls(self, settings: TlsSettings) -> bool:
        paths = self.tls_paths()
        paths["ca"].parent.mkdir(parents=True, exist_ok=True)
        for key, path in paths.items():
            if settings.files.get(key):
                path.write_text(settings.files[key])
                path.chmod(0o600)
        self.tls = settings
        self._set_users_access_mode(settings.mode)
        return True

    def disable_tls(self) -> bool:
        # as Trove's guest: accounts keep the REQUIRE clause they had
        self.tls = None
        return True

    def tls_status(self) -> tuple[bool, str | None]:
        values = dict(self.query("SHOW GLOBAL VARIABLES WHERE Variable_name IN "
                                 "('have_ssl', 'ssl_cert', 'tls_version')"))
        cert = str(values.get("ssl_cert") or "")
        if str(values.get("have_ssl")).upper() != "YES" or not cert or \
                not values.get("tls_version"):
            return False, None
        return True, Path(cert).read_text()

    def _set_users_access_mode(self, mode: str) -> None:
        """Trove's ``set_users_access_mode``: every user account (not the
        guest's own, root or replication ones) gets the mode's REQUIRE."""
        if mode not in TLS_MODES:
            raise EngineError(f"unknown TLS access mode {mode!r}")
        require = {"basic": "NONE", "enforced": "SSL", "mtls": "X509"}[mode]
        accounts = [account(name, host) for name, host in self.query(
            "SELECT User, Host FROM mysql.user WHERE Host != 'localhost'")
            if name and name not in INTERNAL_USERS and not name.startswith(("slave_", "os_"))]
        with self.connect() as cur:
            # Not binlogged: every member gets the call itself (Trove applies an
            # SSL action to each replica), and a replica's own transactions
            # would diverge it from its source under gtid_strict_mode.
            cur.execute("SET SESSION sql_log_bin = 0")
            try:
                for name in accounts:
                    cur.execute(f"ALTER USER {name} REQUIRE {require}")
            finally:
                cur.execute("SET SESSION sql_log_bin = 1")

    def start(self, *extra: str) -> None:
        self._pool.clear()
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        if self.galera is not None:
            # Any (re)join may need a state transfer, which rsync's daemon
            # writes as its unprivileged user over what the server wrote.
            chown_tree(self.ctx.data_dir, galera.SST_USER)
        self.process.start([*self._argv(), *extra], ready=self._ping, timeout=90)

    # Galera ----------------------------------------------------------
    def join_galera(self, settings: galera.GaleraSettings, bootstrap: bool) -> None:
        """Restart as a member of ``settings``' cluster: the first member
        bootstraps it, the others join and receive its state (SST)."""
        galera.provider()
        galera.require_sst_tools()
        self.stop()
        self.galera = settings
        self.start(*(["--wsrep-new-cluster"] if bootstrap else []))

    def galera_status(self) -> dict[str, str]:
        """The member's ``wsrep_%`` status variables."""
        return {str(name): str(value)
                for name, value in self.query("SHOW GLOBAL STATUS LIKE 'wsrep\\_%'")}

    def stop(self) -> None:
        self._pool.clear()
        self.process.stop()

    def kill(self) -> None:
        self._pool.clear()
        if self.galera is None:
            self.process.kill()
            return
        # A member that leaves in an orderly way keeps the others' quorum; a
        # killed one can leave a two-member cluster without a primary. Its state
        # transfer helpers (the SST script, rsync's daemon) share its process
        # group and may outlive it, writing into a directory being removed.
        group = self.process.pid()
        self.process.stop()
        if group is not None:
            processes.terminate(group, timeout=5.0, sig=signal.SIGKILL, group=True)

    def is_running(self) -> bool:
        if not self.process.alive():
            return False
        try:
            return self._ping()
        except Exception:  # noqa: BLE001 - any driver error means "not answering"
            return False

    def _ping(self) -> bool:
        with self.connect() as cur:
            if self.galera is None:
                cur.execute("SELECT 1")
                return True
            # A Galera member answers SELECT 1 before it has rejoined; it
            # serves tables only once wsrep says it is ready.
            cur.execute("SHOW GLOBAL STATUS LIKE 'wsrep_ready'")
            row = cur.fetchone()
        return row is not None and str(row[1]).upper() == "ON"

    def _open(self, database: Any) -> pymysql.connections.Connection:
        # A unix socket needs no TLS, and PyMySQL would otherwise build a TLS
        # context (loading the system's CA store) for every connection.
        return pymysql.connect(unix_socket=str(self.socket), user="root", password="",
                               database=database, autocommit=True, connect_timeout=5,
                               charset="utf8mb4", ssl_disabled=True)

    @contextmanager
    def connect(self, database: str | None = None) -> Iterator[Any]:
        with self._pool.connection(database) as conn, conn.cursor() as cur:
            yield cur

    def execute(self, *statements: str) -> None:
        with self.connect() as cur:
            for statement in statements:
                cur.execute(statement)

    def query(self, sql: str, args: Any = None) -> list[tuple[Any, ...]]:
        with self.connect() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def version(self) -> str:
        return str(self.query("SELECT VERSION()")[0][0])

    # databases -------------------------------------------------------
    def create_database(self, database: Database) -> None:
        sql = f"CREATE DATABASE IF NOT EXISTS {quote_ident(database.name)}"
        if database.character_set:
            sql += f" CHARACTER SET {database.character_set}"
        if database.collate:
            sql += f" COLLATE {database.collate}"
        self.execute(sql)

    def delete_database(self, name: str) -> None:
        self.execute(f"DROP DATABASE IF EXISTS {quote_ident(name)}")

    def list_databases(self) -> list[Database]:
        rows = self.query("SELECT schema_name, default_character_set_name, "
                          "default_collation_name FROM information_schema.schemata "
                          "ORDER BY schema_name")
        return [Database(n, c, o) for n, c, o in rows if n not in SYSTEM_DATABASES]

    # users -----------------------------------------------------------
    def create_user(self, user: User) -> None:
        self.execute(f"CREATE USER {account(user.name, user.host)} "
                     f"IDENTIFIED BY {quote_str(user.password or '')}")
        if user.databases:
            self.grant(user.name, user.host, user.databases)

    def delete_user(self, name: str, host: str | None) -> None:
        self.execute(f"DROP USER IF EXISTS {account(name, host)}")

    def list_users(self) -> list[User]:
        rows = self.query("SELECT u.User, u.Host, d.Db FROM mysql.user u LEFT JOIN mysql.db d "
                          "ON d.User = u.User AND d.Host = u.Host ORDER BY u.User, u.Host, d.Db")
        users: dict[tuple[str, str], User] = {}
        for name, host, db in rows:
            if name in INTERNAL_USERS or not name:
                continue
            user = users.setdefault((name, host), User(name, host, None, []))
            if db and db not in SYSTEM_DATABASES and db not in user.databases:
                user.databases.append(db)
        return list(users.values())

    def list_access(self, name: str, host: str | None) -> list[str]:
        rows = self.query("SELECT DISTINCT Db FROM mysql.db WHERE User=%s AND Host=%s "
                          "ORDER BY Db", (name, host or "%"))
        return [r[0] for r in rows if r[0] not in SYSTEM_DATABASES]

    def user_exists(self, name: str, host: str | None) -> bool:
        return bool(self.query("SELECT 1 FROM mysql.user WHERE User=%s AND Host=%s",
                               (name, host or "%")))

    def update_user(self, name: str, host: str | None, new_name: str | None,
                    new_host: str | None, new_password: str | None) -> None:
        if new_password is not None:
            self.execute(f"ALTER USER {account(name, host)} "
                         f"IDENTIFIED BY {quote_str(new_password)}")
        if (new_name and new_name != name) or (new_host and new_host != (host or "%")):
            self.execute(f"RENAME USER {account(name, host)} TO "
                         f"{account(new_name or name, new_host or host)}")

    def grant(self, name: str, host: str | None, databases: list[str]) -> None:
        for db in databases:
            self.execute(f"GRANT ALL PRIVILEGES ON {quote_ident(db)}.* TO {account(name, host)}")

    def revoke(self, name: str, host: str | None, database: str) -> None:
        self.execute(f"REVOKE ALL PRIVILEGES ON {quote_ident(database)}.* "
                     f"FROM {account(name, host)}")

    # root ------------------------------------------------------------
    def enable_root(self, password: str) -> str:
        self.execute(f"CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY {quote_str(password)}",
                     f"ALTER USER 'root'@'%' IDENTIFIED BY {quote_str(password)}",
                     "GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION")
        return "root"

    def disable_root(self) -> None:
        """Like Trove 26's MySQL guest: reset the password to an unknown value (the
        account stays, so a backup taken now restores with remote root present)."""
        import secrets

        if self.user_exists("root", "%"):
            self.execute(f"ALTER USER 'root'@'%' IDENTIFIED BY "
                         f"{quote_str(secrets.token_urlsafe(24))}")

    def has_remote_root(self) -> bool:
        """Trove's MySQL guest reports root enabled after a restore when this holds."""
        return self.user_exists("root", "%")

    # configuration ---------------------------------------------------
    def apply_live(self, values: dict[str, Any]) -> None:
        """Set each value live; like Trove's guest, a refused value is logged, not fatal."""
        for key, value in values.items():
            try:
                self.execute(f"SET GLOBAL {key} = {_sql_value(byte_value(value))}")
            except pymysql.MySQLError as exc:
                LOG.warning("could not set %s to %r: %s", key, value, exc)

    def read_setting(self, name: str) -> str | None:
        rows = self.query("SHOW GLOBAL VARIABLES LIKE %s", (name,))
        return str(rows[0][1]) if rows else None

    # backup ----------------------------------------------------------
    def _account_statements(self) -> list[str]:
        statements = []
        for name, host in self.query("SELECT User, Host FROM mysql.user"):
            if name in ("os_admin", "mariadb.sys", "") or (name == "root" and host != "%"):
                continue
            if name == REPLICATION_USER:
                continue
            create = self.query(f"SHOW CREATE USER {account(name, host)}")[0][0]
            statements.append(create.replace("CREATE USER", "CREATE USER IF NOT EXISTS", 1))
            grants = self.query(f"SHOW GRANTS FOR {account(name, host)}")
            statements.extend(row[0] for row in grants)
        return statements

    def backup(self, target: Path) -> dict[str, Any]:
        databases = [d.name for d in self.list_databases()]
        dump = binaries.require("mariadb", "mariadb-dump")
        with target.open("wb") as out:
            if databases:
                result = processes.run(
                    [dump, f"--socket={self.socket}", "--user=root", "--single-transaction",
                     "--routines", "--events", "--triggers", "--gtid", "--master-data=2",
                     "--databases", *databases], timeout=600)
                if result.returncode != 0:
                    raise EngineError("mariadb-dump failed: " +
                                      result.stderr.decode(errors="replace")[-300:])
                out.write(result.stdout)
            out.write(b"\n-- trove-it accounts\n")
            for statement in self._account_statements():
                out.write(statement.encode() + b";\n")
            out.write(b"FLUSH PRIVILEGES;\n")
        return {"databases": databases, "gtid": self.replication_position().get("gtid", "")}

    def restore(self, source: Path, metadata: dict[str, Any]) -> None:
        client = binaries.require("mariadb", "mariadb")
        result = processes.run([client, f"--socket={self.socket}", "--user=root"],
                               input_data=source.read_bytes(), timeout=600)
        if result.returncode != 0:
            raise EngineError("restoring the dump failed: " +
                              result.stderr.decode(errors="replace")[-300:])

    # replication -----------------------------------------------------
    def replication_credentials(self) -> tuple[str, str]:
        password = self.replication_password()
        self.execute(
            f"CREATE USER IF NOT EXISTS {account(REPLICATION_USER, '%')} "
            f"IDENTIFIED BY {quote_str(password)}",
            f"ALTER USER {account(REPLICATION_USER, '%')} IDENTIFIED BY {quote_str(password)}",
            f"GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO "
            f"{account(REPLICATION_USER, '%')}")
        return REPLICATION_USER, password

    def replication_position(self) -> dict[str, Any]:
        rows = self.query("SELECT @@GLOBAL.gtid_binlog_pos")
        return {"gtid": str(rows[0][0] or "")}

    def seed_from(self, source: ReplicationSource, snapshot: Path | None,
                  metadata: dict[str, Any]) -> None:
        if snapshot is not None:
            self.restore(snapshot, metadata)
        gtid = source.position.get("gtid", "")
        self.execute("STOP SLAVE", "RESET SLAVE ALL", "RESET MASTER",
                     f"SET GLOBAL gtid_slave_pos = {quote_str(gtid)}")

    def follow(self, source: ReplicationSource) -> None:
        self.execute(
            "STOP SLAVE",
            f"CHANGE MASTER TO MASTER_HOST={quote_str(source.host)}, "
            f"MASTER_PORT={source.port}, MASTER_USER={quote_str(source.user)}, "
            f"MASTER_PASSWORD={quote_str(source.password)}, MASTER_USE_GTID=current_pos, "
            f"MASTER_CONNECT_RETRY=1, {self._master_tls(source)}",
            "START SLAVE")
        self.set_read_only(True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status = self.slave_status()
            if status.get("Slave_IO_Running") == "Yes" and \
                    status.get("Slave_SQL_Running") == "Yes":
                return
            if status.get("Last_IO_Errno") not in (None, 0, "0") and \
                    status.get("Last_IO_Errno") != 2003:
                raise EngineError(f"replication did not start: {status.get('Last_IO_Error')}")
            time.sleep(0.2)
        raise EngineError(f"replication did not start: {self.slave_status()}")

    def _master_tls(self, source: ReplicationSource) -> str:
        """As Trove's replication strategies: over TLS when the source serves
        the certificates this replica got, verifying them where the strategy
        does (mariadb_gtid; mysql_gtid only asks for TLS)."""
        if not source.tls or self.tls is None:
            return "MASTER_SSL=0, MASTER_SSL_VERIFY_SERVER_CERT=0"
        return f"MASTER_SSL=1, MASTER_SSL_VERIFY_SERVER_CERT={int(source.verify_tls)}"

    def slave_status(self) -> dict[str, Any]:
        with self.connect() as cur:
            cur.execute("SHOW SLAVE STATUS")
            row = cur.fetchone()
            if not row:
                return {}
            return dict(zip([c[0] for c in cur.description], row, strict=True))

    def unfollow(self) -> None:
        self.execute("STOP SLAVE", "RESET SLAVE ALL")
        self.set_read_only(False)

    def set_read_only(self, read_only: bool) -> None:
        self.execute(f"SET GLOBAL read_only = {'ON' if read_only else 'OFF'}")

    def last_transaction(self) -> str | None:
        return self.replication_position().get("gtid") or None

    def wait_for_transaction(self, txn: str, timeout: float) -> None:
        if not txn:
            return
        rows = self.query("SELECT MASTER_GTID_WAIT(%s, %s)", (txn, timeout))
        if rows and rows[0][0] == -1:
            raise EngineError(f"replica did not reach transaction {txn} within {timeout}s")

    # logs ------------------------------------------------------------
    def log_files(self) -> dict[str, Path]:
        return {name: self.ctx.log_dir / file for name, file in LOGS.items()}

    def enable_log(self, name: str, enabled: bool) -> bool:
        variable = {"general": "general_log", "slow_query": "slow_query_log"}.get(name)
        if variable is None:
            return False
        (self.enabled_logs.add if enabled else self.enabled_logs.discard)(name)
        if self.process.alive():
            self.execute(f"SET GLOBAL {variable} = {'ON' if enabled else 'OFF'}")
            if name == "slow_query" and enabled:
                self.execute("SET GLOBAL long_query_time = 0")
        return False

