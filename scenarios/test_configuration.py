"""Configuration groups: create, list, show, update and replace; attach and detach
with the values checked in the engine; the restart a non-dynamic value needs;
the parameters each version validates against; and every way a group is
refused (the old configuration group, §3.6 of the catalogue).

The module shares two groups made from the catalogue (dynamic values only,
and values one of which needs a restart) and an instance of its own to
attach them to, all built on first use. Values are read back with the
native client (``SHOW GLOBAL VARIABLES``, ``SHOW``), compared as numbers
where both sides are numbers.

Steps of §3.6 covered elsewhere or changed in Trove 26:
- step 33 to 37, an instance created with a group: ``test_instance_create.py::
  test_create_initialized_instance`` (values checked in the engine there);
- step 21, attaching the same group again, answers 400 "already has a
  Configuration Group attached" in Trove 26 (the old runner said 400 too, and
  noted it should be 422);
- step 11 re-tested the dynamic group for lack of its own id (a bug in the old
  runner): here another project's user is refused both groups.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from trove_it import catalogue, deletion, waiters
from trove_it.clients import CloudClients
from trove_it.expect import request
from trove_it.instance_checks import show
from trove_it.instances import DatastoreUnderTest, initial_accounts
from trove_it.settings import Settings
from trove_it.tracker import Tracker

pytestmark = [pytest.mark.configuration, pytest.mark.requires("configuration")]

LIST_KEYS = frozenset({"id", "name", "description", "created", "updated",
                       "datastore_version_id", "datastore_name", "datastore_version_name"})
SHOW_KEYS = LIST_KEYS | {"values", "instance_count", "datastore_version_number"}
PARAMETER_KEYS = frozenset({"name", "datastore_version_id", "restart_required", "type"})
PYTHON_TYPES: dict[str, type] = {"integer": int, "string": str, "boolean": bool, "float": float}
RESTART_REQUIRED = "RESTART_REQUIRED"


# ----------------------------------------------------------------- helpers
def _message(answer: Any) -> str:
    return str(next(iter(answer.values()))["message"])


def _not_found(group_id: str) -> str:
    return f"Configuration group with ID {group_id} could not be found."


def _create(member: CloudClients, datastore: DatastoreUnderTest, name: str,
            values: dict[str, Any], expect: int = 200, description: str = "trove-it") -> Any:
    body = {"configuration": {"name": name, "description": description, "values": values,
                              "datastore": {"type": datastore.name,
                                            "version": datastore.version}}}
    answer = request(member, "POST", "/configurations", body, expect=expect)
    return answer["configuration"] if expect == 200 else answer


def _shown(member: CloudClients, group_id: str) -> dict[str, Any]:
    return dict(request(member, "GET", f"/configurations/{group_id}",
                        expect=200)["configuration"])


def _parameters(member: CloudClients, datastore: DatastoreUnderTest) -> dict[str, Any]:
    path = f"/datastores/{datastore.name}/versions/{datastore.version}/parameters"
    listed = request(member, "GET", path, expect=200)["configuration-parameters"]
    return {p["name"]: p for p in listed}


def _same(live: str | None, wanted: Any) -> bool:
    """The engine's value and the group's: as numbers when both are numbers."""
    if live is None:
        return False
    try:
        return float(live) == float(wanted)
    except (TypeError, ValueError):
        return str(live) == str(wanted)


def _attach(member: CloudClients, instance_id: str, group_id: str | None) -> None:
    request(member, "PUT", f"/instances/{instance_id}",
            {"instance": {"configuration": group_id}}, expect=202)


def _wait_status(member: CloudClients, instance_id: str, status: str) -> Any:
    """Wait for ACTIVE/HEALTHY, or for RESTART_REQUIRED (no operating status)."""
    if status == RESTART_REQUIRED:
        return waiters.wait_for_instance(member.trove, instance_id, status=RESTART_REQUIRED,
                                         operating_status=None, operation="configuration")
    return waiters.wait_for_instance(member.trove, instance_id, operation="configuration")


def _restart(member: CloudClients, instance_id: str) -> None:
    request(member, "POST", f"/instances/{instance_id}/action", {"restart": {}}, expect=202)
    waiters.wait_for_instance(member.trove, instance_id, operation="restart")


def _assert_values_live(probes: Any, instance: Any, values: dict[str, Any]) -> None:
    probe = probes.optional(instance)
    if probe is None:
        return
    for key, wanted in values.items():
        live = probes.setting(probe, key)
        if live is not None:
            assert _same(live, wanted), f"{key} is {live} in the engine, not {wanted}"


def _group_fixture(kind: str) -> Callable[..., Iterator[Any]]:
    def group(member: CloudClients, module_tracker: Tracker, settings: Settings,
              datastore: DatastoreUnderTest) -> Iterator[Any]:
        values = dict(getattr(datastore.entry.config, kind))
        if not values:
            pytest.skip(f"the catalogue has no {kind.replace('_', '-')} values for "
                        f"{datastore.name}")
        name = settings.name(f"{datastore.name}-config-{kind}")
        created = _create(member, datastore, name, values,
                          description=f"{kind.replace('_', '-')} values of the catalogue")
        module_tracker.add("configuration", created["id"], name,
                           lambda: deletion.delete_configuration(member, created["id"]))
        yield created

    return group


dynamic_group = pytest.fixture(scope="module", name="dynamic_group")(_group_fixture("dynamic"))
non_dynamic_group = pytest.fixture(scope="module", name="non_dynamic_group")(
    _group_fixture("non_dynamic"))


@pytest.fixture(scope="module")
def configured(module_instance_factory: Callable[..., Any],
               datastore: DatastoreUnderTest) -> Any:
    """An instance of the module's own to attach groups to."""
    databases, users = initial_accounts(datastore)
    return module_instance_factory("config-target", databases=databases, users=users)


@pytest.fixture
def detached(member: CloudClients, configured: Any) -> Iterator[Any]:
    """``configured`` with no group attached, before and after the test."""
    yield configured
    if show(member, configured.id).get("configuration"):
        _attach(member, configured.id, None)
    if show(member, configured.id)["status"] == RESTART_REQUIRED:
        _restart(member, configured.id)
    _wait_status(member, configured.id, "ACTIVE")


# ------------------------------------------------------ create, list, show
def test_create_group_answer(member: CloudClients, tracker: Tracker, settings: Settings,
                             datastore: DatastoreUnderTest) -> None:
    """POST /configurations answers 200 with the group as asked for, in the
    documented shape (§3.6 step 5)."""
    values = dict(datastore.entry.config.dynamic or datastore.entry.config.non_dynamic)
    name = settings.name(f"{datastore.name}-config-create")
    created = _create(member, datastore, name, values, description="trove-it create")
    tracker.add("configuration", created["id"], name,
                lambda: deletion.delete_configuration(member, created["id"]))
    assert set(created) == SHOW_KEYS, f"fields {sorted(created)}"
    assert (created["name"], created["description"]) == (name, "trove-it create")
    assert created["values"] == values
    assert (created["datastore_name"], created["datastore_version_name"]) == \
        (datastore.name, datastore.version)
    assert created["datastore_version_id"] == datastore.setup.version_id
    assert created["instance_count"] == 0


def test_list_and_show_groups(member: CloudClients, dynamic_group: Any,
                              non_dynamic_group: Any, datastore: DatastoreUnderTest) -> None:
    """Both groups are listed (list fields) and show their values typed as the
    version's parameters say, with timestamps and an instance count (§3.6 steps 7
    to 9)."""
    listed = {g["id"]: g for g in
              request(member, "GET", "/configurations", expect=200)["configurations"]}
    parameters = _parameters(member, datastore)
    for group in (dynamic_group, non_dynamic_group):
        assert group["id"] in listed, f"group {group['name']} is not listed"
        assert set(listed[group["id"]]) == LIST_KEYS
        shown = _shown(member, group["id"])
        assert set(shown) == SHOW_KEYS
        assert (shown["id"], shown["name"]) == (group["id"], group["name"])
        for stamp in ("created", "updated"):
            datetime.datetime.strptime(shown[stamp], "%Y-%m-%dT%H:%M:%S")
        assert isinstance(shown["instance_count"], int)
        for key, value in shown["values"].items():
            wanted = PYTHON_TYPES[parameters[key]["type"]]
            assert isinstance(value, wanted), f"{key}={value!r} is not {wanted.__name__}"


# ------------------------------------------------- update and replace
def test_patch_merges_and_put_replaces_values(member: CloudClients, tracker: Tracker,
                                              settings: Settings,
                                              datastore: DatastoreUnderTest) -> None:
    """PATCH merges values into the group (200, no body); PUT replaces them and the
    name and description (202)."""
    config = datastore.entry.config
    first, *rest = list({**config.dynamic, **config.non_dynamic}.items())
    if not rest:
        pytest.skip(f"the catalogue has one configuration value for {datastore.name}")
    name = settings.name(f"{datastore.name}-config-edit")
    group = _create(member, datastore, name, dict([first]))
    tracker.add("configuration", group["id"], name,
                lambda: deletion.delete_configuration(member, group["id"]))
    path = f"/configurations/{group['id']}"
    assert request(member, "PATCH", path, {"configuration": {"values": dict(rest)}},
                   expect=200) is None
    assert _shown(member, group["id"])["values"] == dict([first, *rest])
    replaced = {"name": f"{name}-replaced", "description": "replaced", "values": dict(rest)}
    request(member, "PUT", path, {"configuration": replaced}, expect=202)
    shown = _shown(member, group["id"])
    assert (shown["name"], shown["description"], shown["values"]) == \
        (replaced["name"], "replaced", dict(rest))


# ------------------------------------------------------ attach and detach
def test_dynamic_group_applies_live(member: CloudClients, detached: Any, dynamic_group: Any,
                                    probes: Any, datastore: DatastoreUnderTest) -> None:
    """Attaching the dynamic group (202) needs no restart: the instance stays
    ACTIVE/HEALTHY, shows the group, is listed by it, and the values are live in
    the engine. A second attach is 400, deleting the attached group is 400; after
    the detach (202) the instance is ACTIVE again without the group (§3.6 steps
    17 to 24)."""
    instance_id = detached.id
    _attach(member, instance_id, dynamic_group["id"])
    attached = _wait_status(member, instance_id, "ACTIVE")
    shown = show(member, instance_id)
    assert shown["configuration"]["id"] == dynamic_group["id"]
    assert shown["configuration"]["name"] == dynamic_group["name"]
    members = request(member, "GET", f"/configurations/{dynamic_group['id']}/instances",
                      expect=200)["instances"]
    assert {"id": instance_id, "name": attached.name} in members
    assert _shown(member, dynamic_group["id"])["instance_count"] == 1
    _assert_values_live(probes, attached, dict(dynamic_group["values"]))

    answer = request(member, "PUT", f"/instances/{instance_id}",
                     {"instance": {"configuration": dynamic_group["id"]}}, expect=400)
    assert _message(answer) == (f"Instance {instance_id} already has a Configuration Group "
                                f"attached: {dynamic_group['id']}.")
    answer = request(member, "DELETE", f"/configurations/{dynamic_group['id']}", expect=400)
    assert _message(answer) == (
        "A configuration group cannot be deleted if it is associated with one or more "
        "non-terminated instances. Detach the configuration group from all non-terminated "
        "instances and please try again.")

    _attach(member, instance_id, None)
    _wait_status(member, instance_id, "ACTIVE")
    assert "configuration" not in show(member, instance_id)
    assert _shown(member, dynamic_group["id"])["instance_count"] == 0


def test_updating_an_attached_dynamic_group_applies_live(
        member: CloudClients, detached: Any, tracker: Tracker, probes: Any,
        settings: Settings, datastore: DatastoreUnderTest) -> None:
    """PATCH of a group attached to an instance reaches the engine at once, without
    a restart (§3.6 step 23)."""
    if not datastore.entry.config.dynamic:
        pytest.skip(f"the catalogue has no dynamic values for {datastore.name}")
    key, value = next(iter(datastore.entry.config.dynamic.items()))
    name = settings.name(f"{datastore.name}-config-live")
    group = _create(member, datastore, name, {key: value})
    tracker.add("configuration", group["id"], name,
                lambda: deletion.delete_configuration(member, group["id"]))
    _attach(member, detached.id, group["id"])
    _wait_status(member, detached.id, "ACTIVE")
    changed = _changed(value)
    request(member, "PATCH", f"/configurations/{group['id']}",
            {"configuration": {"values": {key: changed}}}, expect=200)
    instance = _wait_status(member, detached.id, "ACTIVE")
    _assert_values_live(probes, instance, {key: changed})


def _changed(value: Any) -> Any:
    """Another valid value of the same kind (twice a number; the same text)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return value * 2
    number = "".join(ch for ch in str(value) if ch.isdigit())
    return str(value).replace(number, str(int(number) * 2), 1) if number else value


def test_non_dynamic_group_needs_a_restart(member: CloudClients, detached: Any,
                                           non_dynamic_group: Any, probes: Any) -> None:
    """A group with a value that needs a restart puts the instance in
    RESTART_REQUIRED when attached (202); after the restart it is ACTIVE/HEALTHY
    with the values in the engine. Detaching it needs a restart too (§3.6 steps 25
    to 32)."""
    instance_id = detached.id
    _attach(member, instance_id, non_dynamic_group["id"])
    waiting = _wait_status(member, instance_id, RESTART_REQUIRED)
    assert waiting.configuration["id"] == non_dynamic_group["id"]
    _restart(member, instance_id)
    restarted = _wait_status(member, instance_id, "ACTIVE")
    _assert_values_live(probes, restarted, dict(non_dynamic_group["values"]))
    _attach(member, instance_id, None)
    _wait_status(member, instance_id, RESTART_REQUIRED)
    _restart(member, instance_id)
    assert "configuration" not in show(member, instance_id)


def test_detach_with_none_attached(member: CloudClients, detached: Any) -> None:
    """Detaching when no group is attached is accepted (202) and changes nothing
    (§3.6 step 14)."""
    for _ in range(2):
        _attach(member, detached.id, None)
        _wait_status(member, detached.id, "ACTIVE")
        assert "configuration" not in show(member, detached.id)


def test_attach_an_unknown_group(member: CloudClients, detached: Any) -> None:
    """An unknown group cannot be attached: 404 (§3.6 step 12)."""
    unknown = str(uuid.uuid4())
    answer = request(member, "PUT", f"/instances/{detached.id}",
                     {"instance": {"configuration": unknown}}, expect=404)
    assert _message(answer) == f"Configuration group id: {unknown} could not be found."


def test_attach_to_an_unknown_instance(member: CloudClients, dynamic_group: Any) -> None:
    """A group cannot be attached to an instance that is not there: 404 (§3.6 steps
    13, 15, 16)."""
    unknown = str(uuid.uuid4())
    answer = request(member, "PUT", f"/instances/{unknown}",
                     {"instance": {"configuration": dynamic_group["id"]}}, expect=404)
    assert _message(answer) == f"Resource {unknown} cannot be found."


# ------------------------------------------------------ invalid values
def _integer_with_minimum(parameters: dict[str, Any], keys: list[str]) -> str | None:
    for key in keys:
        parameter = parameters.get(key, {})
        if parameter.get("type") == "integer" and "min" in parameter:
            return key
    return None


def _foreign_parameter(parameters: dict[str, Any], datastore: DatastoreUnderTest) -> str:
    """A parameter another datastore's catalogue uses that this version lacks."""
    for entry in catalogue.DATASTORES:
        if entry.name == datastore.name:
            continue
        for key in {**entry.config.dynamic, **entry.config.non_dynamic}:
            if key.lower() not in {p.lower() for p in parameters}:
                return key
    pytest.skip("no other datastore's parameter is unknown to this one")


def test_invalid_values_are_refused(member: CloudClients, settings: Settings,
                                    datastore: DatastoreUnderTest) -> None:
    """Values the version's rules refuse: out of range, of the wrong type, an
    unknown parameter and another datastore's parameter: 422 each, with the
    validation rules' message (§3.6 steps 1, 2)."""
    parameters = _parameters(member, datastore)
    config = datastore.entry.config
    catalogued = list({**config.dynamic, **config.non_dynamic})
    where = f"{datastore.name} {datastore.version}"
    cases: list[tuple[dict[str, Any], str]] = []
    key = _integer_with_minimum(parameters, catalogued)
    if key is not None:
        minimum = int(parameters[key]["min"])
        cases.append(({key: minimum - 1}, f"The value for the configuration parameter {key} "
                                          f"is less than the minimum allowed: {minimum}"))
        cases.append(({key: "string_value"}, f"The value provided for the configuration "
                                             f"parameter {key} is not of type integer."))
    foreign = _foreign_parameter(parameters, datastore)
    for unknown in ("unknown_datastore_key", foreign):
        cases.append(({unknown: "bad_value"}, f"The configuration parameter {unknown} is "
                                              f"not supported for this datastore: {where}."))
    for values, says in cases:
        answer = _create(member, datastore, settings.name(f"{datastore.name}-config-bad"),
                         values, expect=422)
        assert _message(answer) == says, f"{json.dumps(values)}: {_message(answer)}"


# ------------------------------------------------------------ parameters
def test_parameters_of_the_version(member: CloudClients, datastore: DatastoreUnderTest) -> None:
    """The version lists its parameters, each with its type and whether it needs a
    restart, the catalogue's among them; one shows alone; an unknown one is 404."""
    parameters = _parameters(member, datastore)
    config = datastore.entry.config
    for key in {**config.dynamic, **config.non_dynamic}:
        assert key in parameters, f"{key} is not a parameter of {datastore.name}"
        assert PARAMETER_KEYS <= set(parameters[key]) <= PARAMETER_KEYS | {"min", "max"}
        assert parameters[key]["datastore_version_id"] == datastore.setup.version_id
    for key in config.dynamic:
        assert parameters[key]["restart_required"] is False, f"{key} should be dynamic"
    assert any(parameters[key]["restart_required"] for key in config.non_dynamic) or \
        not config.non_dynamic, "no non-dynamic value of the catalogue needs a restart"
    base = f"/datastores/{datastore.name}/versions/{datastore.version}/parameters"
    key = next(iter(parameters))
    assert request(member, "GET", f"{base}/{key}", expect=200) == parameters[key]
    answer = request(member, "GET", f"{base}/trove_it_no_such_parameter", expect=404)
    assert _message(answer) == "Resource trove_it_no_such_parameter cannot be found."


# ------------------------------------------------------- another project
def test_another_projects_group_is_refused(alt: CloudClients, dynamic_group: Any) -> None:
    """Another project's user can neither see, change, list the instances of nor
    delete the group: 404 each, as if it did not exist."""
    group_id = dynamic_group["id"]
    path = f"/configurations/{group_id}"
    calls: list[tuple[str, str, Any]] = [("GET", path, None), ("GET", f"{path}/instances", None),
             ("PATCH", path, {"configuration": {"values": {}}}), ("DELETE", path, None)]
    for method, where, body in calls:
        answer = request(alt, method, where, body, expect=404)
        assert _message(answer) == _not_found(group_id), f"{method} {where}"


# ------------------------------------- refusals that need no datastore
def test_unknown_group_is_not_found(member: CloudClients) -> None:
    """GET and DELETE of an unknown group: 404 (§3.6 steps 3, 4)."""
    unknown = str(uuid.uuid4())
    for method in ("GET", "DELETE"):
        answer = request(member, method, f"/configurations/{unknown}", expect=404)
        assert _message(answer) == _not_found(unknown)
