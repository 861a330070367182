"""Instance actions: restart, volume resize and flavor resize, each with the
instance's data read back through the native client afterwards (the old
instance_actions group).

A restart leaves an instance as it was, so it runs on the shared instance
(and removes the data it wrote); a resize changes the instance for good, so
each resize builds its own. The refusals around the actions are checked too:
another project's calls, an action while another is under way, a resize to
the same or a smaller size, an unknown flavor.

Where the datastore has no server to read data from (the local cloud's
in-memory engines, datastores without a probe) the action is still checked
through the API, and a warning says the data was not.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from trove_it import waiters
from trove_it.clients import CloudClients
from trove_it.expect import request
from trove_it.instances import DatastoreUnderTest, initial_accounts
from trove_it.probes import DATA_SETS, Probe

pytestmark = pytest.mark.instance_actions

DATA = DATA_SETS["small"]


# ----------------------------------------------------------------- helpers
def _action(clients: CloudClients, instance: Any, body: dict[str, Any], expect: int) -> None:
    request(clients, "POST", f"/instances/{instance.id}/action", body, expect=expect)


def _wait(member: CloudClients, instance: Any, operation: str) -> Any:
    """Wait until the instance is ACTIVE and HEALTHY again after ``operation``."""
    return waiters.wait_for_instance(member.trove, instance.id, operation=operation)


def _own(instance_factory: Any, datastore: DatastoreUnderTest, purpose: str) -> Any:
    """An instance of this test's own, with the helper database and user the
    probe logs in as (where the datastore has them)."""
    databases, users = initial_accounts(datastore)
    return instance_factory(purpose, databases=databases, users=users)


@contextmanager
def _test_data(probe: Probe | None) -> Iterator[None]:
    """Write the data set and check it is there; drop it when the block passes.
    A failed or interrupted block leaves it: the instance is the test's own and
    goes with it, and work here would hide the exception (a Ctrl-C included)."""
    if probe is None:
        yield
        return
    probe.add(DATA)
    probe.verify(DATA)
    yield
    probe.remove(DATA)


def _verify(probe: Probe | None) -> None:
    if probe is not None:
        probe.verify(DATA)


# ------------------------------------------------------------------- tests
@pytest.mark.smoke
@pytest.mark.requires("restart")
def test_restart(member: CloudClients, instance: Any, probes: Any) -> None:
    """Restart (202, REBOOT then ACTIVE/HEALTHY) keeps the data."""
    probe = probes.optional(instance)
    with _test_data(probe):
        _action(member, instance, {"restart": {}}, expect=202)
        _wait(member, instance, "restart")
        _verify(probe)


@pytest.mark.smoke
@pytest.mark.requires("volume_resize")
@pytest.mark.slow
def test_resize_volume(member: CloudClients, instance_factory: Any, probes: Any,
                       datastore: DatastoreUnderTest) -> None:
    """Grow the volume by 1 GB: 202, RESIZE then ACTIVE/HEALTHY, the new size shown,
    the data kept. Other actions wait their turn (422); the same or a smaller size
    is refused with 400."""
    own = _own(instance_factory, datastore, "volume-resize")
    probe = probes.optional(own)
    with _test_data(probe):
        old_size = int(own.volume["size"])
        _action(member, own, {"resize": {"volume": {"size": old_size + 1}}}, expect=202)
        _action(member, own, {"restart": {}}, expect=422)
        resized = _wait(member, own, "resize")
        assert int(resized.volume["size"]) == old_size + 1
        _verify(probe)

    _action(member, own, {"resize": {"volume": {"size": old_size + 1}}}, expect=400)
    _action(member, own, {"resize": {"volume": {"size": old_size}}}, expect=400)


@pytest.mark.requires("flavor_resize")
@pytest.mark.slow
def test_resize_flavor(member: CloudClients, instance_factory: Any, probes: Any,
                       datastore: DatastoreUnderTest) -> None:
    """Move to the bigger test flavor: 202, RESIZE then ACTIVE/HEALTHY, the new flavor
    shown, the data kept. Other actions wait their turn (422); the current flavor
    and an unknown one are refused with 400."""
    bigger = datastore.setup.resize_flavor_id
    if not bigger:
        pytest.skip(f"no resize flavor was registered for {datastore.name} on this target")
    own = _own(instance_factory, datastore, "flavor-resize")
    probe = probes.optional(own)
    with _test_data(probe):
        _action(member, own, {"resize": {"flavorRef": bigger}}, expect=202)
        _action(member, own, {"restart": {}}, expect=422)
        resized = _wait(member, own, "resize")
        assert str(resized.flavor["id"]) == str(bigger)
        _verify(probe)

    _action(member, own, {"resize": {"flavorRef": bigger}}, expect=400)
    # Trove 26 answers 400 (not 404) for a flavor that does not exist.
    _action(member, own, {"resize": {"flavorRef": "no-such-flavor"}}, expect=400)


@pytest.mark.requires("restart", "volume_resize", "flavor_resize")
def test_actions_from_another_project(alt: CloudClients, member: CloudClients, instance: Any,
                                      datastore: DatastoreUnderTest) -> None:
    """Another project's user cannot act on the instance: 404, and nothing happens."""
    _action(alt, instance, {"restart": {}}, expect=404)
    _action(alt, instance, {"resize": {"volume": {"size": int(instance.volume["size"]) + 1}}},
            expect=404)
    _action(alt, instance, {"resize": {"flavorRef": datastore.setup.flavor_id}}, expect=404)
    assert member.trove.instances.get(instance.id).status == "ACTIVE"
