"""What scenarios read and assert about one instance through the raw API.

The raw view (not troveclient's object) is what the shape and fault checks
need: exactly the fields Trove sent, for the account that asked.
"""

from __future__ import annotations

from typing import Any

from trove_it.clients import CloudClients
from trove_it.expect import request

FAULT_KEYS = frozenset({"message", "created", "details"})
GONE = "GONE"


def show(clients: CloudClients, instance_id: str) -> dict[str, Any]:
    """GET the instance (200 expected): its view as this account sees it."""
    return dict(request(clients, "GET", f"/instances/{instance_id}", expect=200)["instance"])


def state(clients: CloudClients, instance_id: str) -> str:
    """The instance's status, or ``GONE`` once it answers 404."""
    answer = clients.conn.database.request(f"/instances/{instance_id}", "GET", raise_exc=False)
    if answer.status_code == 404:
        return GONE
    assert answer.status_code == 200, f"GET instance {instance_id}: {answer.status_code}"
    return str(answer.json()["instance"]["status"])


def assert_fault(member: CloudClients, admin: CloudClients, instance_id: str,
                 *says: str) -> None:
    """The owner sees the fault's message but not its details (they can hold a
    traceback); an admin sees the same message with the details (§1.9)."""
    owner = show(member, instance_id).get("fault")
    assert owner, f"instance {instance_id} is in ERROR without a fault"
    assert set(owner) == FAULT_KEYS, f"the fault has {sorted(owner)}, not {sorted(FAULT_KEYS)}"
    assert not owner["details"], f"the owner sees the fault's details: {owner['details']!r}"
    for text in says:
        assert text in owner["message"], f"fault {owner['message']!r} does not say {text!r}"
    by_admin = show(admin, instance_id).get("fault") or {}
    assert by_admin.get("message") == owner["message"]
    assert by_admin.get("details"), "an admin sees no fault details"
