"""Creating test instances: the request body and the wait, in one place.

Fixtures call ``build_instance``; tests that check a create call itself
(negative cases, response fields) call ``request_instance``, or
``post_instance`` with an ``instance_body`` for raw bodies, and wait on
their own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trove_it import accounts, catalogue, waiters
from trove_it.clients import CloudClients
from trove_it.provisioning.run import DatastoreSetup


@dataclass(frozen=True)
class DatastoreUnderTest:
    """A datastore as this run tests it: its catalogue entry and its setup."""

    entry: catalogue.Datastore
    setup: DatastoreSetup

    @property
    def name(self) -> str:
        return self.entry.name

    @property
    def version(self) -> str:
        return self.setup.version

    def has(self, *capabilities: str) -> bool:
        return self.entry.has(*capabilities)


def request_instance(clients: CloudClients, datastore: DatastoreUnderTest, name: str, *,
                     databases: list[dict[str, Any]] | None = None,
                     users: list[dict[str, Any]] | None = None,
                     flavor_id: str | None = None, volume_size: int | None = None,
                     **extra: Any) -> Any:
    """POST /instances with the datastore's test flavor and volume, on the run's
    networks and zone; a replica (``replica_of``) takes flavor, volume and
    datastore from its source, and Trove refuses them in its create call, but
    not its networks: without them it would have no user-facing port."""
    if extra.get("replica_of"):
        return clients.trove.instances.create(
            name, **{**datastore.setup.create_fields(), **extra})
    return clients.trove.instances.create(
        name, flavor_id or datastore.setup.flavor_id,
        volume=volume_of(datastore, volume_size),
        databases=databases or [], users=users or [],
        datastore=datastore.name, datastore_version=datastore.version,
        **{**datastore.setup.create_fields(), **extra})


def volume_of(datastore: DatastoreUnderTest, size: int | None = None) -> dict[str, Any]:
    """The create's volume: the test size, and the run's volume type if it has one."""
    volume: dict[str, Any] = {"size": size or datastore.setup.volume_size}
    if datastore.setup.volume_type:
        volume["type"] = datastore.setup.volume_type
    return volume


def instance_body(datastore: DatastoreUnderTest, name: str, **fields: Any) -> dict[str, Any]:
    """What ``request_instance`` sends, as a plain body a test can break on purpose
    (raw calls send what troveclient would refuse or rewrite)."""
    body: dict[str, Any] = {
        "name": name, "flavorRef": datastore.setup.flavor_id,
        "volume": volume_of(datastore),
        "datastore": {"type": datastore.name, "version": datastore.version},
        "databases": [], "users": [], **datastore.setup.create_fields()}
    body.update(fields)
    return body


def post_instance(clients: CloudClients, body: dict[str, Any],
                  on_created: Callable[[str], None]) -> tuple[int, Any]:
    """POST /instances with a raw body: (status, answer). An instance the call
    created, expected or not, goes to ``on_created`` before the status is judged."""
    response = clients.conn.database.request("/instances", "POST", json={"instance": body},
                                             raise_exc=False)
    try:
        answer: Any = response.json()
    except ValueError:
        answer = response.text
    created = answer.get("instance", {}).get("id") if isinstance(answer, dict) else None
    if created:
        on_created(str(created))
    return response.status_code, answer


def initial_accounts(datastore: DatastoreUnderTest) -> tuple[list[dict[str, Any]],
                                                              list[dict[str, Any]]]:
    """The helper database and user a shared instance starts with, where supported."""
    entry = datastore.entry
    databases = [{"name": entry.helper_database}] if entry.helper_database else []
    users = [entry.helper_user.body()] if entry.helper_user else []
    return databases, users


def build_instance(clients: CloudClients, datastore: DatastoreUnderTest, name: str, *,
                   on_created: Callable[[Any], None], admin: CloudClients | None = None,
                   progress: Callable[[str], None] | None = None, **kwargs: Any) -> Any:
    """Create an instance, hand it to ``on_created`` (cleanup registration) at once,
    then wait until it is ACTIVE and HEALTHY and lists the databases and users
    the create asked for."""
    instance = request_instance(clients, datastore, name, **kwargs)
    on_created(instance)
    operation = "restore" if kwargs.get("restorePoint") else \
        "replica" if kwargs.get("replica_of") else "build"
    ready = waiters.wait_for_instance(
        clients.trove, instance.id, operation=operation,
        trove_admin=admin.trove if admin else None, progress=progress)
    accounts.wait_for_create_time_accounts(clients, instance.id, kwargs.get("databases") or [],
                                           kwargs.get("users") or [])
    return ready


def address_of(instance: Any) -> str:
    """The instance's first IPv4 address as Trove reports it."""
    for entry in getattr(instance, "addresses", None) or []:
        address = entry.get("address") if isinstance(entry, dict) else None
        if address and ":" not in address:
            return str(address)
    for address in getattr(instance, "ip", None) or []:
        if ":" not in address:
            return str(address)
    raise AssertionError(f"instance {instance.id} reports no IPv4 address "
                         f"(addresses={getattr(instance, 'addresses', None)})")
