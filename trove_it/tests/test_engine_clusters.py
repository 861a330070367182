"""The local cloud's clusters are real: a Galera cluster of three MariaDB
servers, each on its own loopback address, and a Redis cluster serving every
hash slot. Members are formed the way the local guest forms them for Trove's
cluster strategies (the configuration Trove renders, the slot ranges its redis
task manager computes)."""

from __future__ import annotations

import functools
import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from trove_it.localcloud.engines.base import Engine, EngineContext, EngineError
from trove_it.localcloud.engines.host import engine_templates, unprivileged_user
from trove_it.probes.base import DATA_SETS, Credentials
from trove_it.probes.nosql import RedisClusterProbe
from trove_it.tests.conftest import require_engine

GALERA_ADDRESSES = ("127.94.0.1", "127.94.0.2", "127.94.0.3")
REDIS_ADDRESSES = ("127.94.1.1", "127.94.1.2", "127.94.1.3")

# What galera_common's task manager renders for a member (mariadb's template).
RENDERED = """[mysqld]
bind-address=0.0.0.0
default-storage-engine=innodb

[galera]
binlog_format=ROW
wsrep_on=ON
wsrep_provider=/usr/lib/libgalera_smm.so
wsrep_provider_options="gcache.size=128M; gcache.page_size=1G"
wsrep_sst_method=rsync
wsrep_sst_auth="clusterrepuser:{password}"
wsrep_cluster_address="gcomm://{members}"
wsrep_cluster_name=selftest{token}
wsrep_node_name=member-{index}
wsrep_node_address={address}
"""


def _members(root: Path, addresses: tuple[str, ...], make: Callable[[EngineContext], Engine]
             ) -> list[Any]:
    members = []
    for i, address in enumerate(addresses):
        (root / f"m{i}").mkdir()
        members.append(make(EngineContext(
            instance_id=f"member-{i}", root=root / f"m{i}", address=address,
            templates=engine_templates(), run_as=unprivileged_user(), server_id=10 + i)))
    return members


def _until(what: str, check: Callable[[], bool], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def test_galera_cluster_of_three_replicates_a_row(engine_root: Path) -> None:
    require_engine("mariadb")
    from trove_it.localcloud.engines import galera
    from trove_it.localcloud.engines.mariadb import MariaDBEngine
    from trove_it.localcloud.guest.cluster import galera_settings

    try:
        galera.provider()
        galera.require_sst_tools()
    except Exception as exc:  # noqa: BLE001 - the reason is the skip's message
        pytest.skip(str(exc))
    members = _members(engine_root, GALERA_ADDRESSES, MariaDBEngine)
    token, password = secrets.token_hex(3), secrets.token_hex(8)
    try:
        for index, member in enumerate(members):
            member.initialize()
            member.start()
            rendered = RENDERED.format(password=password, members=",".join(GALERA_ADDRESSES),
                                       token=token, index=index, address=member.ctx.address)
            member.join_galera(galera_settings(rendered), bootstrap=index == 0)
        for member in members:
            status = member.galera_status()
            assert status["wsrep_cluster_size"] == "3", status.get("wsrep_cluster_size")
            assert status["wsrep_local_state_comment"] == "Synced"
        members[1].execute("CREATE DATABASE replicated",
                           "CREATE TABLE replicated.t (id INT PRIMARY KEY, note TEXT)",
                           "INSERT INTO replicated.t VALUES (1, 'written on member 1')")
        def has_row(engine: Any) -> bool:
            return bool(engine.query("SELECT note FROM replicated.t WHERE id = 1") ==
                        [("written on member 1",)])

        for member in (members[0], members[2]):
            _until(f"the row on {member.ctx.address}", functools.partial(has_row, member))
        # A member restarted rejoins, and what was written meanwhile reaches it.
        members[2].restart()
        members[0].execute("INSERT INTO replicated.t VALUES (2, 'after the restart')")
        _until("the row on the restarted member", lambda: members[2].query(
            "SELECT COUNT(*) FROM replicated.t")[0][0] == 2)
        assert members[2].galera_status()["wsrep_cluster_size"] == "3"
    finally:
        for member in reversed(members):
            member.destroy()


def test_redis_cluster_covers_every_slot(engine_root: Path) -> None:
    require_engine("redis")
    from trove_it.localcloud.engines.redis import CLUSTER_SLOTS, RedisEngine
    from trove_it.localcloud.guest import cluster
    from trove_it.localcloud.guest.vm import GuestVM

    members = _members(engine_root, REDIS_ADDRESSES, RedisEngine)
    vm = GuestVM.__new__(GuestVM)  # only its log and address are used
    vm.log = lambda message: None  # type: ignore[method-assign]
    try:
        for member in members:
            member.enable_cluster()
            member.initialize()
            member.start()
        for member in members[1:]:
            member.cluster_meet(members[0].ctx.address, members[0].port)
        probe = RedisClusterProbe(members[0].ctx.address, members[0].port,
                                  Credentials(None, None))
        assert not probe.ready(), "ready for data before any slot is served"
        # Three ranges, whole numbers as the guest receives them for an even split
        # (Trove's task manager divides with '/', so they arrive as floats).
        for member, (first, last) in zip(members, ((0.0, 5460.0), (5461.0, 10922.0),
                                                   (10923.0, 16383.0)), strict=True):
            cluster.add_slots(vm, member, first, last)
        # The probe's readiness is what the clusters scenario waits on before it
        # writes: it must mean every member, not just the one it asks.
        _until("the probe to find the cluster ready", probe.ready)
        assert [m.cluster_info().get("cluster_state") for m in members] == ["ok"] * 3
        probe.add(DATA_SETS["tiny"])
        probe.verify(DATA_SETS["tiny"])
        info = members[2].cluster_info()
        assert (info["cluster_slots_assigned"], info["cluster_slots_ok"]) == \
            (str(CLUSTER_SLOTS), str(CLUSTER_SLOTS))
        assert sum(m.cluster_own_slots() for m in members) == CLUSTER_SLOTS
        assert info["cluster_known_nodes"] == "3"
    finally:
        for member in members:
            member.destroy()


def test_cluster_peers_are_read_from_cluster_nodes() -> None:
    """Redis 7 writes ``host:port@bus[,hostname]``; a member without an
    address yet (``noaddr``) is not one to ask."""
    from trove_it.probes.nosql import _cluster_peers

    nodes = ("a1 127.94.1.1:6379@16379 myself,master - 0 0 1 connected 0-5460\n"
             "b2 127.94.1.2:6379@16379,member-b master - 0 1 2 connected 5461-10922\n"
             "c3 :0@0 master,noaddr - 0 0 0 disconnected\n")
    assert _cluster_peers(nodes) == [("127.94.1.1", 6379), ("127.94.1.2", 6379)]


def test_slot_ranges_must_be_whole() -> None:
    from trove_it.localcloud.guest.cluster import _slot

    assert _slot(8191.0) == 8191 and _slot(0) == 0
    for bad in (5461.333, -1, 16384):
        with pytest.raises(EngineError, match="hash slot"):
            _slot(bad)
