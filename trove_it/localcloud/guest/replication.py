"""Replication as Trove's replication strategies drive it, on real engines.

The source takes the snapshot synchronously (it must complete the snapshot's
backup row itself) and hands out a replication account; a replica restores
the snapshot in ``prepare``, then follows its source. Promote and eject move
replicas to a new source with the context that source hands out. The shapes
of the dicts are those of Trove's MySQL strategy, which Trove's task manager
reads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trove_it.localcloud.engines.base import Engine, ReplicationSource
from trove_it.localcloud.guest.vm import GuestVM


def _strategy(manager: str) -> str:
    from trove.common import cfg

    return str(cfg.CONF.get(manager).replication_strategy or "")


def _master_ref(vm: GuestVM, engine: Engine) -> dict[str, Any]:
    return {"host": vm.address, "port": engine.port}


def _replica_conf(engine: Engine) -> dict[str, Any]:
    user, password = engine.replication_credentials()
    return {"log_position": engine.replication_position(),
            "replication_user": {"name": user, "password": password}}


def take_snapshot(vm: GuestVM, engine: Engine, snapshot_info: dict[str, Any],
                  backup: Callable[[dict[str, Any]], dict[str, Any]],
                  volume: dict[str, Any]) -> dict[str, Any]:
    """On the source: back up (unless cinder snapshots do it) and hand out the
    replication account; ``backup`` stores and reports the snapshot's backup."""
    engine.set_read_only(False)
    metadata: dict[str, Any] = {}
    if snapshot_info.get("storage_driver") != "cinder" and snapshot_info.get("id"):
        metadata = backup(snapshot_info)
    conf = _replica_conf(engine)
    conf["log_position"].update({k: v for k, v in metadata.items() if k in ("gtid", "lsn")})
    vm.log(f"replication snapshot {snapshot_info.get('id')} taken")
    return {
        "dataset": {"datastore_manager": vm.manager, "dataset_size": volume["used"],
                    "volume_size": volume["total"], "snapshot_id": snapshot_info.get("id")},
        "replication_strategy": _strategy(vm.manager),
        "master": _master_ref(vm, engine),
        "replica_conf": conf,
    }


def _source(info: dict[str, Any], restored: dict[str, Any]) -> ReplicationSource:
    conf = info.get("replica_conf") or {}
    user = conf.get("replication_user") or {}
    position = dict(conf.get("log_position") or {})
    for key in ("gtid", "lsn"):
        if restored.get(key):
            position[key] = restored[key]
    master = info["master"]
    return ReplicationSource(host=master["host"], port=int(master["port"]),
                             user=user.get("name", ""), password=user.get("password", ""),
                             position=position)


def attach_from_snapshot(vm: GuestVM, engine: Engine, snapshot: dict[str, Any],
                         inherit_tls: Callable[[], bool] = lambda: False) -> None:
    """Prepare of a new replica: the snapshot was restored; take the source's
    TLS (``inherit_tls``, after the data, which on PostgreSQL replaces the
    configuration) and follow the source, over TLS when it serves it."""
    source = _source(snapshot, vm.extra.get("restored_metadata") or {})
    engine.seed_from(source, None, vm.extra.get("restored_metadata") or {})
    source.tls = inherit_tls()
    source.verify_tls = source.tls and "mariadb" in _strategy(vm.manager).lower()
    engine.follow(source)
    vm.extra["source"] = f"{source.host}:{source.port}"
    vm.log(f"replicating from {source.host}:{source.port}")


def replica_context(vm: GuestVM, engine: Engine) -> dict[str, Any]:
    return {"master": _master_ref(vm, engine), "replica_conf": _replica_conf(engine)}


def attach(vm: GuestVM, engine: Engine, replica_info: dict[str, Any]) -> None:
    """Promote or eject: follow the (new) source named in ``replica_info``."""
    source = _source(replica_info, {})
    engine.follow(source)
    vm.extra["source"] = f"{source.host}:{source.port}"
    vm.log(f"now replicating from {source.host}:{source.port}")


def transaction_order(txn: str | None) -> int:
    """A sortable number for an engine's transaction position.

    MariaDB GTID lists ("0-1-15,1-2-3") sum their sequence numbers,
    PostgreSQL LSNs ("0/3000060") become one integer, Redis offsets are
    integers already.
    """
    if not txn:
        return 0
    if "/" in txn:
        high, low = txn.split("/", 1)
        return (int(high, 16) << 32) | int(low, 16)
    if "-" in txn:
        return sum(int(part.rsplit("-", 1)[1]) for part in txn.split(",") if "-" in part)
    return int(txn)


def last_txn(vm: GuestVM, engine: Engine) -> list[Any]:
    """[the source this replica follows, how far it got], as Trove's eject sorts them."""
    return [vm.extra.get("source", ""), transaction_order(engine.last_transaction())]
