"""The guest side of Trove's cluster strategies, on real engines.

Trove 26 still ships the cluster strategies (``trove/common/strategies/
cluster/experimental``) but no guest that serves them; this is that guest for
the two the local cloud forms from real processes:

- **galera_common** (mariadb, pxc): members prepare as ordinary servers and
  report ``instance ready``; the task manager then hands each one the
  rendered ``[galera]`` section, the first member bootstraps the cluster and
  the others join it through a state transfer; ``cluster_complete`` makes a
  member HEALTHY. Grow renders the section again with the new member list.
- **redis**: members start with ``cluster-enabled``; the task manager makes
  them meet the first member and hands each a range of the 16384 hash slots.
"""

from __future__ import annotations

import configparser
from typing import Any

from trove_it.localcloud.engines.base import Engine, EngineError
from trove_it.localcloud.engines.galera import GaleraSettings
from trove_it.localcloud.engines.mariadb import MariaDBEngine, quote_str
from trove_it.localcloud.engines.redis import CLUSTER_SLOTS, RedisEngine
from trove_it.localcloud.guest.vm import HEALTHY, GuestVM

PENDING = "cluster_pending"
"""The VM phase between prepare and cluster_complete (reported as instance ready)."""


def joins_cluster(vm: GuestVM, engine: Engine, cluster_config: dict[str, Any]) -> None:
    """Prepare of a cluster member, before its engine first starts."""
    vm.extra["cluster_config"] = dict(cluster_config)
    if isinstance(engine, RedisEngine):
        engine.enable_cluster()


def _galera(engine: Engine) -> MariaDBEngine:
    if not isinstance(engine, MariaDBEngine):
        raise EngineError(f"the {engine.kind} engine cannot be a Galera member")
    return engine


def _redis(engine: Engine) -> RedisEngine:
    if not isinstance(engine, RedisEngine) or not engine.cluster_enabled:
        raise EngineError("this instance is not a Redis cluster member")
    return engine


# Galera ---------------------------------------------------------------
def galera_settings(rendered: str) -> GaleraSettings:
    """What this member takes from the configuration Trove rendered for it
    (mariadb's template has a ``[galera]`` section, pxc's puts the same keys in
    ``[mysqld]``). The state-transfer method and provider path are this
    machine's own (rsync; Debian's galera-4), whatever the template names."""
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(rendered)
    found: dict[str, str] = {}
    for name in ("mysqld", "galera"):
        if parser.has_section(name):
            found.update(parser[name])

    def value(key: str) -> str:
        return str(found.get(key, "")).strip().strip('"')

    address = value("wsrep_cluster_address")
    if not address.startswith("gcomm://"):
        raise EngineError(f"no gcomm:// cluster address in the rendered section: {address!r}")
    members = tuple(a for a in address.removeprefix("gcomm://").split(",") if a)
    return GaleraSettings(cluster_name=value("wsrep_cluster_name"),
                          node_name=value("wsrep_node_name"),
                          node_address=value("wsrep_node_address"), members=members,
                          sst_auth=value("wsrep_sst_auth"))


def install_galera(vm: GuestVM, engine: Engine, replication_user: dict[str, str],
                   rendered: str, bootstrap: bool) -> None:
    member = _galera(engine)
    settings = galera_settings(rendered)
    if bootstrap:
        # The state-transfer account, made where every joiner will copy it from.
        name, password = replication_user["name"], replication_user["password"]
        account = f"{quote_str(name)}@'localhost'"
        member.execute(f"CREATE USER IF NOT EXISTS {account} IDENTIFIED BY {quote_str(password)}",
                       f"GRANT RELOAD, LOCK TABLES, PROCESS, REPLICATION CLIENT ON *.* "
                       f"TO {account}")
    member.join_galera(settings, bootstrap)
    context = vm.extra.setdefault("cluster_context", {})
    context.update({"replication_user": dict(replication_user),
                    "cluster_name": settings.cluster_name})
    status = member.galera_status()
    vm.log(f"galera: {'bootstrapped' if bootstrap else 'joined'} cluster "
           f"{settings.cluster_name} at {settings.node_address}; cluster size "
           f"{status.get('wsrep_cluster_size')}, {status.get('wsrep_local_state_comment')}")


def remember_admin_password(vm: GuestVM, password: str) -> None:
    vm.extra.setdefault("cluster_context", {})["admin_password"] = password


def galera_context(vm: GuestVM) -> dict[str, Any]:
    context = dict(vm.extra.get("cluster_context") or {})
    missing = {"replication_user", "cluster_name", "admin_password"} - set(context)
    if missing:
        raise EngineError(f"this member has no cluster context yet ({', '.join(sorted(missing))})")
    return context


def rewrite_galera_members(vm: GuestVM, engine: Engine, rendered: str) -> None:
    """The member list changed (grow, shrink): kept for the next start, as
    Trove's guest writes it to the configuration file without a restart."""
    member = _galera(engine)
    if member.galera is None:
        raise EngineError("this member has not joined a Galera cluster")
    member.galera = member.galera.with_members(galera_settings(rendered).members)
    vm.log(f"galera: members now {','.join(member.galera.members)}")


# Redis ----------------------------------------------------------------
def node_address(vm: GuestVM, engine: Engine) -> list[Any]:
    member = _redis(engine)
    return [vm.address, member.port]


def meet(vm: GuestVM, engine: Engine, host: str, port: Any) -> None:
    _redis(engine).cluster_meet(host, int(port))
    vm.log(f"redis cluster: met {host}:{port}")


def _slot(value: Any) -> int:
    """Trove's task manager divides the slots with '/', so they arrive as floats;
    a whole float is taken as the slot it names, a fraction is refused."""
    number = float(value)
    if not number.is_integer() or not 0 <= number < CLUSTER_SLOTS:
        raise EngineError(f"slot {value!r} is not a hash slot (0..{CLUSTER_SLOTS - 1}); "
                          "Trove's redis task manager computes slot ranges with true "
                          "division, which only an even split keeps whole")
    return int(number)


def add_slots(vm: GuestVM, engine: Engine, first: Any, last: Any) -> None:
    begin, end = _slot(first), _slot(last)
    _redis(engine).cluster_addslots(begin, end)
    vm.log(f"redis cluster: serving slots {begin}-{end}")


def node_id_for_removal(engine: Engine) -> str | None:
    """The node id, if the member serves no slots (Trove removes only those)."""
    member = _redis(engine)
    return None if member.cluster_own_slots() else member.cluster_node_id()


def forget(vm: GuestVM, engine: Engine, node_ids: list[str]) -> None:
    member = _redis(engine)
    own = member.cluster_node_id()
    for node_id in node_ids:
        if node_id != own:
            member.cluster_forget(node_id)
    vm.log(f"redis cluster: forgot {', '.join(node_ids)}")


# both -----------------------------------------------------------------
def complete(vm: GuestVM) -> None:
    vm.phase = "ready"
    vm.log("cluster member complete")
    vm.report(HEALTHY)
