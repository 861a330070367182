"""Users: create, list and paginate, show, rename, change password, grant
and revoke access, delete, and every invalid, duplicate and system-user case
(the old user_actions group).

Trove 26 manages accounts only for mysql, mariadb and postgresql; the first
test checks that the others answer 422. The catalogue's databases and users
are created on the shared instance by module fixtures, so any test runs
alone; a test that changes an account works on a scratch user of its own,
which its tracker deletes. Each positive step is checked through the API and
in the engine: the account logs in with its password (and no longer does
after a revoke, a password change, a rename or a delete).

Where Trove 26 answers differently from the old runners, the test asserts
Trove 26 and says why; PostgreSQL's duplicate and system-user checks are
real Trove bugs (``known_bug``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest

from trove_it import accounts, waiters
from trove_it.catalogue import UserDef
from trove_it.clients import CloudClients
from trove_it.expect import api_error, request
from trove_it.instances import DatastoreUnderTest, initial_accounts, request_instance
from trove_it.probes import Credentials
from trove_it.settings import Settings
from trove_it.tracker import Tracker

pytestmark = pytest.mark.users
needs_users = pytest.mark.requires("users", "databases")

PASSWORD = "password1"
NEW_PASSWORD = "password2"

# Trove's API checks reserved names against MySQL's ignore list whatever the
# datastore (the option is read without a datastore manager set), and the
# PostgreSQL guest pages users by name while the duplicate check looks for
# 'name@host': so on PostgreSQL neither a duplicate nor 'postgres' is refused.
PG_DUPLICATES_BUG = ("Trove 26 looks for an existing user with the marker 'name@host', but the "
                     "PostgreSQL guest pages users by name, so duplicates are never found")
PG_RESERVED_BUG = ("Trove 26 checks reserved user names against MySQL's ignore list (os_admin, "
                   "root) for every datastore, so PostgreSQL's 'postgres' is not protected")


# ----------------------------------------------------------------- helpers
def _user(datastore: DatastoreUnderTest, name: str, password: str = PASSWORD,
          databases: tuple[str, ...] = ()) -> UserDef:
    """A user definition in the datastore's shape (MySQL family: host '%')."""
    return UserDef(name, password, "%" if datastore.entry.hosts_users else None, databases)


def _path(instance: Any, user: UserDef | None = None) -> str:
    base = f"/instances/{instance.id}/users"
    return base if user is None else f"{base}/{quote(user.ref, safe='')}"


def _access(member: CloudClients, instance: Any, user: UserDef) -> list[str]:
    body = request(member, "GET", f"{_path(instance, user)}/databases", expect=200)
    return sorted(d["name"] for d in body["databases"])


def _refused(clients: CloudClients, method: str, path: str, body: Any = None, *,
             status: int = 400, says: str) -> None:
    """The call fails with ``status`` for Trove's own reason (its message says so),
    not because the guest happened to fail the operation."""
    answer = request(clients, method, path, body, expect=status)
    message = str(answer)
    assert says in message, f"{method} {path} answered {status}, but not with {says!r}: " \
                            f"{message[:300]}"


def _scratch(tracker: Tracker, member: CloudClients, instance: Any, user: UserDef) -> UserDef:
    """A user this test owns: created now, deleted by the tracker when the test ends."""
    tracker.add("user", user.ref, user.name,
                lambda: accounts.forget_user(member, instance.id, user))
    accounts.create_users(member, instance.id, [user])
    return user


# ---------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def catalogue_users(member: CloudClients, instance: Any, datastore: DatastoreUnderTest,
                    catalogue_databases: list[str]) -> Iterator[tuple[UserDef, ...]]:
    """The catalogue's users (with their databases) on the shared instance."""
    users = datastore.entry.users
    try:
        accounts.create_users(member, instance.id, users)
        yield users
    finally:
        accounts.forget_users(member, instance.id, users)


# ------------------------------------------------------------------- tests
def test_user_api_offered_as_catalogued(member: CloudClients, instance: Any,
                                        datastore: DatastoreUnderTest) -> None:
    """Trove 26 gates accounts to mysql, mariadb and postgresql: every other
    datastore answers 422, and the catalogue must agree."""
    path = _path(instance)
    if datastore.has("users"):
        request(member, "GET", path, expect=200)
        return
    body = {"users": [{"name": "user1", "password": PASSWORD}]}
    request(member, "GET", path, expect=422)
    request(member, "POST", path, body, expect=422)
    request(member, "GET", f"{path}/user1", expect=422)
    request(member, "PUT", f"{path}/user1", {"user": {"password": NEW_PASSWORD}}, expect=422)
    request(member, "DELETE", f"{path}/user1", expect=422)
    request(member, "GET", f"{path}/user1/databases", expect=422)


@pytest.mark.smoke
@pytest.mark.real_data
@needs_users
def test_create_users(member: CloudClients, instance: Any, probes: Any,
                      catalogue_users: tuple[UserDef, ...]) -> None:
    listed = accounts.listed_users(member, instance.id)
    for user in catalogue_users:
        assert listed.get(user.name) == sorted(user.databases), f"{user.name} as listed"
        assert probes.logs_in(instance, Credentials.of(user)), f"{user.name} cannot log in"
        wrong = Credentials.of(user, password="not-" + user.password)
        assert not probes.logs_in(instance, wrong), f"{user.name} logs in with a wrong password"
        for database in user.databases:
            assert probes.logs_in(instance, Credentials.of(user, database=database)), \
                f"{user.name} cannot use {database}"


@needs_users
def test_show_user(member: CloudClients, instance: Any, datastore: DatastoreUnderTest,
                   catalogue_users: tuple[UserDef, ...]) -> None:
    for user in catalogue_users:
        shown = request(member, "GET", _path(instance, user), expect=200)["user"]
        assert shown["name"] == user.name
        assert sorted(d["name"] for d in shown["databases"]) == sorted(user.databases)
        if datastore.entry.hosts_users:
            assert shown["host"] == user.host


@needs_users
def test_list_users(member: CloudClients, instance: Any, datastore: DatastoreUnderTest,
                    catalogue_users: tuple[UserDef, ...]) -> None:
    page = member.trove.users.list(instance.id)
    assert getattr(page, "next", None) is None, "a short user list came back paginated"
    listed = {u.name: sorted(d["name"] for d in u.databases) for u in page}
    for user in catalogue_users:
        assert listed.get(user.name) == sorted(user.databases), f"{user.name} as listed"
    shown_system = set(datastore.entry.ignore_users) & set(listed)
    assert not shown_system, f"system users listed: {sorted(shown_system)}"


@needs_users
def test_list_users_paginated(member: CloudClients, instance: Any, datastore: DatastoreUnderTest,
                              catalogue_users: tuple[UserDef, ...]) -> None:
    """limit=2 gives the first two users and a marker naming the last of them
    (``name@host``, URL-quoted, for the MySQL family); the marker gives the rest."""
    everything = [u.name for u in member.trove.users.list(instance.id)]
    assert len(everything) > 2
    first = member.trove.users.list(instance.id, limit=2)
    assert [u.name for u in first] == everything[:2]
    last = first[-1]
    expected = quote(f"{last.name}@{last.host}") if datastore.entry.hosts_users else last.name
    assert first.next == expected
    rest = member.trove.users.list(instance.id, marker=first.next)
    assert [u.name for u in rest] == everything[2:]
    assert getattr(rest, "next", None) is None


@needs_users
def test_show_user_access(member: CloudClients, instance: Any,
                          catalogue_users: tuple[UserDef, ...]) -> None:
    for user in catalogue_users:
        assert _access(member, instance, user) == sorted(user.databases), user.name


@pytest.mark.real_data
@needs_users
def test_revoke_and_grant_access(member: CloudClients, instance: Any, probes: Any,
                                 catalogue_users: tuple[UserDef, ...]) -> None:
    """Each revoke takes the database away in the engine too; each grant gives it
    back, so the catalogue users end as they began."""
    with_access = [u for u in catalogue_users if u.databases]
    assert with_access, "the catalogue has no user with databases"
    for user in with_access:
        for database in user.databases:
            request(member, "DELETE", f"{_path(instance, user)}/databases/{database}",
                    expect=202)
            assert database not in _access(member, instance, user)
            assert not probes.logs_in(instance, Credentials.of(user, database=database)), \
                f"{user.name} still uses {database} after the revoke"
            request(member, "PUT", f"{_path(instance, user)}/databases",
                    {"databases": [{"name": database}]}, expect=202)
            assert database in _access(member, instance, user)
            assert probes.logs_in(instance, Credentials.of(user, database=database)), \
                f"{user.name} cannot use {database} after the grant"
        assert _access(member, instance, user) == sorted(user.databases)


@needs_users
def test_revoke_access_not_granted(member: CloudClients, instance: Any,
                                   datastore: DatastoreUnderTest,
                                   catalogue_users: tuple[UserDef, ...]) -> None:
    without = next(u for u in catalogue_users if not u.databases)
    database = datastore.entry.databases[0].name
    request(member, "DELETE", f"{_path(instance, without)}/databases/{database}", expect=404)


@pytest.mark.real_data
@needs_users
def test_create_user_without_databases(member: CloudClients, instance: Any, probes: Any,
                                       datastore: DatastoreUnderTest, tracker: Tracker) -> None:
    """The old runner expected 400 here, but only because it posted a bare object
    instead of a list; Trove 26 accepts a user without 'databases', with no access."""
    user = _user(datastore, "tit_nodbs")
    tracker.add("user", user.ref, user.name,
                lambda: accounts.forget_user(member, instance.id, user))
    body = {k: v for k, v in user.body().items() if k != "databases"}
    request(member, "POST", _path(instance), {"users": [body]}, expect=202)
    waiters.wait_until("user tit_nodbs to be listed",
                       lambda: user.name in accounts.listed_users(member, instance.id))
    assert _access(member, instance, user) == []
    assert probes.logs_in(instance, Credentials.of(user))


@needs_users
def test_invalid_user_creates_are_refused(member: CloudClients, instance: Any,
                                          datastore: DatastoreUnderTest) -> None:
    """Not a list, no name, blank name, no password, blank password, the same
    user twice in one request: 400, and nothing is created."""
    path = _path(instance)
    request(member, "POST", path, {"users": {}}, expect=400)
    for body in datastore.entry.invalid_users:
        request(member, "POST", path, {"users": [body]}, expect=400)
    request(member, "POST", path, {"users": [{"name": "tit_blankpw", "password": ""}]},
            expect=400)
    twice = _user(datastore, "tit_twice").body()
    request(member, "POST", path, {"users": [twice, twice]}, expect=400)
    assert not {"tit_blankpw", "tit_twice"} & set(accounts.listed_users(member, instance.id))


@needs_users
@pytest.mark.known_bug(PG_DUPLICATES_BUG, datastores=("postgresql",))
def test_create_existing_user(member: CloudClients, instance: Any,
                              catalogue_users: tuple[UserDef, ...]) -> None:
    existing = next(u for u in catalogue_users if u.databases)
    _refused(member, "POST", _path(instance), {"users": [existing.body()]},
             says=f'A user with the name "{existing.name}" already exists')


@needs_users
def test_update_user_with_blank_name(member: CloudClients, instance: Any,
                                     catalogue_users: tuple[UserDef, ...]) -> None:
    user = catalogue_users[0]
    request(member, "PUT", _path(instance, user), {"user": {"name": ""}}, expect=400)
    assert user.name in accounts.listed_users(member, instance.id)


@needs_users
@pytest.mark.known_bug(PG_DUPLICATES_BUG, datastores=("postgresql",))
def test_update_user_with_existing_name(member: CloudClients, instance: Any,
                                        catalogue_users: tuple[UserDef, ...]) -> None:
    """Renaming a user to its own name, or to another user's, is refused."""
    user, other = catalogue_users[0], catalogue_users[1]
    for name in (user.name, other.name):
        _refused(member, "PUT", _path(instance, user), {"user": {"name": name}},
                 says=f'A user with the name "{name}" already exists')
    assert {user.name, other.name} <= set(accounts.listed_users(member, instance.id))


@pytest.mark.real_data
@needs_users
def test_update_user_attributes(member: CloudClients, instance: Any, probes: Any,
                                datastore: DatastoreUnderTest, catalogue_databases: list[str],
                                tracker: Tracker) -> None:
    """Rename with a new password: the new account keeps the access and logs in
    with the new password, the old name is gone; re-creating the old name gives
    a fresh account with no access."""
    original = _scratch(tracker, member, instance,
                        _user(datastore, "tit_rename", databases=(catalogue_databases[0],)))
    renamed = _user(datastore, "tit_renameupd", NEW_PASSWORD, original.databases)
    tracker.add("user", renamed.ref, renamed.name,
                lambda: accounts.forget_user(member, instance.id, renamed))
    request(member, "PUT", _path(instance, original),
            {"user": {"name": renamed.name, "password": NEW_PASSWORD}}, expect=202)

    def renamed_listed() -> bool:
        listed = accounts.listed_users(member, instance.id)
        return renamed.name in listed and original.name not in listed

    waiters.wait_until("the renamed user to be listed instead of the original", renamed_listed)

    shown = request(member, "GET", _path(instance, renamed), expect=200)["user"]
    assert shown["name"] == renamed.name
    assert sorted(d["name"] for d in shown["databases"]) == list(renamed.databases)
    assert accounts.listed_users(member, instance.id)[renamed.name] == list(renamed.databases)
    request(member, "GET", _path(instance, original), expect=404)
    assert probes.logs_in(instance, Credentials.of(renamed, database=renamed.databases[0]))
    assert not probes.logs_in(instance, Credentials.of(renamed, password=PASSWORD))
    assert not probes.logs_in(instance, Credentials.of(original))

    again = _user(datastore, original.name)
    request(member, "POST", _path(instance), {"users": [again.body()]}, expect=202)
    waiters.wait_until("the original name to be listed again",
                       lambda: again.name in accounts.listed_users(member, instance.id))
    assert _access(member, instance, again) == []
    assert probes.logs_in(instance, Credentials.of(again))


@pytest.mark.real_data
@needs_users
def test_change_password(member: CloudClients, instance: Any, probes: Any,
                         datastore: DatastoreUnderTest, tracker: Tracker) -> None:
    user = _scratch(tracker, member, instance, _user(datastore, "tit_passwd"))
    change = {"name": user.name, "password": NEW_PASSWORD}
    if user.host:
        change["host"] = user.host
    request(member, "PUT", _path(instance), {"users": [change]}, expect=202)
    waiters.wait_until("the new password to log in",
                       lambda: probes.logs_in(instance,
                                              Credentials.of(user, password=NEW_PASSWORD)))
    assert not probes.logs_in(instance, Credentials.of(user, password=PASSWORD)), \
        "the old password still works"


@needs_users
def test_nonexisting_user(member: CloudClients, instance: Any, datastore: DatastoreUnderTest,
                          catalogue_users: tuple[UserDef, ...]) -> None:
    """Every call on a user that is not there answers 404."""
    ghost = _user(datastore, catalogue_users[0].name + "rnd")
    database = datastore.entry.databases[0].name
    path = _path(instance, ghost)
    request(member, "GET", path, expect=404)
    request(member, "PUT", path, {"user": {"name": ghost.name}}, expect=404)
    request(member, "DELETE", path, expect=404)
    request(member, "GET", f"{path}/databases", expect=404)
    request(member, "PUT", f"{path}/databases", {"databases": [{"name": database}]}, expect=404)
    request(member, "DELETE", f"{path}/databases/{database}", expect=404)
    change = {"name": ghost.name, "password": NEW_PASSWORD}
    request(member, "PUT", _path(instance), {"users": [change]}, expect=404)


@needs_users
@pytest.mark.parametrize("which", [
    pytest.param(0, id="admin"),
    pytest.param(1, id="superuser",
                 marks=pytest.mark.known_bug(PG_RESERVED_BUG, datastores=("postgresql",))),
])
def test_system_user_is_refused(member: CloudClients, instance: Any,
                                datastore: DatastoreUnderTest, which: int) -> None:
    """The guest's administrator (os_admin) and the datastore's superuser cannot be
    created, shown, changed, have its access listed or be deleted: 400 (the old TODO
    said 403)."""
    name = datastore.entry.ignore_users[which]
    system = UserDef(name, PASSWORD)
    path = _path(instance, system)
    reserved = "is on the reserved list"
    _refused(member, "POST", _path(instance), {"users": [system.body()]}, says=reserved)
    _refused(member, "GET", path, says=reserved)
    _refused(member, "PUT", path, {"user": {"name": name, "password": NEW_PASSWORD}},
             says=reserved)
    _refused(member, "PUT", _path(instance), {"users": [{"name": name, "password": NEW_PASSWORD}]},
             says=reserved)
    _refused(member, "GET", f"{path}/databases", says=reserved)
    _refused(member, "DELETE", path, says=reserved)


@pytest.mark.real_data
@needs_users
def test_delete_user(member: CloudClients, instance: Any, probes: Any,
                     datastore: DatastoreUnderTest, tracker: Tracker) -> None:
    user = _scratch(tracker, member, instance, _user(datastore, "tit_gone"))
    assert probes.logs_in(instance, Credentials.of(user))
    request(member, "DELETE", _path(instance, user), expect=202)
    waiters.wait_until("the deleted user to leave the list",
                       lambda: user.name not in accounts.listed_users(member, instance.id))
    request(member, "GET", _path(instance, user), expect=404)
    assert not probes.logs_in(instance, Credentials.of(user)), "a deleted user still logs in"


@needs_users
def test_user_calls_from_another_project(alt: CloudClients, instance: Any,
                                         datastore: DatastoreUnderTest,
                                         catalogue_users: tuple[UserDef, ...]) -> None:
    """Another project's user sees none of this instance's accounts: 404."""
    user = catalogue_users[0]
    request(alt, "GET", _path(instance), expect=404)
    request(alt, "POST", _path(instance), {"users": [_user(datastore, "tit_alt").body()]},
            expect=404)
    request(alt, "GET", _path(instance, user), expect=404)
    request(alt, "GET", f"{_path(instance, user)}/databases", expect=404)
    request(alt, "DELETE", _path(instance, user), expect=404)


@pytest.mark.real_data
@needs_users
@pytest.mark.slow
def test_instance_created_with_users(instance_factory: Any, member: CloudClients, probes: Any,
                                     datastore: DatastoreUnderTest, settings: Settings) -> None:
    """Users given at create time are there when the instance is ready, with their
    access, and log in; a user given a database the request does not create is
    refused with 400 before anything is built."""
    databases, users = initial_accounts(datastore)
    databases += [d.body() for d in datastore.entry.databases]
    users += [u.body() for u in datastore.entry.users]

    stray = _user(datastore, "tit_stray", databases=("no_such_db",)).body()
    api_error(400, request_instance, member, datastore, settings.name("bad-user-db"),
              databases=databases, users=[stray])

    own = instance_factory("with-users", databases=databases, users=users)
    expected = {u["name"]: sorted(d["name"] for d in u["databases"]) for u in users}
    waiters.wait_until("users from the create call to be listed",
                       lambda: set(expected) <= set(accounts.listed_users(member, own.id)))
    listed = accounts.listed_users(member, own.id)
    assert {name: listed[name] for name in expected} == expected
    assert not getattr(own, "configuration", None), "an instance created without one has a group"
    for user in datastore.entry.users:
        assert probes.logs_in(own, Credentials.of(user)), f"{user.name} cannot log in"
        for database in user.databases:
            assert probes.logs_in(own, Credentials.of(user, database=database)), \
                f"{user.name} cannot use {database}"
