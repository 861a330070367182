"""The local cloud's production profile is deployed like a real Trove cloud:
a management network beside the tenant network with the database on the
tenant address only, zone az-1, unlimited quotas, servers booted from a
volume made from the image, and a default volume type. Checked through the
cloud's own APIs on one instance (the scenario suites run on the profile in
CI)."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trove_it import compute_facts, waiters
from trove_it.clients import CloudClients, connect
from trove_it.instances import address_of
from trove_it.localcloud.datastores import LOCAL_IMAGE_ID
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle import profiles
from trove_it.localcloud.lifecycle.launcher import LocalCloud
from trove_it.localcloud.lifecycle.layout import CloudDescriptor, default_state_root
from trove_it.tests.conftest import require_engine
from trove_it.tests.sockets import listening


@pytest.fixture(scope="module")
def production_cloud() -> Iterator[CloudDescriptor]:
    require_engine("mariadb")
    name = f"trove-it-prod-{secrets.token_hex(3)}"
    cloud = LocalCloud(name, state_dir=default_state_root() / f"{name}-{os.getpid()}",
                       profile="production")
    descriptor = cloud.up(tie_to_parent=True)
    yield descriptor
    cloud.down()


@pytest.fixture(scope="module")
def accounts(production_cloud: CloudDescriptor) -> dict[str, CloudClients]:
    names = cloud_names(production_cloud.name)
    path = Path(production_cloud.clouds_yaml)
    return {"member": connect(names["member"], path), "admin": connect(names["admin"], path)}


@pytest.fixture(scope="module")
def built(production_cloud: CloudDescriptor, accounts: dict[str, CloudClients]) -> Any:
    member = accounts["member"]
    tenant = member.conn.network.find_network("trove-it-private")
    created = member.trove.instances.create(
        "prod-one", "d2", volume={"size": 1}, datastore="mysql", datastore_version="8.0",
        nics=[{"net-id": tenant.id}], availability_zone="az-1")
    return waiters.wait_for_instance(member.trove, created.id, timeout=180)


def test_both_networks_are_offered(accounts: dict[str, CloudClients]) -> None:
    networks = {n.name: n for n in accounts["member"].conn.network.networks()}
    # and, as on a devstack, the external network the router's gateway is on
    assert set(networks) == {"trove-it-private", "trove-it-management", "trove-it-public"}
    assert networks["trove-it-public"].is_router_external
    assert not networks["trove-it-private"].is_router_external


def test_the_database_listens_on_the_tenant_address_only(
        production_cloud: CloudDescriptor, accounts: dict[str, CloudClients],
        built: Any) -> None:
    admin = accounts["admin"]
    shown = admin.trove.instances.get(built.id)
    server = admin.conn.compute.get_server(shown.server_id)
    assert set(server.addresses) == {"trove-it-private", "trove-it-management"}
    plan = profiles.NetworkPlan(production_cloud.network_cidr, management=True)
    address = address_of(shown)
    assert address in {a["addr"] for a in server.addresses["trove-it-private"]}
    assert (address, 3306) in listening(plan.tenant_cidr)
    assert not listening(plan.management_cidr), "something listens on the management network"


def test_zone_quota_and_storage_are_production_like(
        accounts: dict[str, CloudClients], built: Any) -> None:
    admin, member = accounts["admin"], accounts["member"]
    server = admin.conn.compute.get_server(admin.trove.instances.get(built.id).server_id)
    assert server.availability_zone == "az-1"
    assert not (server.image or {}).get("id"), "the server boots from its image, not a volume"
    assert compute_facts.booted_image(admin, server) == LOCAL_IMAGE_ID
    volumes = [admin.conn.block_storage.get_volume(v["id"]) for v in server.attached_volumes]
    data = [v for v in volumes if str(v.is_bootable).lower() != "true"]
    assert [v.volume_type for v in data] == ["trove-it-ssd"]
    assert compute_facts.ram_quota_mb(admin) == -1
    limits = {limit.verb: limit for limit in member.trove.limits.list()}["ABSOLUTE"]._info
    assert all(int(limits[k]) == -1 for k in ("max_instances", "max_volumes", "max_backups"))
