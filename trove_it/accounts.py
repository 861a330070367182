"""Databases and users of an instance through the API: list, create and wait
until the guest lists them, delete and wait until they are gone.

Trove casts account calls to the guest (202) and lists what the guest
reports, so every change is followed by a wait on the listing.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trove_it import waiters
from trove_it.catalogue import DatabaseDef, UserDef
from trove_it.clients import CloudClients
from trove_it.expect import request


def listed_databases(clients: CloudClients, instance_id: str) -> list[str]:
    return [db.name for db in clients.trove.databases.list(instance_id)]


def listed_users(clients: CloudClients, instance_id: str) -> dict[str, list[str]]:
    """User name -> sorted names of the databases the user list shows for it."""
    return {u.name: sorted(d["name"] for d in u.databases)
            for u in clients.trove.users.list(instance_id)}


def create_databases(clients: CloudClients, instance_id: str,
                     databases: Iterable[DatabaseDef]) -> list[str]:
    """POST the databases (202) and wait until the guest lists them."""
    defs = list(databases)
    names = [d.name for d in defs]
    request(clients, "POST", f"/instances/{instance_id}/databases",
            {"databases": [d.body() for d in defs]}, expect=202)
    waiters.wait_until(f"databases {names} to be listed",
                       lambda: set(names) <= set(listed_databases(clients, instance_id)))
    return names


def delete_databases(clients: CloudClients, instance_id: str, names: Iterable[str]) -> None:
    """DELETE the databases (202, or 404 when already gone) and wait until unlisted."""
    wanted = set(names)
    for name in sorted(wanted):
        request(clients, "DELETE", f"/instances/{instance_id}/databases/{name}",
                expect=(202, 404))
    waiters.wait_until(f"databases {sorted(wanted)} to be gone",
                       lambda: not wanted & set(listed_databases(clients, instance_id)))


def create_users(clients: CloudClients, instance_id: str, users: Iterable[UserDef]) -> None:
    """POST the users (202) and wait until the guest lists each with its databases.

    A real guest creates a user, then grants its databases one by one: the
    user is listed before the last grant is done."""
    defs = list(users)
    names = {u.name for u in defs}
    request(clients, "POST", f"/instances/{instance_id}/users",
            {"users": [u.body() for u in defs]}, expect=202)
    _wait_users_granted(clients, instance_id, {u.name: set(u.databases) for u in defs},
                        f"users {sorted(names)}")


def _wait_users_granted(clients: CloudClients, instance_id: str,
                        wanted: dict[str, set[str]], what: str) -> None:
    """Wait until each user is listed with (at least) its databases."""

    def all_granted() -> bool:
        listed = listed_users(clients, instance_id)
        return all(name in listed and dbs <= set(listed[name]) for name, dbs in wanted.items())

    waiters.wait_until(f"{what} to be listed with their databases", all_granted)


def forget_user(clients: CloudClients, instance_id: str, user: UserDef) -> None:
    """Delete a user if it is there (for cleanups)."""
    try:
        clients.trove.users.delete(instance_id, user.name, hostname=user.host)
    except Exception as exc:
        if not waiters.is_not_found(exc):
            raise


def forget_users(clients: CloudClients, instance_id: str, users: Iterable[UserDef]) -> None:
    """Delete the users that are there, one at a time, each gone before the next.

    One at a time because Trove 26's PostgreSQL guest races with itself:
    its deletes run side by side on one admin connection that each switches
    between databases, so one revokes in the database another chose and the
    DROP ROLE then fails (``... some objects depend on it``), leaving the user.
    """
    for user in users:
        forget_user(clients, instance_id, user)
        _wait_unlisted(clients, instance_id, user.name)


def _wait_unlisted(clients: CloudClients, instance_id: str, name: str) -> None:
    waiters.wait_until(f"user {name} to be gone",
                       lambda: name not in listed_users(clients, instance_id))


def wait_for_create_time_accounts(clients: CloudClients, instance_id: str,
                                  databases: Iterable[dict[str, Any]],
                                  users: Iterable[dict[str, Any]]) -> None:
    """Wait until the databases and users a create asked for are listed.

    Trove's guest reports the instance ready (ACTIVE) first and only then
    creates them (``Manager.prepare``: "additional instance
    initialization"), so ACTIVE alone does not mean they are there.
    """
    names = {d["name"] for d in databases}
    wanted = {u["name"]: {d["name"] for d in u.get("databases", [])} for u in users}
    if names:
        waiters.wait_until(f"create-time databases {sorted(names)} to be listed",
                           lambda: names <= set(listed_databases(clients, instance_id)))
    if wanted:
        _wait_users_granted(clients, instance_id, wanted, f"create-time users {sorted(wanted)}")
