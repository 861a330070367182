"""Nova's server and flavor views by microversion (``endpoints/compute_views``),
checked against nova's API reference: the 2.1 shape that clients validate
strictly (tempest's schemas forbid unknown keys), and what each later
microversion adds or changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from trove_it.localcloud.drivers.compute import DEFAULT_FLAVORS, ComputeDriver, Server
from trove_it.localcloud.drivers.image import ImageStore
from trove_it.localcloud.drivers.network import NetworkDriver
from trove_it.localcloud.drivers.volume import VolumeDriver
from trove_it.localcloud.endpoints import compute_views as views
from trove_it.localcloud.faults import Faults

BASE = "http://127.0.0.1:1/compute/v2.1"
# nova API reference, GET /servers/{id} at 2.1 (non-admin): every key it may show.
V2_1_KEYS = {
    "id", "name", "status", "tenant_id", "user_id", "metadata", "hostId", "image", "flavor",
    "created", "updated", "addresses", "accessIPv4", "accessIPv6", "links",
    "OS-DCF:diskConfig", "progress", "fault", "key_name", "config_drive", "security_groups",
    "OS-EXT-AZ:availability_zone", "OS-SRV-USG:launched_at", "OS-SRV-USG:terminated_at",
    "OS-EXT-STS:task_state", "OS-EXT-STS:vm_state", "OS-EXT-STS:power_state",
    "os-extended-volumes:volumes_attached"}
ADMIN_2_1 = {"OS-EXT-SRV-ATTR:host", "OS-EXT-SRV-ATTR:instance_name",
             "OS-EXT-SRV-ATTR:hypervisor_hostname"}


class _NoEvents:
    def boot(self, server: Server) -> None:
        pass

    def power_off(self, server: Server) -> None:
        pass

    def power_cycle(self, server: Server) -> None:
        pass

    def destroy(self, server: Server) -> None:
        pass


@pytest.fixture
def server(tmp_path: Path) -> Server:
    network = NetworkDriver("127.93.0.0/16")
    driver = ComputeDriver(network, VolumeDriver(), ImageStore(tmp_path), Faults(), _NoEvents())
    item = Server(driver, "db-1", "image-1", DEFAULT_FLAVORS[4], "project", "user",
                  {"trove_instance_id": "i-1"}, ["trove_instance"], None, None, None)
    item.status = "ACTIVE"
    network.create_port(device_id=item.id)
    return item


def _view(server: Server, version: tuple[int, int], admin: bool = False) -> dict[str, object]:
    return views.server(server, version, BASE, admin, ["vol-1"])


def test_version_2_1_is_the_strict_original_shape(server: Server) -> None:
    view = _view(server, views.requested({}))
    assert set(view) <= V2_1_KEYS, f"not in 2.1: {sorted(set(view) - V2_1_KEYS)}"
    assert view["flavor"] == {"id": "d2", "links": [
        {"rel": "bookmark", "href": "http://127.0.0.1:1/compute/flavors/d2"}]}
    assert view["image"] == {"id": "image-1", "links": [
        {"rel": "bookmark", "href": "http://127.0.0.1:1/compute/images/image-1"}]}
    assert view["os-extended-volumes:volumes_attached"] == [{"id": "vol-1"}]
    assert view["progress"] == 100 and view["OS-EXT-STS:power_state"] == 1
    admin = _view(server, (2, 1), admin=True)
    assert set(admin) - set(view) == ADMIN_2_1


def test_later_microversions_add_what_nova_added(server: Server) -> None:
    assert "tags" not in _view(server, (2, 25))
    assert _view(server, (2, 26))["tags"] == ["trove_instance"]
    assert _view(server, (2, 9))["locked"] is False
    assert "description" in _view(server, (2, 19))
    embedded = _view(server, (2, 47))["flavor"]
    assert isinstance(embedded, dict) and "id" not in embedded
    assert embedded["original_name"] == "ds1G" and embedded["ram"] == 1024
    assert _view(server, (2, 3))["os-extended-volumes:volumes_attached"] == [
        {"id": "vol-1", "delete_on_termination": False}]
    newest = _view(server, views.MAX_VERSION)
    assert {"server_groups", "locked_reason", "pinned_availability_zone",
            "trusted_image_certificates"} <= set(newest)
    assert "OS-EXT-SRV-ATTR:hostname" not in newest, "admin-only"
    assert "OS-EXT-SRV-ATTR:hostname" in _view(server, (2, 3), admin=True)


def test_flavor_views() -> None:
    flavor = DEFAULT_FLAVORS[0]
    original = views.flavor(flavor, (2, 1), BASE)
    assert "description" not in original and "extra_specs" not in original
    assert original["swap"] == "" and "rxtx_factor" in original
    assert {"description", "extra_specs"} <= set(views.flavor(flavor, (2, 61), BASE))
    newest = views.flavor(flavor, (2, 75), BASE)
    assert newest["swap"] == 0 and "rxtx_factor" not in newest


@pytest.mark.parametrize("headers, expected", [
    ({}, (2, 1)),
    ({"OpenStack-API-Version": "compute 2.47"}, (2, 47)),
    ({"OpenStack-API-Version": "volume 3.9, compute 2.26"}, (2, 26)),
    ({"X-OpenStack-Nova-API-Version": "2.60"}, (2, 60)),
    ({"OpenStack-API-Version": "compute latest"}, views.MAX_VERSION),
])
def test_requested_version(headers: dict[str, str], expected: tuple[int, int]) -> None:
    assert views.requested(headers) == expected


def test_unsupported_version_is_406() -> None:
    with pytest.raises(views.NotAcceptable, match="Version 3.0 is not supported by the API. "
                                                  "Minimum is 2.1 and maximum is 2.96."):
        views.requested({"OpenStack-API-Version": "compute 3.0"})
