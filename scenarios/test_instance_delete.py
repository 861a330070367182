"""Instance delete: an instance deletes with 202 and is gone, and so is what
it ran on; the deletes Trove must refuse (an unknown id, another project's
instance, an instance still building) are refused with their exact status
(the old instance_delete group and ``dbaas.api.instances``' delete right
after create).

What a delete leaves behind is checked where the target shows it: Trove (the
instance answers 404 to its owner and to an admin and is listed nowhere),
the compute API (no server left for the admin) and, on the local cloud, the
guest itself (gone from the control endpoint, its engine process stopped,
its files removed, its address no longer answering). Volumes and ports have
no API on the local cloud; a server's ports show as its addresses, which go
with the server.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from trove_it import deletion, waiters
from trove_it.clients import CloudClients
from trove_it.expect import request
from trove_it.guest_leftovers import assert_nothing_left, hosting_of
from trove_it.instance_checks import GONE, show, state
from trove_it.instances import (
    DatastoreUnderTest,
    address_of,
    initial_accounts,
    instance_body,
)
from trove_it.settings import Settings
from trove_it.targets.base import Target
from trove_it.tracker import Tracker

pytestmark = pytest.mark.instance_delete

FLAVOR_GONE_BUG = ("Trove 26 answers 500 to deleting an instance whose flavor was deleted: "
                   "Instance.delete looks the flavor up for the quota deltas and lets nova's "
                   "404 (NotFound) escape, so the instance cannot be deleted at all")


# ----------------------------------------------------------------- helpers
def _servers(admin: CloudClients) -> list[Any]:
    return list(admin.conn.compute.servers(all_projects=True))


# ------------------------------------------------------------------- tests
@pytest.mark.smoke
def test_delete(instance_factory: Any, member: CloudClients, target: Target,
                datastore: DatastoreUnderTest) -> None:
    """DELETE answers 202; the instance goes through SHUTDOWN to 404 for its owner
    and an admin, leaves every list, and its server, guest, engine and address go
    with it; a second DELETE is 404 (§3.2)."""
    databases, users = initial_accounts(datastore)
    own = instance_factory("delete", databases=databases, users=users)
    admin = target.clients_or_none("admin")
    server_id = show(admin, own.id)["server_id"] if admin else None
    hosting = hosting_of(target, own.id)
    address = address_of(own)

    request(member, "DELETE", f"/instances/{own.id}", expect=202)
    assert state(member, own.id) in ("SHUTDOWN", GONE)
    waiters.wait_for_instance_gone(member.trove, own.id)

    request(member, "GET", f"/instances/{own.id}", expect=404)
    assert own.id not in {i.id for i in member.trove.instances.list()}
    request(member, "DELETE", f"/instances/{own.id}", expect=404)
    if admin is not None:
        request(admin, "GET", f"/instances/{own.id}", expect=404)
        live = {i.id for i in admin.trove.mgmt_instances.list(deleted=False)}
        assert own.id not in live
        servers = _servers(admin)
        assert server_id not in {s.id for s in servers}, f"server {server_id} is still there"
        assert own.name not in {s.name for s in servers}
    if hosting is not None:
        assert_nothing_left(hosting, own.id, address, datastore.entry.port)


def test_delete_unknown_instance(member: CloudClients, target: Target) -> None:
    """Deleting an id that names no instance is 404, for the owner and an admin."""
    request(member, "DELETE", f"/instances/{uuid.uuid4()}", expect=404)
    request(member, "DELETE", "/instances/trove-it-no-such-instance", expect=404)
    admin = target.clients_or_none("admin")
    if admin is not None:
        request(admin, "DELETE", f"/instances/{uuid.uuid4()}", expect=404)


def test_delete_from_another_project(alt: CloudClients, member: CloudClients,
                                     instance: Any) -> None:
    """Another project's user cannot delete the instance: 404, and it stays ACTIVE
    (old test_instance_not_deleted_by_other_user)."""
    request(alt, "DELETE", f"/instances/{instance.id}", expect=404)
    shown = show(member, instance.id)
    assert (shown["status"], shown["operating_status"]) == ("ACTIVE", "HEALTHY")


def test_delete_while_building(raw_create: Any, member: CloudClients, target: Target,
                               datastore: DatastoreUnderTest, settings: Settings) -> None:
    """An instance still building cannot be deleted (422, old
    test_instance_delete_right_after_create), nor resized, restarted or asked for
    its databases, users or root (the old AfterInstanceCreation checks).

    On the local cloud the build is held (its guest never answers), so the instance
    is certainly still building; elsewhere (a vm local cloud's real guest
    included) a real build takes long enough."""
    name = settings.name(f"{datastore.name}-delete-building")
    control = target.control if not target.runs_real_guests else None
    if control is not None:
        control.hold_next_build(name)
    created = raw_create(instance_body(datastore, name))["instance"]
    path = f"/instances/{created['id']}"

    request(member, "DELETE", path, expect=422)
    request(member, "POST", f"{path}/action", {"restart": {}}, expect=422)
    request(member, "POST", f"{path}/action",
            {"resize": {"volume": {"size": datastore.setup.volume_size + 1}}}, expect=422)
    if datastore.has("databases", "users", "root"):
        for what in ("databases", "users", "root"):
            request(member, "GET", f"{path}/{what}", expect=422)
        request(member, "POST", f"{path}/databases",
                {"databases": [{"name": "trove_it_building"}]}, expect=422)
    assert state(member, created["id"]) == "BUILD"
    if target.clients_or_none("admin") is None:
        # Without an admin to reset it, the cleanup can only delete it once built.
        waiters.wait_for_instance(member.trove, created["id"])


@pytest.mark.known_bug(FLAVOR_GONE_BUG)
def test_delete_after_its_flavor_is_gone(admin: CloudClients, instance_factory: Any,
                                         member: CloudClients, tracker: Tracker,
                                         datastore: DatastoreUnderTest,
                                         settings: Settings) -> None:
    """An instance outlives its flavor (an admin retires flavors): its owner can
    still delete it (202, then 404)."""
    base = admin.conn.compute.get_flavor(datastore.setup.flavor_id)
    name = settings.name(f"{datastore.name}-retired-flavor")
    flavor = admin.conn.compute.create_flavor(name=name, ram=base.ram, vcpus=base.vcpus,
                                              disk=base.disk)
    tracker.add("flavor", flavor.id, name, lambda: deletion.delete_flavor(admin, flavor.id))
    own = instance_factory("flavor-retired", flavor_id=flavor.id)
    admin.conn.compute.delete_flavor(flavor.id)
    try:
        request(member, "DELETE", f"/instances/{own.id}", expect=202)
        waiters.wait_for_instance_gone(member.trove, own.id)
    finally:
        if state(member, own.id) != GONE:
            # Bring the flavor back (same id) so the cleanup can delete the instance.
            admin.conn.compute.create_flavor(name=name, ram=base.ram, vcpus=base.vcpus,
                                             disk=base.disk, id=flavor.id)
