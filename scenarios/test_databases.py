"""Databases: create, list, paginate, delete, and every invalid case.

The catalogue's valid databases are created on the shared instance by the
``catalogue_databases`` fixture (``created_databases`` adds a user that can
see them all), so any test here can run alone; each check
is made through the API and, where the datastore has a real engine, in the
engine itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from trove_it import accounts, waiters
from trove_it.accounts import listed_databases
from trove_it.catalogue import UserDef
from trove_it.clients import CloudClients
from trove_it.expect import api_error, request
from trove_it.instances import DatastoreUnderTest
from trove_it.probes import Credentials

pytestmark = [pytest.mark.databases, pytest.mark.requires("databases", "users")]

CHECKER = UserDef("dbchecker", "dbcheckerpass1")


@pytest.fixture(scope="module")
def created_databases(member: CloudClients, instance: Any, datastore: DatastoreUnderTest,
                      catalogue_databases: list[str]) -> Iterator[list[str]]:
    """The catalogue's databases, plus a user with access to all of them (to look
    in the engine); the user is removed when the module ends."""
    checker = UserDef(CHECKER.name, CHECKER.password,
                      "%" if datastore.entry.hosts_users else None, tuple(catalogue_databases))
    accounts.create_users(member, instance.id, [checker])
    try:
        yield catalogue_databases
    finally:
        accounts.forget_users(member, instance.id, [checker])


def _engine_databases(probes: Any, instance: Any) -> list[str]:
    return probes(instance, Credentials(CHECKER.name, CHECKER.password, None)).databases()


@pytest.mark.smoke
@pytest.mark.real_data
def test_create_databases(member: CloudClients, instance: Any, probes: Any,
                          created_databases: list[str]) -> None:
    assert set(created_databases) <= set(listed_databases(member, instance.id))
    assert set(created_databases) <= set(_engine_databases(probes, instance))


def test_list_hides_system_databases(member: CloudClients, instance: Any,
                                     datastore: DatastoreUnderTest,
                                     created_databases: list[str]) -> None:
    page = member.trove.databases.list(instance.id)
    names = [db.name for db in page]
    assert set(created_databases) <= set(names)
    assert not set(datastore.entry.ignore_dbs) & set(names)
    assert getattr(page, "next", None) is None


def test_pagination(member: CloudClients, instance: Any,
                    created_databases: list[str]) -> None:
    everything = listed_databases(member, instance.id)
    assert len(everything) > 2
    first = member.trove.databases.list(instance.id, limit=2)
    assert [db.name for db in first] == everything[:2]
    assert first.next == everything[1]
    rest = member.trove.databases.list(instance.id, marker=first.next)
    assert [db.name for db in rest] == everything[2:]


def test_invalid_creates_are_refused(member: CloudClients, instance: Any,
                                     datastore: DatastoreUnderTest,
                                     created_databases: list[str]) -> None:
    path = f"/instances/{instance.id}/databases"
    request(member, "POST", path, {"databases": {}}, expect=400)
    request(member, "POST", path, {"databases": [{"name": ""}]}, expect=400)
    existing = datastore.entry.databases[0].body()
    api_error(400, member.trove.databases.create, instance.id, [existing])


@pytest.mark.real_data
def test_delete_database(member: CloudClients, instance: Any, probes: Any,
                         created_databases: list[str]) -> None:
    name = "trove_it_scratch"
    member.trove.databases.create(instance.id, [{"name": name}])
    waiters.wait_until(f"database {name} to be listed",
                       lambda: name in listed_databases(member, instance.id))
    request(member, "DELETE", f"/instances/{instance.id}/databases/{name}", expect=202)
    waiters.wait_until(f"database {name} to be gone",
                       lambda: name not in listed_databases(member, instance.id))
    assert name not in _engine_databases(probes, instance)


def test_delete_nonexisting_database(member: CloudClients, instance: Any) -> None:
    api_error(404, member.trove.databases.delete, instance.id, "no_such_database_rnd")


@pytest.mark.known_bug("Trove 26 checks system database names against MySQL's ignore list "
                       "for every datastore", datastores=("postgresql",))
def test_system_databases_are_refused(member: CloudClients, instance: Any,
                                      datastore: DatastoreUnderTest) -> None:
    for name in datastore.entry.ignore_dbs:
        api_error(400, member.trove.databases.create, instance.id, [{"name": name}])
        api_error(400, member.trove.databases.delete, instance.id, name)


@pytest.mark.real_data
@pytest.mark.slow
def test_instance_created_with_databases(instance_factory: Any, member: CloudClients,
                                         probes: Any, datastore: DatastoreUnderTest) -> None:
    from trove_it.instances import initial_accounts

    databases, users = initial_accounts(datastore)
    databases += [d.body() for d in datastore.entry.databases]
    own = instance_factory("with-databases", databases=databases, users=users)
    expected = {d["name"] for d in databases}
    waiters.wait_until("databases from the create call to be listed",
                       lambda: expected <= set(listed_databases(member, own.id)))
    probe = probes(own)
    from trove_it.probes import DATA_SETS

    probe.add(DATA_SETS["small"])
    probe.verify(DATA_SETS["small"])
