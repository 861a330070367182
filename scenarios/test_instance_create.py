"""Instance create: the create call and its answer, an instance created with
databases, users and a configuration group, what show and list return, and
every way a create is refused (the old instance_create group and the
negative create cases of ``dbaas.api.instances``).

Each test creates what it needs, so any test runs alone. The create call is
made raw (``raw_create``), so its exact status and body are checked and
bodies troveclient would not send can be sent; whatever it creates is
cleaned up when the test ends, ERROR and BUILD instances included.

Response shapes follow the old ``CheckInstance`` rules, widened only by the
fields Trove 26 added (``operating_status``, ``access``, ``locality``,
``used_percent``, ``version_number``). Where Trove 26 answers a case
differently from the old runners, the test asserts Trove 26 and says so.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from trove_it import compute_facts, waiters
from trove_it.accounts import listed_users, wait_for_create_time_accounts
from trove_it.clients import CloudClients
from trove_it.expect import api_error, request
from trove_it.images import registry
from trove_it.instance_checks import FAULT_KEYS, assert_fault, show
from trove_it.instances import DatastoreUnderTest, initial_accounts, instance_body
from trove_it.probes import DATA_SETS, Credentials
from trove_it.settings import Settings
from trove_it.targets.base import Target
from trove_it.tracker import Tracker

pytestmark = pytest.mark.instance_create

# Fields an instance may show a project user. Anything else (the admin-only
# fields below in particular) is a leak.
BASE_KEYS = frozenset({"id", "name", "status", "operating_status", "links", "flavor",
                       "datastore", "region", "access", "volume", "ip", "addresses",
                       "hostname", "replica_of", "replicas"})
DETAIL_KEYS = BASE_KEYS | {"created", "updated", "service_status_updated", "fault",
                           "configuration", "locality", "password", "cluster_id", "shard_id"}
ADMIN_ONLY_KEYS = frozenset({"tenant_id", "server_id", "volume_id", "encrypted_rpc_messaging"})


# ----------------------------------------------------------------- helpers
def _shape_problems(view: dict[str, Any], allowed: frozenset[str], *,
                    datastore_keys: frozenset[str], volume_keys: frozenset[str]) -> list[str]:
    """Every way ``view`` departs from the response shape (§1.9 of the catalog):
    collected, not stopped at the first, like the old soft-assert blocks."""
    problems = [f"unexpected field {key!r}" for key in sorted(set(view) - allowed)]
    for key in ("id", "name", "status", "links", "flavor", "datastore"):
        if key not in view:
            problems.append(f"missing field {key!r}")
    flavor = view.get("flavor") or {}
    if set(flavor) != {"id", "links"}:
        problems.append(f"flavor has {sorted(flavor)}, not only id and links")
    datastore = view.get("datastore") or {}
    if not {"type", "version"} <= set(datastore) <= datastore_keys:
        problems.append(f"datastore has {sorted(datastore)}, allowed {sorted(datastore_keys)}")
    volume = view.get("volume")
    if volume is None:
        problems.append("no volume")
    elif "size" not in volume or not set(volume) <= volume_keys:
        problems.append(f"volume has {sorted(volume)}, allowed {sorted(volume_keys)}")
    for where, links in (("instance", view.get("links")), ("flavor", flavor.get("links"))):
        problems += _link_problems(where, links)
    if "fault" in view and set(view["fault"]) != FAULT_KEYS:
        problems.append(f"fault has {sorted(view['fault'])}, not {sorted(FAULT_KEYS)}")
    return problems


def _link_problems(where: str, links: Any) -> list[str]:
    if not links:
        return [f"{where} has no links"]
    problems = [f"{where} link {link} is not just href and rel" for link in links
                if set(link) != {"href", "rel"} or not link["href"]]
    if "self" not in {link.get("rel") for link in links}:
        problems.append(f"{where} has no self link")
    return problems


def _assert_shape(view: dict[str, Any], allowed: frozenset[str], *,
                  datastore_keys: frozenset[str] = frozenset({"type", "version",
                                                              "version_number"}),
                  volume_keys: frozenset[str] = frozenset({"size"})) -> None:
    problems = _shape_problems(view, allowed, datastore_keys=datastore_keys,
                               volume_keys=volume_keys)
    assert not problems, f"instance {view.get('id')}: " + "; ".join(problems)


def _message(answer: Any) -> str:
    """The message of a Trove error body ({"badRequest": {"message": ...}})."""
    if isinstance(answer, dict) and len(answer) == 1:
        inner = next(iter(answer.values()))
        if isinstance(inner, dict):
            return str(inner.get("message", ""))
    return str(answer)


def _wait_healthy(member: CloudClients, instance_id: str, target: Target) -> Any:
    admin = target.clients_or_none("admin")
    return waiters.wait_for_instance(member.trove, instance_id,
                                     trove_admin=admin.trove if admin else None)


# ---------------------------------------------------------- the create call
def test_create_response(raw_create: Any, member: CloudClients, target: Target,
                         probes: Any, datastore: DatastoreUnderTest,
                         settings: Settings) -> None:
    """POST /instances answers 200 with the instance in BUILD, in the documented
    shape and with what was asked for; it then becomes ACTIVE/HEALTHY with the
    helper database and user, and without a configuration group (§3.1 steps 1
    and 4)."""
    databases, users = initial_accounts(datastore)
    zone = datastore.setup.availability_zone or next(
        z.name for z in member.conn.compute.availability_zones())
    body = instance_body(datastore, settings.name(f"{datastore.name}-create"),
                         databases=databases, users=users, availability_zone=zone,
                         locality="affinity")
    created = raw_create(body)["instance"]
    _assert_shape(created, DETAIL_KEYS)
    assert created["status"] == "BUILD"
    assert created["name"] == body["name"]
    assert str(created["flavor"]["id"]) == str(datastore.setup.flavor_id)
    assert created["datastore"]["type"] == datastore.name
    assert created["datastore"]["version"] == datastore.version
    assert created["volume"]["size"] == datastore.setup.volume_size
    assert created.get("locality") == "affinity"
    assert "configuration" not in created

    ready = _wait_healthy(member, created["id"], target)
    shown = show(member, created["id"])
    assert "configuration" not in shown
    assert shown["locality"] == "affinity"
    assert "fault" not in shown, f"a healthy new instance shows a fault: {shown['fault']}"
    if datastore.has("databases", "users"):
        wait_for_create_time_accounts(member, ready.id, databases, users)
    probe = probes.optional(ready)
    if probe is not None:
        assert probe.ping(), f"the helper account cannot log in to {datastore.name}"


@pytest.mark.requires("configuration")
@pytest.mark.slow
def test_create_initialized_instance(raw_create: Any, configuration_factory: Any,
                                     member: CloudClients, target: Target, probes: Any,
                                     datastore: DatastoreUnderTest,
                                     settings: Settings) -> None:
    """Created with a configuration group (and, where the datastore has them, the
    catalogue's databases and users): all of it is there through the API and in
    the engine, and data can be written; then the instance and the group delete
    with 202 (§3.1 steps 2, 3, 5 to 10)."""
    config = datastore.entry.config
    values = dict(config.dynamic or config.non_dynamic)
    group = configuration_factory(values, purpose=f"{datastore.name}-create-config",
                                  description="Configuration group used by create tests.")
    databases, users = initial_accounts(datastore)
    if datastore.has("databases", "users"):
        databases += [d.body() for d in datastore.entry.databases]
        users += [u.body() for u in datastore.entry.users]
    body = instance_body(datastore, settings.name(f"{datastore.name}-create-init"),
                         databases=databases, users=users, configuration=group.id)
    created = raw_create(body)["instance"]
    _assert_shape(created, DETAIL_KEYS)
    assert created["status"] == "BUILD"
    assert created["configuration"]["id"] == group.id

    ready = _wait_healthy(member, created["id"], target)
    shown = show(member, ready.id)
    assert shown["configuration"]["id"] == group.id
    assert shown["configuration"]["name"] == group.name
    assert not _link_problems("configuration", shown["configuration"].get("links"))
    attached = {i.id for i in member.trove.configurations.instances(group.id)}
    assert ready.id in attached

    if datastore.has("databases", "users"):
        # Trove's guest reports ACTIVE first, then creates these.
        wait_for_create_time_accounts(member, ready.id, databases, users)
        listed = listed_users(member, ready.id)
        for user in users:
            assert user["name"] in listed, f"user {user['name']} is not listed"
            granted = {d["name"] for d in user["databases"]}
            assert set(listed[user["name"]]) == granted, \
                f"user {user['name']} has {sorted(listed[user['name']])}, not {sorted(granted)}"

    probe = probes.optional(ready)
    if probe is not None:
        for key, value in values.items():
            live = probes.setting(probe, key)
            if live is not None:
                assert live == str(value), f"{key} is {live} in the engine, not {value}"
        for defined in datastore.entry.users if datastore.has("users") else ():
            account = Credentials(defined.name, defined.password, None)
            assert probes.logs_in(ready, account), f"user {defined.name} cannot log in"
        probe.add(DATA_SETS["small"])
        probe.verify(DATA_SETS["small"])

    request(member, "DELETE", f"/instances/{ready.id}", expect=202)
    waiters.wait_for_instance_gone(member.trove, ready.id)
    request(member, "DELETE", f"/configurations/{group.id}", expect=202)


# ----------------------------------------------------------- show and list
def test_show_fields(member: CloudClients, instance: Any, datastore: DatastoreUnderTest,
                     settings: Settings) -> None:
    """GET shows the running instance in the documented shape (volume with its
    usage), with what it was created with and without the admin-only fields."""
    shown = show(member, instance.id)
    _assert_shape(shown, DETAIL_KEYS, volume_keys=frozenset({"size", "used", "used_percent"}))
    assert not ADMIN_ONLY_KEYS & set(shown), \
        f"a project user sees {sorted(ADMIN_ONLY_KEYS & set(shown))}"
    assert (shown["status"], shown["operating_status"]) == ("ACTIVE", "HEALTHY")
    assert shown["datastore"]["type"] == datastore.name
    assert shown["datastore"]["version"] == datastore.version
    if not settings.reuse_instance:
        assert str(shown["flavor"]["id"]) == str(datastore.setup.flavor_id)
        assert shown["volume"]["size"] == datastore.setup.volume_size
    addresses = shown.get("addresses") or []
    assert addresses, "a running instance shows no addresses"
    assert sorted(shown["ip"]) == sorted(a["address"] for a in addresses)


def test_show_fields_for_admin(admin: CloudClients, member: CloudClients,
                               instance: Any, datastore: DatastoreUnderTest) -> None:
    """An admin sees the same instance plus its project, server and volume; the
    server boots the image the datastore version names (the one ``--image``
    registered, when given)."""
    shown = show(admin, instance.id)
    assert ADMIN_ONLY_KEYS <= set(shown), f"admin view lacks {ADMIN_ONLY_KEYS - set(shown)}"
    assert shown["tenant_id"] == member.project_id
    assert shown["server_id"] and shown["volume_id"]
    assert shown["id"] == instance.id
    version = registry.find_version(admin, datastore.name, datastore.version)
    assert version is not None, f"{datastore.name} {datastore.version} is not registered"
    server = admin.conn.compute.get_server(shown["server_id"])
    booted = compute_facts.booted_image(admin, server)
    assert booted, f"server {server.id} shows no image, nor a bootable volume made from one"
    if version.get("image"):
        assert booted == version["image"], \
            f"server {server.id} boots {booted}, not the version's image {version['image']}"
    else:
        tags = set(admin.conn.image.get_image(booted).tags or ())
        assert set(version.get("image_tags") or ()) <= tags, \
            f"server {server.id} boots {booted}, without the version's image tags"


def test_list_fields(member: CloudClients, instance: Any,
                     datastore: DatastoreUnderTest) -> None:
    """The instance list and the detailed list show the instance in their shapes:
    the list without timestamps or the version number (old test_index_list and
    test_detailed_list)."""
    listed = {i["id"]: i for i in request(member, "GET", "/instances", expect=200)["instances"]}
    assert instance.id in listed
    _assert_shape(listed[instance.id], BASE_KEYS, datastore_keys=frozenset({"type", "version"}))
    assert listed[instance.id]["datastore"]["type"] == datastore.name

    detailed = {i["id"]: i for i in
                request(member, "GET", "/instances/detail", expect=200)["instances"]}
    assert instance.id in detailed
    _assert_shape(detailed[instance.id], DETAIL_KEYS,
                  volume_keys=frozenset({"size", "used", "used_percent"}))
    assert "created" in detailed[instance.id]


def test_other_project_cannot_see_instance(alt: CloudClients, member: CloudClients,
                                           instance: Any) -> None:
    """Another project's user gets 404 for the instance and never sees it listed
    (old test_instance_not_shown_to_other_user)."""
    request(alt, "GET", f"/instances/{instance.id}", expect=404)
    for path in ("/instances", "/instances/detail"):
        assert instance.id not in {i["id"] for i in request(alt, "GET", path,
                                                            expect=200)["instances"]}
    assert instance.id in {i.id for i in member.trove.instances.list()}


def test_show_unknown_instance(member: CloudClients) -> None:
    """An id that names no instance is 404 (old test_get_legacy_status_notfound)."""
    request(member, "GET", f"/instances/{uuid.uuid4()}", expect=404)
    request(member, "GET", "/instances/-2", expect=404)


# ------------------------------------------------------- refused creates
@dataclass(frozen=True)
class Refusal:
    """A create the API must refuse: how to break a valid body, and the answer."""

    id: str
    change: Callable[[dict[str, Any]], None]
    status: int
    says: str


def _set(key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.__setitem__(key, value)


def _drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda body: body.pop(key)


def _datastore(**fields: str) -> Callable[[dict[str, Any]], None]:
    return lambda body: body["datastore"].update(fields)


NET_A, NET_B = "7d0e8a3c-0c2b-4f4e-9a53-4b8e1b1f0a01", "7d0e8a3c-0c2b-4f4e-9a53-4b8e1b1f0a02"
NO_SUCH_ID = "7d0e8a3c-0c2b-4f4e-9a53-4b8e1b1f0aff"

REFUSALS = (
    # Trove 26 maps an unknown flavor to 400 (FlavorNotFound), not 404.
    Refusal("flavor-unknown", _set("flavorRef", "trove-it-no-such-flavor"), 400,
            "cannot be found"),
    Refusal("flavor-empty", _set("flavorRef", ""), 400, "flavorRef"),
    Refusal("flavor-missing", _drop("flavorRef"), 400, "Resource None cannot be found"),
    Refusal("volume-size-zero", _set("volume", {"size": 0}), 400,
            "0 is less than the minimum of 1"),
    Refusal("volume-size-negative", _set("volume", {"size": -1}), 400,
            "-1 is less than the minimum of 1"),
    Refusal("volume-size-text", _set("volume", {"size": "abc"}), 400, "'abc'"),
    Refusal("volume-size-null", _set("volume", {"size": None}), 400, "None"),
    Refusal("volume-empty", _set("volume", {}), 400, "'size' is a required property"),
    Refusal("volume-missing", _drop("volume"), 400, "Volume size was not specified"),
    Refusal("datastore-unknown", _datastore(type="trove-it-no-such-datastore"), 404,
            "Datastore 'trove-it-no-such-datastore' cannot be found"),
    # Trove 26 answers 400 for an unknown version (the old test took 404 or 400).
    Refusal("datastore-version-unknown", _datastore(version="trove-it-no-such-version"), 400,
            "Datastore version 'trove-it-no-such-version' cannot be found"),
    Refusal("name-empty", _set("name", ""), 400, "should be non-empty"),
    Refusal("name-spaces", _set("name", "      "), 400, "does not match"),
    Refusal("name-missing", _drop("name"), 400, "'name' is a required property"),
    Refusal("name-too-long", _set("name", "n" * 256), 400, "is too long"),
    Refusal("nic-invalid-net-id", _set("nics", [{"net-id": "1234"}]), 400, "'1234'"),
    Refusal("nic-multiple-net-ids", _set("nics", [{"net-id": NET_A}, {"net-id": NET_B}]), 400,
            "is too long"),
    # Trove 26 takes no port-id at all: refused by its schema (400, as before).
    Refusal("nic-port-id", _set("nics", [{"port-id": "1234"}]), 400, "'port-id' was unexpected"),
    Refusal("nic-without-network", _set("nics", [{}]), 400,
            "network or subnet needs to be specified"),
    Refusal("nic-ip-without-subnet", _set("nics", [{"net-id": NET_A, "ip_address": "10.0.0.4"}]),
            400, "subnet needs to be specified"),
    Refusal("availability-zone-empty", _set("availability_zone", ""), 400,
            "should be non-empty"),
    Refusal("locality-invalid", _set("locality", "trove-it-nonsense"), 400, "Invalid locality"),
    Refusal("configuration-unknown", _set("configuration", NO_SUCH_ID), 404,
            f"Configuration group with ID {NO_SUCH_ID} could not be found"),
    Refusal("restore-point-unknown", _set("restorePoint", {"backupRef": NO_SUCH_ID}), 404,
            f"{NO_SUCH_ID} cannot be found"),
    Refusal("replica-count-without-source", _set("replica_count", 2), 400,
            "Replica count only valid when creating replicas"),
    Refusal("replica-with-flavor", _set("replica_of", NO_SUCH_ID), 400,
            "Cannot specify flavor when creating replicas"),
    Refusal("database-name-empty", _set("databases", [{"name": ""}]), 400,
            "should be non-empty"),
    Refusal("user-without-password", _set("users", [{"name": "trove_it_nopass"}]), 400,
            "'password' is a required property"),
)


@pytest.mark.parametrize("case", REFUSALS, ids=[case.id for case in REFUSALS])
def test_create_refused(case: Refusal, raw_create: Any, datastore: DatastoreUnderTest,
                        settings: Settings) -> None:
    """A create with one thing wrong is refused with the exact status and a message
    that says what (Appendix A: quota and size checks, bad names, nics, flavors,
    datastores and versions), and nothing is created."""
    body = instance_body(datastore, settings.name(f"{datastore.name}-refused"))
    case.change(body)
    answer = raw_create(body, expect=case.status)
    assert case.says in _message(answer), f"{case.id}: {_message(answer)[:300]}"


def test_replica_of_unknown_instance(raw_create: Any, settings: Settings,
                                     datastore: DatastoreUnderTest) -> None:
    """A replica of an instance that does not exist is 404."""
    body = {"name": settings.name(f"{datastore.name}-refused"), "replica_of": NO_SUCH_ID}
    answer = raw_create(body, expect=404)
    assert NO_SUCH_ID in _message(answer)


def test_volume_over_the_limit(raw_create: Any, datastore: DatastoreUnderTest,
                               settings: Settings) -> None:
    """A volume over Trove's max_accepted_volume_size is 413 and the message names
    the limit; one GB over that limit is refused too (old
    test_instance_size_too_big)."""
    body = instance_body(datastore, settings.name(f"{datastore.name}-refused"),
                         volume={"size": 100000})
    message = _message(raw_create(body, expect=413))
    found = re.search(r"cannot exceed maximum of (\d+) GB", message)
    assert found, message
    body["volume"] = {"size": int(found.group(1)) + 1}
    raw_create(body, expect=413)


def _limit_quota(admin: CloudClients, tracker: Tracker, project: str, **limits: int) -> None:
    """Set the project's quota limits; the old limits come back when the test ends."""
    before = {q.resource: q.limit for q in admin.trove.quota.show(project)}
    restore = {key: before[key] for key in limits}
    tracker.add("quota", project, f"quota limits {restore}",
                lambda: admin.trove.quota.update(project, restore))
    assert admin.trove.quota.update(project, limits) == limits
    shown = {q.resource: q.limit for q in admin.trove.quota.show(project)}
    assert {key: shown[key] for key in limits} == limits


def test_instance_quota_exceeded(exclusive_quota: None, admin: CloudClients,
                                 alt: CloudClients, raw_create: Any, tracker: Tracker,
                                 datastore: DatastoreUnderTest, settings: Settings) -> None:
    """With an instance quota of 0 a create is 413 (old test_create_too_many_instances).
    The second project takes the quota change, so the owner's tests are unaffected."""
    _limit_quota(admin, tracker, alt.project_id, instances=0)
    body = instance_body(datastore, settings.name(f"{datastore.name}-over-quota"))
    answer = raw_create(body, expect=413, clients=alt)
    assert "instances" in _message(answer)


def test_volume_quota_exceeded(exclusive_quota: None, admin: CloudClients,
                               alt: CloudClients, raw_create: Any, tracker: Tracker,
                               datastore: DatastoreUnderTest, settings: Settings) -> None:
    """With a volume quota of 3 GB a 4 GB volume is 413 (old
    test_create_instances_total_volume_exceeded)."""
    _limit_quota(admin, tracker, alt.project_id, volumes=3)
    body = instance_body(datastore, settings.name(f"{datastore.name}-over-quota"),
                         volume={"size": 4})
    answer = raw_create(body, expect=413, clients=alt)
    assert "volumes" in _message(answer)


def test_quota_of_unknown_resource(admin: CloudClients, alt: CloudClients) -> None:
    """Setting a quota on a resource Trove does not know is 404."""
    error = api_error(404, admin.trove.quota.update, alt.project_id,
                      {"trove_it_no_such_resource": 100})
    assert "trove_it_no_such_resource" in str(error)


# ------------------------------------------- accepted, then failing builds
@dataclass(frozen=True)
class BadBuild:
    """A create Trove accepts (200) whose build then fails with a fault."""

    id: str
    change: Callable[[dict[str, Any], DatastoreUnderTest], None]
    says: tuple[str, ...]


def _bad_zone(body: dict[str, Any], datastore: DatastoreUnderTest) -> None:
    body["availability_zone"] = "TROVE_IT_BAD_ZONE"


def _unknown_network(body: dict[str, Any], datastore: DatastoreUnderTest) -> None:
    body["nics"] = [{"net-id": NO_SUCH_ID}]


def _unknown_volume_type(body: dict[str, Any], datastore: DatastoreUnderTest) -> None:
    body["volume"] = {"size": datastore.setup.volume_size, "type": "trove-it-no-such-type"}


BAD_BUILDS = (
    # Nova refuses the zone when the task manager boots the server.
    BadBuild("availability-zone-unknown", _bad_zone,
             ("Failed to create server for instance", "availability zone")),
    # Trove 26 only checks a well-formed network id for overlaps, not that it
    # exists: the create is accepted and the port creation fails.
    BadBuild("network-unknown", _unknown_network,
             ("Failed to create User port for instance", NO_SUCH_ID)),
    # A volume type is checked only against the types bound to the datastore
    # version; Cinder then refuses it.
    BadBuild("volume-type-unknown", _unknown_volume_type,
             ("Failed to create volume for instance", "trove-it-no-such-type")),
)


@pytest.mark.parametrize("case", BAD_BUILDS, ids=[case.id for case in BAD_BUILDS])
def test_create_accepted_then_fails(case: BadBuild, raw_create: Any, member: CloudClients,
                                    admin: CloudClients, datastore: DatastoreUnderTest,
                                    settings: Settings) -> None:
    """Creates the API cannot judge (old test_create_with_bad_availability_zone and
    friends): 200 and BUILD, then ERROR with a fault that says why; the owner sees
    the message only, an admin the details too."""
    body = instance_body(datastore, settings.name(f"{datastore.name}-{case.id}"))
    case.change(body, datastore)
    created = raw_create(body)["instance"]
    assert created["status"] == "BUILD"
    waiters.wait_for_instance_error(member.trove, created["id"])
    assert_fault(member, admin, created["id"], *case.says)
