"""The twelve datastores of the seed list: what Trove 26 offers for each, and
the definitions the scenarios use.

One declarative table, read at a glance. Capabilities are what Trove 26's
API and task manager serve for the datastore (its ``[<datastore>]`` config
group: backup and replication strategies, cluster support; users, databases
and root are gated to mysql, mariadb and postgresql by Trove itself); a
scenario marked with ``requires(...)`` is deselected for a datastore that
lacks any of them.

Trove 26 ships a guest agent only for mysql, mariadb and postgresql
(``guest_agent``). For the other nine, no Trove 26 deployment can bring an
instance to ACTIVE, so none of their capabilities is served by a real
cloud: they are **emulated**, run only on the local cloud (whose guest
stands in for the agent they lack) and are said to be emulated wherever a
run names them (``emulation``).
Definitions follow the old trove-integration helpers (databases, users,
dynamic, non-dynamic and invalid configuration values, guest log names).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# Capability names scenarios may require.
CAPABILITIES = frozenset({
    "users", "databases", "root", "root_disable", "backup", "incremental_backup",
    "configuration", "guest_log", "user_logs", "replication", "promote", "eject", "clusters",
    "cluster_configuration",
    "modules", "upgrade", "restart", "volume_resize", "flavor_resize",
})

SQL_ACCOUNTS = frozenset({"users", "databases", "root", "root_disable"})
COMMON = frozenset({"backup", "incremental_backup", "guest_log", "modules", "upgrade", "restart",
                    "volume_resize", "flavor_resize"})
REPLICATION = frozenset({"replication", "promote", "eject"})


@dataclass(frozen=True)
class UserDef:
    name: str
    password: str
    host: str | None = None
    databases: tuple[str, ...] = ()

    def body(self) -> dict[str, Any]:
        """The user as the Trove API takes it."""
        body: dict[str, Any] = {"name": self.name, "password": self.password,
                                "databases": [{"name": d} for d in self.databases]}
        if self.host:
            body["host"] = self.host
        return body

    @property
    def ref(self) -> str:
        """How the API names the user in URLs (``name@host`` when a host is set)."""
        return f"{self.name}@{self.host}" if self.host else self.name


@dataclass(frozen=True)
class DatabaseDef:
    name: str
    character_set: str | None = None
    collate: str | None = None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"name": self.name}
        if self.character_set:
            body["character_set"] = self.character_set
        if self.collate:
            body["collate"] = self.collate
        return body


@dataclass(frozen=True)
class ConfigValues:
    dynamic: Mapping[str, Any] = field(default_factory=dict)
    """Values applied live: no restart needed."""
    non_dynamic: Mapping[str, Any] = field(default_factory=dict)
    """Values that put the instance in RESTART_REQUIRED."""
    invalid: tuple[Mapping[str, Any], ...] = ()
    """Each mapping must be refused by the API."""


@dataclass(frozen=True)
class Datastore:
    name: str
    manager: str
    port: int
    capabilities: frozenset[str]
    probe: str | None
    """Which native-client probe reads and writes data ('mysql', 'postgresql', ...)."""
    flavor: str
    """Test flavor the harness registers for it (see ``provisioning.flavors``)."""
    volume_size: int = 1
    helper_database: str | None = None
    helper_user: UserDef | None = None
    root_user: str | None = None
    databases: tuple[DatabaseDef, ...] = ()
    users: tuple[UserDef, ...] = ()
    invalid_databases: tuple[dict[str, Any], ...] = ()
    invalid_users: tuple[dict[str, Any], ...] = ()
    ignore_users: tuple[str, ...] = ()
    ignore_dbs: tuple[str, ...] = ()
    config: ConfigValues = field(default_factory=ConfigValues)
    user_logs: tuple[str, ...] = ()
    """Guest logs a project user may see and toggle."""
    sys_logs: tuple[str, ...] = ("guest",)
    """Guest logs only an admin sees."""
    log_enable_requires_restart: bool = False
    cluster_members: int = 2
    """Members of the smallest cluster this suite builds (Trove's floor where it has one)."""
    cluster_floor: bool = False
    """Trove refuses a cluster with fewer than ``cluster_members`` members."""
    cluster_actions: frozenset[str] = frozenset()
    """Cluster actions Trove 26's strategy for the datastore serves (grow, shrink,
    restart, upgrade); attaching groups is the ``cluster_configuration`` capability."""
    guest_agent: bool = False
    """Trove 26 ships a guest agent for it (mysql, mariadb, postgresql); without
    one the datastore is emulated and runs only on the local cloud."""

    @property
    def emulated(self) -> bool:
        return not self.guest_agent

    def has(self, *capabilities: str) -> bool:
        return set(capabilities) <= self.capabilities

    def missing(self, *capabilities: str) -> list[str]:
        return sorted(set(capabilities) - self.capabilities)

    @property
    def hosts_users(self) -> bool:
        """MySQL-family users are ``name@host``."""
        return self.manager in ("mysql", "mariadb", "percona", "pxc")


_MYSQL_DBS = (DatabaseDef("db1", "latin2", "latin2_general_ci"), DatabaseDef("db2"),
              DatabaseDef("db3"))
_MYSQL_USERS = (UserDef("a_user1", "password1", "%"),
                UserDef("a_user2", "password1", "%", ("db1",)),
                UserDef("a_user3", "password1", "%", ("db1", "db2")))
_MYSQL_CONFIG = ConfigValues(
    dynamic={"key_buffer_size": 10485760, "join_buffer_size": 10485760},
    non_dynamic={"innodb_buffer_pool_size": 10485760, "long_query_time": 59.1},
    invalid=({"key_buffer_size": -1}, {"join_buffer_size": "string_value"}),
)
_INVALID_NAMES = ({"name": ""}, {"name": "bad;name"})
_INVALID_USERS = ({"name": "", "password": "password1"},
                  {"name": "no_password_given"},
                  {"password": "password1"})


GALERA_ACTIONS = frozenset({"grow", "shrink", "restart", "upgrade"})
# trove/guestagent/datastore/ in Trove 26: mysql, mariadb, postgres.
WITH_GUEST_AGENT = frozenset({"mysql", "mariadb", "postgresql"})


def _mysql_family(name: str, caps: frozenset[str], probe: str | None) -> Datastore:
    galera = "clusters" in caps
    if galera:  # galera_common attaches groups to clusters
        caps = caps | {"cluster_configuration"}
    return Datastore(
        name=name, manager=name, port=3306, capabilities=caps, probe=probe,
        flavor="small-7", helper_database="firstdb",
        helper_user=UserDef("lite", "litepass", "%", ("firstdb",)), root_user="root",
        databases=_MYSQL_DBS, users=_MYSQL_USERS, invalid_databases=_INVALID_NAMES,
        invalid_users=_INVALID_USERS, ignore_users=("os_admin", "root"),
        ignore_dbs=("mysql", "information_schema", "performance_schema", "sys"),
        config=_MYSQL_CONFIG, user_logs=("general", "slow_query"),
        sys_logs=("guest", "error"),
        # galera_common: <datastore>.min_cluster_member_count, 3 by default.
        cluster_members=3 if galera else 2, cluster_floor=galera,
        cluster_actions=GALERA_ACTIONS if galera else frozenset(),
        guest_agent=name in WITH_GUEST_AGENT,
    )


DATASTORES: tuple[Datastore, ...] = (
    Datastore(
        "cassandra", "cassandra", 9042,
        COMMON | {"configuration", "user_logs", "clusters", "cluster_configuration"},
        "cassandra", "large-8",
        config=ConfigValues(non_dynamic={"sstable_preemptive_open_interval_in_mb": 40},
                            invalid=({"sstable_preemptive_open_interval_in_mb": -1},
                                     {"sstable_preemptive_open_interval_in_mb": "string_value"})),
        user_logs=("system",), cluster_actions=GALERA_ACTIONS),
    Datastore("couchbase", "couchbase", 8091, COMMON, "couchbase", "large-8"),
    Datastore("couchdb", "couchdb", 5984, COMMON, "couchdb", "tiny-4"),
    Datastore(
        "db2", "db2", 50000, COMMON | {"configuration"}, None, "small-8",
        config=ConfigValues(dynamic={"MON_HEAP_SZ": 40}, non_dynamic={"NUMDB": 30},
                            invalid=({"MON_HEAP_SZ": "string_value"},))),
    _mysql_family("mariadb", SQL_ACCOUNTS | COMMON | REPLICATION | {"configuration", "user_logs",
                                                                    "clusters"},
                  "mysql"),
    Datastore(
        "mongodb", "mongodb", 27017, COMMON | {"configuration", "clusters"}, "mongodb",
        "large-8", volume_size=5,
        config=ConfigValues(non_dynamic={"systemLog.verbosity": 4},
                            invalid=({"systemLog.verbosity": -1},
                                     {"systemLog.verbosity": "string_value"})),
        cluster_members=3, cluster_floor=True, cluster_actions=frozenset({"grow", "shrink"})),
    _mysql_family("mysql", SQL_ACCOUNTS | COMMON | REPLICATION | {"configuration", "user_logs"},
                  "mysql"),
    _mysql_family("percona", COMMON | REPLICATION | {"configuration", "user_logs"}, "mysql"),
    Datastore(
        "postgresql", "postgresql", 5432,
        (SQL_ACCOUNTS | COMMON | REPLICATION | {"configuration", "user_logs"}),
        "postgresql", "medium-7", helper_database="lite",
        helper_user=UserDef("lite", "litepass", None, ("lite",)),
        # Trove 26's guest enables a superuser named root (the old helper said postgres).
        root_user="root",
        databases=(DatabaseDef("db1"), DatabaseDef("db2"), DatabaseDef("db3")),
        users=(UserDef("user1", "password1"), UserDef("user2", "password1", None, ("db1",)),
               UserDef("user3", "password1", None, ("db1", "db2"))),
        invalid_databases=_INVALID_NAMES, invalid_users=_INVALID_USERS,
        ignore_users=("os_admin", "postgres"), ignore_dbs=("os_admin", "postgres"),
        config=ConfigValues(
            dynamic={"effective_cache_size": "528MB"},
            non_dynamic={"max_connections": 113, "log_min_duration_statement": "257ms"},
            invalid=({"timezone": 997}, {"max_connections": "string_value"},
                     {"standard_conforming_strings": "string_value"})),
        user_logs=("general",), log_enable_requires_restart=True, guest_agent=True),
    _mysql_family("pxc", COMMON | REPLICATION | {"configuration", "user_logs", "clusters"},
                  "mysql"),
    Datastore(
        "redis", "redis", 6379,
        COMMON | REPLICATION | {"configuration", "clusters"}, "redis", "tiny-4",
        root_user="-",
        config=ConfigValues(dynamic={"hz": 15}, non_dynamic={"databases": 24},
                            invalid=({"hz": 600}, {"databases": -1},
                                     {"databases": "string_value"})),
        cluster_actions=frozenset({"grow", "shrink", "upgrade"})),
    Datastore(
        "vertica", "vertica", 5433,
        (COMMON - {"backup", "incremental_backup"}) | {"configuration", "clusters"}, None,
        "large-13", volume_size=5,
        config=ConfigValues(dynamic={"ActivePartitionCount": 3},
                            non_dynamic={"BlockCacheSize": 1024},
                            invalid=({"ActivePartitionCount": "string_value"},)),
        cluster_members=3, cluster_floor=True, cluster_actions=frozenset({"grow", "shrink"})),
)

BY_NAME: dict[str, Datastore] = {ds.name: ds for ds in DATASTORES}
DATASTORE_NAMES: tuple[str, ...] = tuple(sorted(BY_NAME))
AGENT_DATASTORE_NAMES: tuple[str, ...] = tuple(n for n in DATASTORE_NAMES
                                               if BY_NAME[n].guest_agent)


def get(name: str) -> Datastore:
    try:
        return BY_NAME[name]
    except KeyError:
        raise KeyError(f"unknown datastore '{name}'; choose from "
                       f"{', '.join(DATASTORE_NAMES)}") from None


# Test flavors the harness registers (trovestack's sizes): RAM MB, disk GB,
# vCPUs. Each also gets a ".resize" variant (+16 MB, +1 vCPU) and the two
# fault flavors make error-path instances fail the way they do on nova.
FLAVORS: Mapping[str, tuple[int, int, int]] = {
    "tiny-4": (768, 4, 1), "small-7": (1024, 7, 1), "small-8": (1024, 8, 1),
    "medium-7": (1536, 7, 1), "large-8": (2048, 8, 1), "large-13": (2048, 13, 1),
}
FAULT_FLAVORS: Mapping[str, tuple[int, int, int]] = {
    "fault_1-1": (1536, 1, 1),  # disk smaller than the guest image needs
    "fault_2-7": (131072, 7, 1),  # more RAM than a project's quota
}
