"""Root: show, enable with and without a password, disable, and the root
account carried through backups (the old root_actions group).

Trove 26 offers root only for mysql, mariadb and postgresql; the first test
checks that every other datastore answers 422. Enabling root is recorded in
Trove's root history for good, so each test that enables it builds an
instance of its own; the shared instance is only read. Every step is checked
in the engine too: the returned root credentials log in, or no longer do.

Root-on-create is not exercised: Trove enables it only through the
deployment option ``[<datastore>] root_on_create`` (off by default) and the
create API takes no root password, so there is no call to make. What can be
checked is the default: the shared instance shows root never enabled.

Trove 26 differs from the old runners, and the tests assert Trove 26:
disable is offered for all three datastores (the old suite skipped it for
mariadb and postgresql); disable resets root's password to an unknown value
and ``rootEnabled`` then reads false (Trove change d563d002, "Inconsistent
behavior after root disable"; the old suite expected true); the PostgreSQL
root account is named ``root``, not ``postgres``.
"""

from __future__ import annotations

from typing import Any

import pytest

from trove_it import waiters
from trove_it.clients import CloudClients
from trove_it.expect import request
from trove_it.instances import DatastoreUnderTest
from trove_it.probes import Credentials

pytestmark = pytest.mark.root
needs_root = pytest.mark.requires("root")

ROOT_PASSWORD = "rootpass"
RESERVED_LIST_BUG = ("Trove 26 hides PostgreSQL's root from the user API and refuses it as "
                     "reserved, though [postgresql] ignore_users does not name it: the API "
                     "has no datastore_manager, so cfg.get_configuration_property falls back "
                     "to [mysql] ignore_users (trove/common/cfg.py)")
PG_RESTORE_BUG = ("Trove 26's PostgreSQL guest does not report a restored root account to the "
                  "conductor (the MySQL guest does), so a restored instance whose root logs in "
                  "shows rootEnabled false")


# ----------------------------------------------------------------- helpers
def _path(instance: Any) -> str:
    return f"/instances/{instance.id}/root"


def _root_enabled(member: CloudClients, instance: Any) -> bool:
    body = request(member, "GET", _path(instance), expect=200)
    assert isinstance(body["rootEnabled"], bool), body
    return bool(body["rootEnabled"])


def _enable(member: CloudClients, instance: Any, password: str | None = None) -> Credentials:
    """POST root (200); the returned name and password as credentials."""
    body = {"password": password} if password else None
    user = request(member, "POST", _path(instance), body, expect=200)["user"]
    assert user["name"] and user["password"], user
    return Credentials(user["name"], user["password"])


def _settle(member: CloudClients, instance: Any) -> Any:
    """After a backup, wait until the instance takes actions again."""
    return waiters.wait_for_instance(member.trove, instance.id, operation="backup")


# ------------------------------------------------------------------- tests
# Trove 26's pxc root controller refuses disable_root itself (501, "not
# supported") before the datastore gate is reached. MongoDB's and Vertica's
# controllers mean to do the same but override ``delete`` instead of
# ``root_delete``, so theirs never runs and the gate answers 422 as for the rest.
DISABLE_ROOT_REFUSAL = {"pxc": 501}


def test_root_api_offered_as_catalogued(member: CloudClients, instance: Any,
                                        datastore: DatastoreUnderTest) -> None:
    """Trove 26 gates root to mysql, mariadb and postgresql: every other datastore
    answers 422 to show, enable and disable, and the catalogue must agree."""
    if datastore.has("root"):
        _root_enabled(member, instance)
        return
    request(member, "GET", _path(instance), expect=422)
    request(member, "POST", _path(instance), expect=422)
    request(member, "POST", _path(instance), {"password": ROOT_PASSWORD}, expect=422)
    answer = request(member, "DELETE", _path(instance),
                     expect=DISABLE_ROOT_REFUSAL.get(datastore.name, 422))
    if datastore.name in DISABLE_ROOT_REFUSAL:
        assert "'disable_root' operation is not supported" in str(answer), answer


@needs_root
def test_root_never_enabled(member: CloudClients, instance: Any) -> None:
    """A new instance has root off (root_on_create is off by default), and there is
    nothing to disable: 404."""
    assert _root_enabled(member, instance) is False
    request(member, "DELETE", _path(instance), expect=404)


@needs_root
def test_root_calls_from_another_project(alt: CloudClients, member: CloudClients,
                                         instance: Any) -> None:
    request(alt, "GET", _path(instance), expect=404)
    request(alt, "POST", _path(instance), expect=404)
    request(alt, "DELETE", _path(instance), expect=404)
    assert _root_enabled(member, instance) is False


@pytest.mark.real_data
@needs_root
def test_enable_root_without_password(member: CloudClients, instance_factory: Any, probes: Any,
                                      datastore: DatastoreUnderTest) -> None:
    """Trove makes up a password; root logs in with it, shows as enabled, and stays
    out of the user API (listing hides it, deleting it is refused)."""
    own = instance_factory("root-enable")
    root = _enable(member, own)
    assert root.user == datastore.entry.root_user
    assert probes.logs_in(own, root), "root cannot log in with the returned password"
    assert not probes.logs_in(own, Credentials(root.user, "not-" + str(root.password)))
    assert _root_enabled(member, own) is True


@pytest.mark.real_data
@needs_root
@pytest.mark.known_bug(RESERVED_LIST_BUG, datastores=("postgresql",))
def test_root_and_the_user_api(member: CloudClients, instance_factory: Any, probes: Any,
                               datastore: DatastoreUnderTest) -> None:
    """Where the datastore reserves its root account (the mysql family's
    ``ignore_users``), the user API hides it and refuses to show or delete it;
    where it does not (PostgreSQL reserves only os_admin and postgres), root is
    an ordinary user of the API."""
    own = instance_factory("root-users")
    root = _enable(member, own)
    users = f"/instances/{own.id}/users"
    listed = {u["name"] for u in request(member, "GET", users, expect=200)["users"]}
    if root.user in datastore.entry.ignore_users:
        assert root.user not in listed
        for method in ("GET", "DELETE"):
            refusal = request(member, method, f"{users}/{root.user}", expect=400)
            assert "is on the reserved list" in str(refusal), refusal
    else:
        assert root.user in listed, f"root is not listed: {sorted(listed)}"
        shown = request(member, "GET", f"{users}/{root.user}", expect=200)["user"]
        assert shown["name"] == root.user
    assert probes.logs_in(own, root), "root stopped working after the user API calls"


@pytest.mark.real_data
@needs_root
def test_enable_root_with_password(member: CloudClients, instance_factory: Any, probes: Any,
                                   datastore: DatastoreUnderTest) -> None:
    """The given password is the one set; enabling again resets it, and only the
    newest password logs in."""
    own = instance_factory("root-password")
    root = _enable(member, own, ROOT_PASSWORD)
    assert root == Credentials(datastore.entry.root_user, ROOT_PASSWORD)
    assert probes.logs_in(own, root)

    again = _enable(member, own)
    assert again.user == root.user and again.password != ROOT_PASSWORD
    assert probes.logs_in(own, again), "root cannot log in with the reset password"
    assert not probes.logs_in(own, root), "the previous root password still works"
    assert _root_enabled(member, own) is True


@pytest.mark.real_data
@needs_root
@pytest.mark.requires("root_disable")
def test_disable_root(member: CloudClients, instance_factory: Any, probes: Any) -> None:
    own = instance_factory("root-disable")
    root = _enable(member, own, ROOT_PASSWORD)
    request(member, "DELETE", _path(own), expect=204)
    assert not probes.logs_in(own, root), "root still logs in after disable"
    # Trove 26 reports the state after disable (change d563d002); the old
    # runners expected rootEnabled to stay true.
    assert _root_enabled(member, own) is False
    request(member, "DELETE", _path(own), expect=404)

    back = _enable(member, own, ROOT_PASSWORD)
    assert probes.logs_in(own, back), "root cannot log in after enabling it again"
    assert _root_enabled(member, own) is True


@pytest.mark.real_data
@needs_root
@pytest.mark.requires("root_disable", "backup")
@pytest.mark.slow
def test_root_state_restored_from_backups(member: CloudClients, instance_factory: Any,
                                          backup_factory: Any, probes: Any) -> None:
    """A backup taken with root enabled restores an instance where root logs in with
    the same password; one taken after disable restores one where it does not."""
    own = instance_factory("root-backups")
    root = _enable(member, own, ROOT_PASSWORD)
    enabled_backup = backup_factory(own, "root-enabled")
    own = _settle(member, own)
    request(member, "DELETE", _path(own), expect=204)
    disabled_backup = backup_factory(own, "root-disabled")
    _settle(member, own)

    from_enabled = instance_factory("root-restored-enabled",
                                    restorePoint={"backupRef": enabled_backup.id})
    assert probes.logs_in(from_enabled, root), "root did not come back with the backup"
    from_disabled = instance_factory("root-restored-disabled",
                                     restorePoint={"backupRef": disabled_backup.id})
    assert not probes.logs_in(from_disabled, root), \
        "root logs in on an instance restored from a backup taken after disable"


@pytest.mark.real_data
@needs_root
@pytest.mark.requires("backup")
@pytest.mark.slow
@pytest.mark.known_bug(PG_RESTORE_BUG, datastores=("postgresql",))
def test_restored_instance_reports_root_enabled(member: CloudClients, instance_factory: Any,
                                                backup_factory: Any, probes: Any) -> None:
    """An instance restored from a backup with root enabled says so."""
    own = instance_factory("root-report")
    root = _enable(member, own, ROOT_PASSWORD)
    backup = backup_factory(own, "root-report")
    _settle(member, own)
    restored = instance_factory("root-report-restored", restorePoint={"backupRef": backup.id})
    assert probes.logs_in(restored, root)
    assert _root_enabled(member, restored) is True
