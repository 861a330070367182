"""Instances that go wrong: builds that fail and the fault they show, force
delete of an instance stuck in BUILD or ERROR, and (local cloud only) faults
injected into a running guest or the next server create (the old
instance_error_create and instance_force_delete groups, §3.3 and §3.4).

Every test creates what it needs and its cleanup deletes it whatever state it
ends in (reset, then delete), so any test runs alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from trove_it import waiters
from trove_it.clients import CloudClients
from trove_it.expect import request
from trove_it.instance_checks import assert_fault, show
from trove_it.instances import DatastoreUnderTest, initial_accounts, instance_body
from trove_it.probes import DATA_SETS
from trove_it.settings import Settings
from trove_it.targets.base import LocalControl

pytestmark = pytest.mark.instance_errors



# ----------------------------------------------------------------- helpers
def _assert_nothing_left(admin: CloudClients, instance_id: str, name: str) -> None:
    """No server and no port of the deleted instance remain (old
    wait_for_error_delete: Neutron ports named ``trove-<id>``)."""
    servers = admin.conn.compute.servers(all_projects=True)
    assert name not in {s.name for s in servers}, f"a server named {name} is still there"
    if admin.conn.has_service("network"):
        ports = list(admin.conn.network.ports(name=f"trove-{instance_id}"))
        assert not ports, f"ports of {instance_id} are still there: {[p.id for p in ports]}"


# ------------------------------------------------------- builds that fail
FAILING_BUILDS = (
    # (fault flavor, what the fault says, who checks it): §3.3 steps 1 to 5.
    pytest.param("fault_1-1", "disk is too small for requested image", id="disk-too-small"),
    pytest.param("fault_2-7", "Quota exceeded for ram", id="ram-over-quota"),
)


@pytest.mark.parametrize(("flavor_key", "says"), FAILING_BUILDS)
def test_build_fails_with_fault(flavor_key: str, says: str, raw_create: Any,
                                member: CloudClients, admin: CloudClients,
                                fault_flavor: Callable[[str], str],
                                datastore: DatastoreUnderTest, settings: Settings) -> None:
    """A create nova cannot honour is accepted (200, BUILD), then goes to ERROR
    with a fault that says why; the instance deletes with 202 and leaves no
    server or port behind."""
    flavor = fault_flavor(flavor_key)
    name = settings.name(f"{datastore.name}-error-{flavor_key}")
    created = raw_create(instance_body(datastore, name, flavorRef=flavor))["instance"]
    assert created["status"] == "BUILD"
    waiters.wait_for_instance_error(member.trove, created["id"])
    assert_fault(member, admin, created["id"], says)

    request(member, "DELETE", f"/instances/{created['id']}", expect=202)
    waiters.wait_for_instance_gone(member.trove, created["id"])
    _assert_nothing_left(admin, created["id"], name)


# ------------------------------------------------------------ force delete
def _force_delete(clients: CloudClients, instance_id: str, reset: dict[str, Any]) -> None:
    """reset_status, then DELETE once the instance shows its server's status
    (on a real cloud the server may still be booting right after the create)."""
    request(clients, "POST", f"/instances/{instance_id}/action", {"reset_status": reset},
            expect=202)
    waiters.wait_until(f"reset instance {instance_id} to leave BUILD",
                       lambda: show(clients, instance_id)["status"] != "BUILD",
                       timeout=waiters.TIMEOUTS["build"])
    request(clients, "DELETE", f"/instances/{instance_id}", expect=202)
    waiters.wait_for_instance_gone(clients.trove, instance_id)


def test_force_delete_building_instance(stuck_in_build: Any, admin: CloudClients,
                                        member: CloudClients) -> None:
    """An instance stuck in BUILD refuses a plain delete (422) but an admin's force
    delete (reset_status, then DELETE) removes it: 202, then gone (§3.4; the old
    runner skipped the final check as bug 1656422, which Trove 26 no longer has)."""
    instance_id = stuck_in_build("force-delete")
    request(member, "DELETE", f"/instances/{instance_id}", expect=422)
    _force_delete(admin, instance_id, {})
    request(member, "GET", f"/instances/{instance_id}", expect=404)


def test_owner_force_delete(stuck_in_build: Any, member: CloudClients) -> None:
    """The owner may not reset an instance's status (403: admin only) but may force
    delete it (``reset_status`` with ``force_delete``, policy admin_or_owner)."""
    instance_id = stuck_in_build("owner-force")
    action = f"/instances/{instance_id}/action"
    request(member, "POST", action, {"reset_status": {}}, expect=403)
    _force_delete(member, instance_id, {"force_delete": True})


def test_other_project_cannot_force_delete(stuck_in_build: Any, alt: CloudClients,
                                           member: CloudClients) -> None:
    """Another project's user gets 404 for a force delete and the instance stays."""
    instance_id = stuck_in_build("alien-force")
    request(alt, "POST", f"/instances/{instance_id}/action",
            {"reset_status": {"force_delete": True}}, expect=404)
    request(alt, "DELETE", f"/instances/{instance_id}", expect=404)
    assert show(member, instance_id)["status"] == "BUILD"


# --------------------------------------------------- injected faults (local)
@pytest.mark.fault_injection
def test_injected_server_create_failure(raw_create: Any, local_control: LocalControl,
                                        member: CloudClients, admin: CloudClients,
                                        datastore: DatastoreUnderTest,
                                        settings: Settings) -> None:
    """A server create that fails in nova puts the instance in ERROR with nova's
    message as its fault, and the harness's own waiter stops at once on it,
    saying what it waited for and quoting the fault."""
    name = settings.name(f"{datastore.name}-injected-create")
    message = f"trove-it injected failure for {name}"
    local_control.fail_next_server_create(message, name=name)
    created = raw_create(instance_body(datastore, name))["instance"]
    with pytest.raises(waiters.UnexpectedState) as failure:
        waiters.wait_for_instance(member.trove, created["id"], trove_admin=admin.trove)
    text = str(failure.value)
    assert f"instance {created['id']} to become ACTIVE/HEALTHY" in text
    assert "went to ERROR" in text and message in text, text
    assert_fault(member, admin, created["id"], message)
    assert local_control.status()["pending_faults"]["server_create"] == 0


@pytest.mark.fault_injection
def test_failed_guest_shows_error_then_recovers(instance_factory: Any,
                                                local_control: LocalControl,
                                                member: CloudClients, probes: Any,
                                                datastore: DatastoreUnderTest) -> None:
    """A guest whose engine dies and whose agent falls silent shows ACTIVE with
    operating status ERROR (Trove's expired-heartbeat rule); once it recovers the
    instance is HEALTHY again and, on a real engine, the data written before the
    failure is still there."""
    databases, users = initial_accounts(datastore)
    own = instance_factory("guest-failure", databases=databases, users=users)
    probe = probes.optional(own)
    if probe is not None:
        probe.add(DATA_SETS["small"])

    local_control.fail_guest(own.id)
    waiters.wait_for_instance(member.trove, own.id, status="ACTIVE", operating_status="ERROR",
                              operation="guest_cast", transient=("ACTIVE",))
    if probe is not None:
        assert not probe.ping(), f"the engine of failed guest {own.id} still answers"

    local_control.recover_guest(own.id)
    waiters.wait_for_instance(member.trove, own.id, operation="guest_cast",
                              transient=("ACTIVE", "ACTIVE/ERROR"))
    if probe is not None:
        waiters.wait_until(f"the engine of {own.id} to answer again", probe.ping)
        probe.verify(DATA_SETS["small"])
