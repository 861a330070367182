"""Upgrade survival: grenade's phases, one pytest invocation each.

``pytest --upgrade-phase PHASE [--upgrade-side pre|post]`` runs one phase,
and nothing else, for each datastore of the run:

- ``create``: an instance with the helper database and user, rows written
  with the native client, a full backup, and a configuration group with a
  dynamic value attached; all recorded in the upgrade state file and kept
  past the run;
- ``verify``: all of it again through the API and in the engine; it changes
  nothing, so it can run any number of times, before and after the upgrade;
- ``verify_noapi``: the rows through the native client only, from the
  recorded address and login; any API call fails the test (grenade runs it
  while the API is down);
- ``destroy``: removes what ``create`` made and the state; a resource already
  gone is no error, so it also cleans up after a failed phase. With the last
  datastore go the test flavors and run record the creating run kept for
  its instances.

Grenade's plugin (``devstack/upgrade/``) calls these in its own order.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from trove_it import deletion, upgrade_state, waiters
from trove_it.accounts import listed_databases, listed_users
from trove_it.clients import CloudClients
from trove_it.instances import DatastoreUnderTest, address_of, initial_accounts
from trove_it.probes import DATA_SETS, Credentials, probe_for
from trove_it.settings import Settings

pytestmark = pytest.mark.upgrade
DATA = DATA_SETS["small"]


def _saved(settings: Settings, datastore: str, phase: str) -> upgrade_state.SavedDatastore:
    state = upgrade_state.load(settings.upgrade_state, phase)
    if datastore not in state.datastores:
        pytest.fail(f"the upgrade state at {settings.upgrade_state} has no {datastore} "
                    f"resources (it has: {', '.join(state.datastores) or 'none'}); run "
                    f"--upgrade-phase create for it first")
    return state.datastores[datastore]


def _dynamic_values(datastore: DatastoreUnderTest) -> dict[str, Any]:
    return dict(datastore.entry.config.dynamic) if datastore.has("configuration") else {}


@pytest.mark.upgrade_phase("create")
@pytest.mark.real_data
def test_create(member: CloudClients, instance_factory: Callable[..., Any], probes: Any,
                backup_factory: Callable[..., Any],
                configuration_factory: Callable[..., Any],
                survives: Callable[[str], None], settings: Settings,
                datastore: DatastoreUnderTest) -> None:
    databases, users = initial_accounts(datastore)
    instance = instance_factory(f"upgrade-{datastore.name}", databases=databases, users=users)
    survives(instance.id)
    probe = probes(instance)
    probe.add(DATA)
    probe.verify(DATA)
    backup_id = None
    if datastore.has("backup"):
        backup = backup_factory(instance, f"upgrade-{datastore.name}-backup")
        survives(backup.id)
        backup_id = backup.id
    values = _dynamic_values(datastore)
    configuration_id = None
    if values:
        group = configuration_factory(values, f"upgrade-{datastore.name}-config")
        survives(group.id)
        member.trove.instances.update(instance.id, configuration=group.id)
        waiters.wait_for_instance(member.trove, instance.id, operation="configuration")
        configuration_id = group.id
    login = probe.credentials
    upgrade_state.record(settings.upgrade_state, settings.run_id, upgrade_state.SavedDatastore(
        datastore=datastore.name, version=datastore.version, instance_id=instance.id,
        instance_name=instance.name, address=address_of(instance), user=login.user,
        password=login.password, database=login.database, data=DATA.label,
        backup_id=backup_id, configuration_id=configuration_id,
        configuration_values=values))


@pytest.mark.upgrade_phase("verify")
@pytest.mark.real_data
def test_verify(member: CloudClients, probes: Any, settings: Settings,
                datastore: DatastoreUnderTest) -> None:
    saved = _saved(settings, datastore.name, "verify")
    instance = waiters.wait_for_instance(member.trove, saved.instance_id, operation="restart")
    assert instance.name == saved.instance_name
    assert address_of(instance) == saved.address, "the instance's address changed"
    probe = probes(instance)
    probe.verify(DATA_SETS[saved.data])
    if datastore.has("databases") and saved.database:
        assert saved.database in listed_databases(member, instance.id)
    if datastore.has("users") and saved.user:
        assert saved.user in listed_users(member, instance.id)
    if saved.backup_id:
        backup = member.trove.backups.get(saved.backup_id)
        assert backup.status == "COMPLETED", f"backup {backup.id} is {backup.status}"
        assert backup.instance_id == instance.id
    if saved.configuration_id:
        assert getattr(instance, "configuration", {}).get("id") == saved.configuration_id, \
            f"configuration group {saved.configuration_id} is no longer attached"
        for name, value in saved.configuration_values.items():
            assert str(probe.setting(name)) == str(value), f"{name} in the engine"
    upgrade_state.note_check(settings.upgrade_state, f"verify@{settings.upgrade_side}")


@pytest.mark.upgrade_phase("verify_noapi")
@pytest.mark.real_data
def test_verify_noapi(no_trove_api: list[str], settings: Settings,
                      datastore_name: str) -> None:
    from trove_it import catalogue

    saved = _saved(settings, datastore_name, "verify_noapi")
    probe = probe_for(catalogue.get(datastore_name), saved.address,
                      Credentials(saved.user, saved.password, saved.database))
    probe.verify(DATA_SETS[saved.data])
    assert not no_trove_api
    upgrade_state.note_check(settings.upgrade_state, f"verify_noapi@{settings.upgrade_side}")


@pytest.mark.upgrade_phase("destroy")
def test_destroy(member: CloudClients, admin: CloudClients, settings: Settings,
                 datastore: DatastoreUnderTest) -> None:
    try:
        creator = upgrade_state.load(settings.upgrade_state, "destroy").run_id
        saved = _saved(settings, datastore.name, "destroy")
    except Exception:  # noqa: BLE001 - nothing recorded: nothing to remove
        pytest.skip(f"no {datastore.name} resources recorded in {settings.upgrade_state}")
    if saved.configuration_id:
        deletion.delete_configuration(member, saved.configuration_id)
    deletion.delete_instance(member, admin, saved.instance_id)
    if saved.backup_id:
        deletion.delete_backup(member, saved.backup_id)
    for kind, gone in (("instance", saved.instance_id), ("backup", saved.backup_id),
                       ("configuration group", saved.configuration_id)):
        if gone:
            assert _absent(member, kind, gone), f"{kind} {gone} is still there"
    if upgrade_state.forget(settings.upgrade_state, datastore.name):
        deletion.delete_kept_run(admin, creator)


def _absent(member: CloudClients, kind: str, resource_id: str) -> bool:
    getter = {"instance": member.trove.instances.get, "backup": member.trove.backups.get,
              "configuration group": member.trove.configurations.get}[kind]
    try:
        getter(resource_id)
    except Exception as exc:  # noqa: BLE001 - only "not found" means gone
        return waiters.is_not_found(exc)
    return False
