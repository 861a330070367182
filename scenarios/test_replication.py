"""Replication: replicas of a source with data, rows streaming to them, replicas
refusing writes, promote, eject, detach, the order deletes must take, and the
refusals (the old replication group, §3.13 of the catalogue).

The read-only checks share one topology (``topology``: a source with data and
two replicas, built on first use). Promote, eject and detach change who
follows whom, so each of those tests builds a pair of its own.

Steps of §3.13 not taken:
- 3 to 8, 15 to 17, anti-affinity: the old runner expected the replica to
  fail on a one-host devstack, which says nothing of Trove itself;
- 12 to 14, a replica seeded from an incremental backup of an existing one:
  Trove 26 takes a fresh snapshot for every replica create;
- 26, ejecting a healthy source, was a known-bug skip; here it is refused
  with Trove's heartbeat rule (``test_refusals_on_a_replica_set``);
- a replica of an unknown instance: ``test_instance_create.py::
  test_replica_of_unknown_instance``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from trove_it import waiters
from trove_it.clients import CloudClients
from trove_it.expect import request
from trove_it.instance_checks import show
from trove_it.instances import DatastoreUnderTest, initial_accounts
from trove_it.probes import DATA_SETS, Probe
from trove_it.settings import Settings
from trove_it.targets.base import LocalControl

pytestmark = [pytest.mark.replication, pytest.mark.multi_node]
needs_replication = pytest.mark.requires("replication")

SEED = DATA_SETS["small"]
"""Written on the source before its replicas exist."""
STREAMED = DATA_SETS["tiny"]
"""Written on the source after they exist: it must stream to them."""


@dataclass
class Topology:
    source: Any
    replicas: list[Any]


# ----------------------------------------------------------------- helpers
def _message(answer: Any) -> str:
    return str(next(iter(answer.values()))["message"])


def _action(clients: CloudClients, instance_id: str, action: str, expect: int) -> Any:
    return request(clients, "POST", f"/instances/{instance_id}/action", {action: {}},
                   expect=expect)


def _replica_ids(member: CloudClients, instance_id: str) -> set[str]:
    return {r["id"] for r in show(member, instance_id).get("replicas") or []}


def _source_of(member: CloudClients, instance_id: str) -> str | None:
    replica_of = show(member, instance_id).get("replica_of")
    return str(replica_of["id"]) if replica_of else None


def _wait_for_rows(probe: Probe, data: Any) -> None:
    waiters.wait_until(f"data set {data.label} to reach {probe.host}",
                       lambda: probe.read(data) == list(data.values),
                       describe=lambda: f"{len(probe.read(data))} of {data.size} rows")


def _assert_refuses_writes(probe: Probe) -> None:
    with pytest.raises(Exception) as refused:  # noqa: PT011 - each driver has its own error
        probe.add(DATA_SETS["micro"])
    text = str(refused.value).lower()
    assert "read" in text and "only" in text, f"a write to a replica failed otherwise: {text}"


def _pair(instance_factory: Callable[..., Any], shared_probes: Any,
          datastore: DatastoreUnderTest, purpose: str) -> Topology:
    """A source of this test's own with the seed data, and one replica of it."""
    databases, users = initial_accounts(datastore)
    source = instance_factory(f"{purpose}-source", databases=databases, users=users)
    probe = shared_probes.optional(source)
    if probe is not None:
        probe.add(SEED)
    replica = instance_factory(f"{purpose}-replica", replica_of=source.id)
    return Topology(source, [replica])


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def topology(module_instance_factory: Callable[..., Any], shared_probes: Any,
             datastore: DatastoreUnderTest) -> Topology:
    """A source with the seed data and two replicas, created one after the other."""
    if not datastore.has("replication"):
        pytest.skip(f"{datastore.name} does not replicate")
    pair = _pair(module_instance_factory, shared_probes, datastore, "repl")
    second = module_instance_factory("repl-replica2", replica_of=pair.source.id)
    return Topology(pair.source, [*pair.replicas, second])


# ------------------------------------------------------- the replica set
@needs_replication
def test_replicas_and_their_source_name_each_other(member: CloudClients,
                                                   topology: Topology) -> None:
    """Each replica names its source in ``replica_of``; the source lists both in
    ``replicas``; the backups Trove took to seed them are gone again (§3.13 steps
    9, 18, 42)."""
    ids = {r.id for r in topology.replicas}
    assert _replica_ids(member, topology.source.id) == ids
    for replica in topology.replicas:
        shown = show(member, replica.id)
        assert shown["replica_of"]["id"] == topology.source.id
        assert {link["rel"] for link in shown["replica_of"]["links"]} == {"self", "bookmark"}
        assert not shown.get("replicas")
    assert _source_of(member, topology.source.id) is None
    path = f"/instances/{topology.source.id}/backups"
    waiters.wait_until("the replicas' seeding backups to be deleted",
                       lambda: request(member, "GET", path, expect=200)["backups"] == [],
                       operation="backup")


@pytest.mark.real_data
@needs_replication
def test_replicas_have_the_data_and_receive_new_rows(topology: Topology, probes: Any) -> None:
    """Rows written before the replicas existed are on them; rows written on the
    source later stream to both (§3.13 steps 10, 11, 19 to 23)."""
    probes(topology.source).add(STREAMED)
    for replica in topology.replicas:
        probe = probes(replica)
        probe.verify(SEED)
        _wait_for_rows(probe, STREAMED)


@pytest.mark.real_data
@needs_replication
def test_replicas_refuse_writes(topology: Topology, probes: Any) -> None:
    """A replica is read-only to its users (§3.13 step 9: read_only)."""
    for replica in topology.replicas:
        _assert_refuses_writes(probes(replica))


@needs_replication
def test_refusals_on_a_replica_set(member: CloudClients, topology: Topology,
                                   raw_create: Any, settings: Settings,
                                   datastore: DatastoreUnderTest) -> None:
    """What Trove refuses on a replica set: a replica of a replica (401), more than
    three replicas at once (400), promoting the source or detaching it (400: not a
    replica), ejecting a replica (400: not a source) or a source whose guest is alive
    (400: it has a current heartbeat), and deleting a source that has replicas (403)
    (§3.13 steps 24 to 27)."""
    source, replica = topology.source, topology.replicas[0]
    answer = raw_create({"name": settings.name(f"{datastore.name}-repl-of-repl"),
                         "replica_of": replica.id}, expect=401)
    assert _message(answer) == f"Cannot create a replica of a replica {replica.id}"
    answer = raw_create({"name": settings.name(f"{datastore.name}-repl-many"),
                         "replica_of": source.id, "replica_count": 4}, expect=400)
    assert _message(answer) == ("Validation error: instance['replica_count'] 4 is greater "
                                "than the maximum of 3")
    answer = _action(member, source.id, "promote_to_replica_source", expect=400)
    assert _message(answer) == f"Instance {source.id} is not a replica."
    answer = request(member, "PUT", f"/instances/{source.id}",
                     {"instance": {"replica_of": None}}, expect=400)
    assert _message(answer) == f"Instance {source.id} is not a replica."
    answer = _action(member, replica.id, "eject_replica_source", expect=400)
    assert _message(answer) == f"Instance {replica.id} is not a replica source."
    answer = _action(member, source.id, "eject_replica_source", expect=400)
    assert _message(answer) == (f"Replica Source {source.id} cannot be ejected as it has a "
                                f"current heartbeat")
    answer = request(member, "DELETE", f"/instances/{source.id}", expect=403)
    assert _message(answer) == "Detach replicas before deleting replica source."
    assert _replica_ids(member, source.id) == {r.id for r in topology.replicas}


@pytest.mark.lacks("replication")
def test_replica_of_a_datastore_without_replication(raw_create: Any, instance: Any,
                                                    settings: Settings,
                                                    datastore: DatastoreUnderTest) -> None:
    """A datastore Trove has no replication strategy for refuses replicas: 400."""
    answer = raw_create({"name": settings.name(f"{datastore.name}-repl-none"),
                         "replica_of": instance.id}, expect=400)
    assert _message(answer) == \
        f"Replication is not supported for the '{datastore.name}' datastore."


# ------------------------------------------------- promote, eject, detach
@pytest.mark.real_data
@needs_replication
@pytest.mark.requires("promote")
@pytest.mark.slow
def test_promote_a_replica(member: CloudClients, instance_factory: Any, shared_probes: Any,
                           probes: Any, datastore: DatastoreUnderTest) -> None:
    """Promote (202, PROMOTE then HEALTHY): the replica becomes the source, the old
    source its replica, and rows written on the new source reach the old one
    (§3.13 steps 28 to 32)."""
    pair = _pair(instance_factory, shared_probes, datastore, "promote")
    old, new = pair.source, pair.replicas[0]
    _action(member, new.id, "promote_to_replica_source", expect=202)
    waiters.wait_for_instance(member.trove, new.id, operation="promote")
    waiters.wait_for_instance(member.trove, old.id, operation="promote")
    assert _source_of(member, new.id) is None
    assert _replica_ids(member, new.id) == {old.id}
    assert _source_of(member, old.id) == new.id
    new_probe, old_probe = probes(new), probes(old)
    new_probe.add(DATA_SETS["tiny2"])
    _wait_for_rows(old_probe, DATA_SETS["tiny2"])
    old_probe.verify(SEED)
    _assert_refuses_writes(old_probe)


@pytest.mark.real_data
@pytest.mark.fault_injection
@needs_replication
@pytest.mark.requires("eject")
@pytest.mark.slow
def test_eject_a_failed_source(member: CloudClients, instance_factory: Any,
                               shared_probes: Any, probes: Any, local_control: LocalControl,
                               datastore: DatastoreUnderTest) -> None:
    """With its source's guest dead (fault injection: its engine stops and its
    heartbeat expires), eject (202, EJECT then HEALTHY) makes the replica a source of
    its own that takes writes."""
    pair = _pair(instance_factory, shared_probes, datastore, "eject")
    source, replica = pair.source, pair.replicas[0]
    local_control.fail_guest(source.id)
    _action(member, source.id, "eject_replica_source", expect=202)
    waiters.wait_for_instance(member.trove, replica.id, operation="eject")
    assert _source_of(member, replica.id) is None
    probe = probes(replica)
    probe.verify(SEED)
    probe.add(DATA_SETS["tiny3"])
    probe.verify(DATA_SETS["tiny3"])


@pytest.mark.real_data
@needs_replication
@pytest.mark.slow
def test_detach_a_replica(member: CloudClients, instance_factory: Any, shared_probes: Any,
                          probes: Any, datastore: DatastoreUnderTest) -> None:
    """Detach (PUT replica_of null: 202, DETACH then HEALTHY): the replica keeps its
    rows, takes writes, and neither side names the other (§3.13 step 38)."""
    pair = _pair(instance_factory, shared_probes, datastore, "detach")
    source, replica = pair.source, pair.replicas[0]
    request(member, "PUT", f"/instances/{replica.id}", {"instance": {"replica_of": None}},
            expect=202)
    waiters.wait_for_instance(member.trove, replica.id, operation="detach")
    assert _source_of(member, replica.id) is None
    assert _replica_ids(member, source.id) == set()
    probe = probes(replica)
    probe.verify(SEED)
    probe.add(DATA_SETS["micro2"])
    probe.verify(DATA_SETS["micro2"])


@needs_replication
def test_delete_replicas_first(member: CloudClients, instance_factory: Any,
                               shared_probes: Any, datastore: DatastoreUnderTest) -> None:
    """A source with a replica cannot go first (403); once its replica is deleted
    (202, gone), the source deletes too (§3.13 steps 39 to 41)."""
    pair = _pair(instance_factory, shared_probes, datastore, "delete")
    source, replica = pair.source, pair.replicas[0]
    request(member, "DELETE", f"/instances/{source.id}", expect=403)
    request(member, "DELETE", f"/instances/{replica.id}", expect=202)
    waiters.wait_for_instance_gone(member.trove, replica.id)
    waiters.wait_until(f"source {source.id} to list no replica",
                       lambda: _replica_ids(member, source.id) == set())
    request(member, "DELETE", f"/instances/{source.id}", expect=202)
    waiters.wait_for_instance_gone(member.trove, source.id)
