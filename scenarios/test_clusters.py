"""Clusters: create with the fewest members Trove allows (and a configuration
group where Trove takes one), show and list, data on every member, restart,
upgrade, grow and shrink, configuration attach and detach, delete; and the
ways Trove refuses a cluster or an action on one (the old cluster and
negative cluster action groups, §3.15 and §3.16 of the catalogue).

The module shares one cluster (``formed``), built on first use: its members
are ACTIVE, its task NONE, and it holds the ``tiny`` rows written through its
first member. Tests that change it (restart, upgrade, configuration) leave
it as they found it; grow and shrink, and delete, build clusters of their
own.
On the local cloud a cluster of mariadb or pxc is a real Galera cluster of
MariaDB servers, and one of redis a real Redis cluster; other datastores have
no cluster there, and the tests that form one are deselected (``real_data``).

Steps of §3.15 and §3.16 that changed in Trove 26:
- step 8, enabling root on a cluster: Galera answers 400 ("not supported for
  cluster"), a refusal checked here; so is the root of the old verify steps;
- the nova server group (locality) of step 3 is not asked for;
- pxc serves no users, databases or root in Trove 26, so nothing can log in to
  write rows on a pxc cluster: its data checks report a skip saying so;
- redis needs no floor of members and takes no configuration group: its
  create refusal for a group is checked instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from fixtures.clusters import ClusterFactory, cluster_body, member_defs
from trove_it import accounts, deletion, waiters
from trove_it.catalogue import DatabaseDef
from trove_it.clients import CloudClients
from trove_it.expect import request
from trove_it.guest_leftovers import assert_nothing_left, hosting_of
from trove_it.instances import DatastoreUnderTest, address_of
from trove_it.probes import DATA_SETS, Probe
from trove_it.settings import Settings
from trove_it.targets.base import Target

pytestmark = pytest.mark.clusters
CLUSTERED = (pytest.mark.multi_node, pytest.mark.requires("clusters"), pytest.mark.real_data)
"""Marks of a test that forms a cluster: the local cloud forms real ones only
(mariadb and pxc on Galera, redis), so it is deselected for emulated datastores."""


def clustered(test: Callable[..., Any]) -> Callable[..., Any]:
    for mark in CLUSTERED:
        test = mark(test)
    return test


DATA = DATA_SETS["tiny"]
CLUSTER_KEYS = frozenset({"id", "name", "datastore", "instances", "links", "created", "updated",
                          "task"})
MEMBER_KEYS = frozenset({"id", "name", "links"})
MEMBER_REFUSED = "Operation not supported for instances that are part of a cluster."
SHRINK_TO_NOTHING = "Must leave at least one instance in the cluster when shrinking."
SHRINK_REFUSED = {
    # Redis removes only members that serve no hash slots, and says which it refuses.
    "redis": "Instance(s) {ids} currently in use and cannot be deleted. Details: Nodes cannot "
             "be removed. Check slots.",
}
"""Datastores whose strategy refuses shrinking every member in its own words."""
ROOT_REFUSED = {
    "mariadb": (400, "The 'enable_root' operation is not supported for cluster."),
    "redis": (400, "The 'enable_root' operation is not supported for cluster."),
    # Trove 26 serves no root at all for pxc, cluster or not.
    "pxc": (422, "Operation not supported for datastore pxc."),
}
REDIS_GROW_BUG = ("Trove 26 answers 500 to growing a redis cluster: Cluster.action calls "
                  "grow(instances, image_id) (trove/cluster/models.py) but RedisCluster.grow "
                  "takes only instances (TypeError)")
PXC_GROW_BUG = ("Trove 26 cannot grow a pxc cluster: galera_common's grow_cluster checks "
                "root with Root.load, which refuses pxc ('Operation not supported for "
                "datastore pxc'), so the new member goes to ERROR and the cluster's task "
                "stays GROWING_CLUSTER (trove/common/strategies/cluster/experimental/"
                "galera_common/taskmanager.py, _check_cluster_for_root)")


@dataclass
class Formed:
    cluster: Any
    configuration_id: str | None
    """The group the cluster was created with (None where Trove takes none)."""
    writes: bool
    """Rows were written (False where no account can log in, pxc)."""


# ----------------------------------------------------------------- helpers
def _message(answer: Any) -> str:
    return str(next(iter(answer.values()))["message"])


def _action(clients: CloudClients, cluster_id: str, body: dict[str, Any],
            expect: int = 202) -> Any:
    return request(clients, "POST", f"/clusters/{cluster_id}", body, expect=expect)


def _task(clients: CloudClients, cluster_id: str) -> str:
    shown = request(clients, "GET", f"/clusters/{cluster_id}", expect=200)["cluster"]
    return str(shown["task"]["name"])


def _members(clients: CloudClients, cluster_id: str) -> list[Any]:
    cluster = clients.trove.clusters.get(cluster_id)
    return [clients.trove.instances.get(m["id"]) for m in cluster.instances]


def _settled(member: CloudClients, cluster_id: str, operation: str, count: int) -> Any:
    """After an action: the task is NONE again and ``count`` members are ACTIVE."""
    return waiters.wait_for_cluster(member.trove, cluster_id, members=count,
                                    operation=f"cluster {operation}")


def _probe(probes: Any, instance: Any) -> Probe:
    """A member's probe, once it answers: on a sharded cluster it follows the slot
    map from there, which members agree on a moment after Trove's task ends."""
    probe: Probe = probes(instance, cluster=True)
    waiters.wait_until(f"member {instance.id} to be ready for data", probe.ready,
                       operation="cluster member", timeout=60)
    return probe


def _assert_rows_everywhere(member: CloudClients, probes: Any, datastore: DatastoreUnderTest,
                            formed: Formed, cluster_id: str) -> None:
    if not formed.writes:
        probes.unchecked(f"{datastore.name}: Trove 26 serves no users, databases or root "
                         "here, so no account could write rows on the cluster")
        return
    instances = _members(member, cluster_id)
    members = {i.id: _probe(probes, i) for i in instances}
    for instance in instances:
        found = members[instance.id].read(DATA)
        assert found == list(DATA.values), \
            f"member {instance.id} ({address_of(instance)}) reads {len(found)} of " \
            f"{DATA.size} rows"


def _other_version(member: CloudClients, datastore: DatastoreUnderTest) -> str:
    shown = request(member, "GET", f"/datastores/{datastore.name}", expect=200)["datastore"]
    others = [v["name"] for v in shown.get("versions") or [] if v["name"] != datastore.version]
    if not others:
        pytest.skip(f"{datastore.name} has one active version here; an upgrade needs two")
    return str(others[0])


def _group(member: CloudClients, datastore: DatastoreUnderTest, settings: Settings,
           module_tracker: Any, purpose: str, values: Mapping[str, Any]) -> str:
    name = settings.name(purpose)
    group = member.trove.configurations.create(
        name, json.dumps(dict(values)), datastore=datastore.name,
        datastore_version=datastore.version)
    module_tracker.add("configuration", group.id, name,
                       lambda: deletion.delete_configuration(member, group.id))
    return str(group.id)


def _needs_action(datastore: DatastoreUnderTest, action: str) -> None:
    if action not in datastore.entry.cluster_actions:
        pytest.skip(f"Trove 26's {datastore.name} cluster strategy serves no {action}")


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def formed(module_cluster_factory: ClusterFactory, member: CloudClients, settings: Settings,
           module_tracker: Any, shared_probes: Any, datastore: DatastoreUnderTest) -> Formed:
    """The module's cluster: the fewest members, the catalogue's dynamic values as
    its group where Trove takes one, and ``tiny`` written through its first member."""
    configuration_id = None
    fields: dict[str, Any] = {}
    if datastore.has("cluster_configuration") and datastore.entry.config.dynamic:
        configuration_id = _group(member, datastore, settings, module_tracker,
                                  "cluster-config", datastore.entry.config.dynamic)
        fields["configuration"] = configuration_id
    cluster = module_cluster_factory("cluster", **fields)
    return _with_rows(member, shared_probes, datastore, cluster, configuration_id)


def _with_rows(member: CloudClients, probes: Any, datastore: DatastoreUnderTest, cluster: Any,
               configuration_id: str | None = None) -> Formed:
    """Write ``tiny`` through the cluster's first member, creating the helper
    database and user there first where Trove serves accounts."""
    first = member.trove.instances.get(cluster.instances[0]["id"])
    writes = True
    if datastore.entry.helper_user is not None:
        if datastore.has("users", "databases"):
            accounts.create_databases(member, first.id,
                                      [DatabaseDef(str(datastore.entry.helper_database))])
            accounts.create_users(member, first.id, [datastore.entry.helper_user])
        else:
            writes = False
    probe = probes.optional(first) if writes else None
    if probe is not None:
        _probe(probes, first).add(DATA)
    return Formed(cluster, configuration_id, writes and probe is not None)


# ---------------------------------------------------------------- the cluster
@clustered
def test_create_show_and_list(member: CloudClients, formed: Formed,
                              datastore: DatastoreUnderTest) -> None:
    """Show has every field of the catalogue's check, task NONE, the members by
    id, link and name, and the group it was created with; the list has it."""
    shown = request(member, "GET", f"/clusters/{formed.cluster.id}", expect=200)["cluster"]
    assert CLUSTER_KEYS <= set(shown), f"show lacks {sorted(CLUSTER_KEYS - set(shown))}"
    assert shown["task"]["name"] == "NONE"
    assert shown["datastore"] == {"type": datastore.name, "version": datastore.version}
    assert isinstance(shown["links"], list) and shown["links"]
    assert len(shown["instances"]) == datastore.entry.cluster_members
    for entry in shown["instances"]:
        assert MEMBER_KEYS <= set(entry), f"member lacks {sorted(MEMBER_KEYS - set(entry))}"
    if formed.configuration_id:
        assert shown.get("configuration") == formed.configuration_id
    listed = request(member, "GET", "/clusters", expect=200)["clusters"]
    assert formed.cluster.id in {c["id"] for c in listed}
    for instance in _members(member, formed.cluster.id):
        assert instance.status == "ACTIVE"


@clustered
def test_rows_reach_every_member(member: CloudClients, formed: Formed, probes: Any,
                                 datastore: DatastoreUnderTest) -> None:
    """The rows written through the first member are read on every member."""
    _assert_rows_everywhere(member, probes, datastore, formed, formed.cluster.id)


@clustered
def test_restart(member: CloudClients, formed: Formed, probes: Any,
                 datastore: DatastoreUnderTest) -> None:
    """202, task RESTARTING_CLUSTER, then NONE with every member ACTIVE and the
    rows still on each (§3.15 step 7)."""
    _needs_action(datastore, "restart")
    count = len(formed.cluster.instances)
    _action(member, formed.cluster.id, {"restart": {}})
    assert _task(member, formed.cluster.id) in ("RESTARTING_CLUSTER", "NONE")
    _settled(member, formed.cluster.id, "restart", count)
    _assert_rows_everywhere(member, probes, datastore, formed, formed.cluster.id)


@clustered
@pytest.mark.known_bug(REDIS_GROW_BUG, datastores=("redis",))
@pytest.mark.known_bug(PXC_GROW_BUG, datastores=("pxc",))
def test_grow_and_shrink(member: CloudClients, cluster_factory: ClusterFactory, probes: Any,
                         datastore: DatastoreUnderTest) -> None:
    """Grow by one named member: 202, task GROWING_CLUSTER, then NONE with the new
    member ACTIVE and holding the rows. Shrink it away: 202, the member is gone
    and the others keep the rows (§3.15 steps 9 and 11). On a cluster of its
    own: a grow that fails leaves its cluster unusable."""
    _needs_action(datastore, "grow")
    cluster = cluster_factory("cluster-grow")
    formed = _with_rows(member, probes, datastore, cluster)
    count = len(cluster.instances)
    added = dict(member_defs(datastore, 1)[0], name=f"{cluster.name}-grown")
    _action(member, cluster.id, {"grow": [added]})
    assert _task(member, cluster.id) in ("GROWING_CLUSTER", "NONE")
    _settled(member, cluster.id, "grow", count + 1)
    new = [i for i in _members(member, cluster.id) if i.name == added["name"]]
    assert len(new) == 1, f"no member named {added['name']} after the grow"
    if formed.writes:
        assert _probe(probes, new[0]).read(DATA) == list(DATA.values), \
            "the new member does not read the cluster's rows"

    _action(member, cluster.id, {"shrink": [{"id": new[0].id}]})
    _settled(member, cluster.id, "shrink", count)
    waiters.wait_for_instance_gone(member.trove, new[0].id)
    _assert_rows_everywhere(member, probes, datastore, formed, cluster.id)


@clustered
def test_upgrade(member: CloudClients, formed: Formed, probes: Any,
                 datastore: DatastoreUnderTest) -> None:
    """202, task UPGRADING_CLUSTER, then NONE: every member reports the new
    version, and the rows are still on each; then back to the version under
    test, so the cluster keeps serving its configuration group (§3.15 step 10)."""
    _needs_action(datastore, "upgrade")
    version = _other_version(member, datastore)
    cluster_id = formed.cluster.id
    count = len(member.trove.clusters.get(cluster_id).instances)
    for target_version in (version, datastore.version):
        _action(member, cluster_id, {"upgrade": {"datastore_version": target_version}})
        assert _task(member, cluster_id) in ("UPGRADING_CLUSTER", "NONE")
        _settled(member, cluster_id, "upgrade", count)
        versions = {i.id: i.datastore["version"] for i in _members(member, cluster_id)}
        assert set(versions.values()) == {target_version}, f"member versions: {versions}"
        _assert_rows_everywhere(member, probes, datastore, formed, cluster_id)


@clustered
@pytest.mark.requires("cluster_configuration")
def test_configuration_detach_and_attach(member: CloudClients, formed: Formed, probes: Any,
                                         settings: Settings, module_tracker: Any,
                                         datastore: DatastoreUnderTest) -> None:
    """The create group's values are live on every member; detach leaves no group
    on the cluster or its members; another group's dynamic values, attached, are
    live on every member; the create group goes back on (§3.15 step 12)."""
    cluster_id = formed.cluster.id
    count = len(formed.cluster.instances)
    initial = datastore.entry.config.dynamic
    _assert_values(member, probes, cluster_id, initial, formed)

    _action(member, cluster_id, {"configuration_detach": {}})
    _settled(member, cluster_id, "configuration", count)
    shown = request(member, "GET", f"/clusters/{cluster_id}", expect=200)["cluster"]
    assert "configuration" not in shown or shown["configuration"] is None
    for instance in _members(member, cluster_id):
        assert not getattr(instance, "configuration", None), \
            f"member {instance.id} keeps {instance.configuration}"

    doubled = {k: int(v) * 2 for k, v in initial.items()}
    other = _group(member, datastore, settings, module_tracker, "cluster-config-2", doubled)
    _action(member, cluster_id, {"configuration_attach": {"configuration_id": other}})
    _settled(member, cluster_id, "configuration", count)
    shown = request(member, "GET", f"/clusters/{cluster_id}", expect=200)["cluster"]
    assert shown.get("configuration") == other
    _assert_values(member, probes, cluster_id, doubled, formed)

    _action(member, cluster_id, {"configuration_detach": {}})
    _settled(member, cluster_id, "configuration", count)
    _action(member, cluster_id, {"configuration_attach":
                                 {"configuration_id": formed.configuration_id}})
    _settled(member, cluster_id, "configuration", count)


def _assert_values(member: CloudClients, probes: Any, cluster_id: str,
                   values: Mapping[str, Any], formed: Formed) -> None:
    if not formed.writes:
        probes.unchecked("no account can log in to read the members' settings")
        return
    for instance in _members(member, cluster_id):
        probe = probes(instance)
        live = {k: probes.setting(probe, k) for k in values}
        assert {k: str(v) for k, v in values.items()} == live, \
            f"member {instance.id}: {live}"


@clustered
def test_delete_leaves_nothing(member: CloudClients, cluster_factory: ClusterFactory,
                               target: Target, datastore: DatastoreUnderTest) -> None:
    """DELETE: 202, task DELETING, then 404 for the cluster and every member, and
    (on the local cloud) no member's process, data directory or listener left
    (§3.15 steps 13 and 14)."""
    cluster = cluster_factory("cluster-delete")
    members = _members(member, cluster.id)
    hosts = {i.id: hosting_of(target, i.id) for i in members}
    request(member, "DELETE", f"/clusters/{cluster.id}", expect=202)
    assert _task(member, cluster.id) in ("DELETING", "NONE")
    waiters.wait_for_cluster_gone(member.trove, cluster.id)
    request(member, "GET", f"/clusters/{cluster.id}", expect=404)
    for instance in members:
        waiters.wait_for_instance_gone(member.trove, instance.id)
        hosting = hosts[instance.id]
        if hosting is not None:
            assert_nothing_left(hosting, instance.id, address_of(instance),
                                datastore.entry.port)


# --------------------------------------------------------------- refusals
@clustered
def test_actions_on_a_member_refused(member: CloudClients, formed: Formed) -> None:
    """Restart, resize and delete of a member instance: 501, and it stays ACTIVE."""
    member_id = formed.cluster.instances[0]["id"]
    actions: tuple[dict[str, Any], ...] = ({"restart": {}}, {"resize": {"volume": {"size": 2}}})
    for body in actions:
        answer = request(member, "POST", f"/instances/{member_id}/action", body, expect=501)
        assert _message(answer) == MEMBER_REFUSED
    answer = request(member, "DELETE", f"/instances/{member_id}", expect=501)
    assert _message(answer) == MEMBER_REFUSED
    assert member.trove.instances.get(member_id).status == "ACTIVE"


@clustered
def test_another_projects_cluster(alt: CloudClients, member: CloudClients,
                                  formed: Formed) -> None:
    """Another project's user can neither see nor act on the cluster (404)."""
    cluster_id = formed.cluster.id
    request(alt, "GET", f"/clusters/{cluster_id}", expect=404)
    assert cluster_id not in {c["id"] for c in request(alt, "GET", "/clusters",
                                                       expect=200)["clusters"]}
    _action(alt, cluster_id, {"restart": {}}, expect=404)
    request(alt, "DELETE", f"/clusters/{cluster_id}", expect=404)
    assert _task(member, cluster_id) == "NONE"


@clustered
def test_shrink_to_nothing_refused(member: CloudClients, formed: Formed,
                                   datastore: DatastoreUnderTest) -> None:
    """Removing every member is refused (400); the cluster keeps them all."""
    everyone = formed.cluster.instances
    answer = _action(member, formed.cluster.id,
                     {"shrink": [{"id": m["id"]} for m in everyone]}, expect=400)
    ids = [m["id"] for m in everyone]
    assert _message(answer) == SHRINK_REFUSED.get(datastore.name, SHRINK_TO_NOTHING).format(
        ids=ids)
    assert len(member.trove.clusters.get(formed.cluster.id).instances) == len(everyone)


@clustered
def test_root_on_a_cluster(member: CloudClients, formed: Formed,
                           datastore: DatastoreUnderTest) -> None:
    """Enabling root on a cluster is refused in Trove 26, each datastore in its
    own words (§3.15 step 8)."""
    if datastore.name not in ROOT_REFUSED:
        pytest.skip(f"what Trove 26 answers for root on a {datastore.name} cluster is not "
                    "recorded here")
    status, says = ROOT_REFUSED[datastore.name]
    answer = request(member, "POST", f"/clusters/{formed.cluster.id}/root",
                     {"password": "trove-it-root-1"}, expect=status)
    assert _message(answer) == says


@pytest.mark.requires("clusters")
def test_fewer_members_than_the_floor_refused(member: CloudClients, settings: Settings,
                                              datastore: DatastoreUnderTest) -> None:
    """Below the datastore's member floor: 400, naming the floor (§3.16 step 1)."""
    if not datastore.entry.cluster_floor:
        pytest.skip(f"Trove sets no floor of members for {datastore.name} clusters")
    count = datastore.entry.cluster_members
    body = cluster_body(datastore, settings.name("cluster-small"),
                        member_defs(datastore, count - 1))
    answer = request(member, "POST", "/clusters", body, expect=400)
    assert str(count) in _message(answer), _message(answer)


@pytest.mark.requires("clusters")
def test_mixed_members_refused(member: CloudClients, settings: Settings,
                               datastore: DatastoreUnderTest) -> None:
    """Members of different flavors, or of different volume sizes: 400 each
    (§3.16 step 2)."""
    count = datastore.entry.cluster_members
    sizes = member_defs(datastore, count)
    sizes[-1] = dict(sizes[-1], volume={"size": datastore.setup.volume_size + 1})
    answer = request(member, "POST", "/clusters",
                     cluster_body(datastore, settings.name("cluster-mixed"), sizes), expect=400)
    assert "volume" in _message(answer).lower(), _message(answer)
    other = datastore.setup.resize_flavor_id
    if not other:
        pytest.skip("no second test flavor is registered here")
    flavors = member_defs(datastore, count)
    flavors[-1] = dict(flavors[-1], flavorRef=other)
    answer = request(member, "POST", "/clusters",
                     cluster_body(datastore, settings.name("cluster-mixed"), flavors),
                     expect=400)
    assert "flavor" in _message(answer).lower(), _message(answer)


@pytest.mark.requires("clusters", "configuration")
@pytest.mark.lacks("cluster_configuration")
def test_group_on_create_refused_where_not_served(member: CloudClients, settings: Settings,
                                                   configuration_factory: Callable[..., Any],
                                                   datastore: DatastoreUnderTest) -> None:
    """A cluster strategy without configuration support (redis) refuses a create
    with a group: 400, and no cluster."""
    group = configuration_factory(dict(datastore.entry.config.dynamic), "cluster-config")
    name = settings.name("cluster-with-group")
    body = cluster_body(datastore, name, member_defs(datastore, datastore.entry.cluster_members),
                        configuration=group.id)
    answer = request(member, "POST", "/clusters", body, expect=400)
    assert _message(answer) == "Configuration groups not supported by the datastore."
    assert name not in {c["name"] for c in request(member, "GET", "/clusters",
                                                   expect=200)["clusters"]}


@pytest.mark.lacks("clusters")
def test_datastore_without_clusters_refused(member: CloudClients, settings: Settings,
                                            datastore: DatastoreUnderTest) -> None:
    """A datastore whose Trove has no cluster strategy: 501, and no cluster."""
    body = cluster_body(datastore, settings.name("cluster-unsupported"),
                        member_defs(datastore, 2))
    answer = request(member, "POST", "/clusters", body, expect=501)
    assert _message(answer) == f"Clusters not supported for {datastore.name}-{datastore.version}."
    assert settings.name("cluster-unsupported") not in {
        c["name"] for c in request(member, "GET", "/clusters", expect=200)["clusters"]}

