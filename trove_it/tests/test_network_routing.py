"""The local neutron's router and floating IPs, as Trove uses them for a
public instance (``trove/common/neutron.py``): the tenant subnet passes
``check_subnet_router``, a floating IP comes from the external network and
carries the ports the port's security groups open to the fixed address, and
it stops when disassociated or its port goes."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest
from neutronclient.common import exceptions as neutron_exc

from trove_it.localcloud.drivers.network import ROUTER_INTERFACE, NetworkDriver
from trove_it.localcloud.drivers.neutron_client import NeutronClient

CIDR = "127.94.0.0/16"


@pytest.fixture
def neutron() -> Iterator[NeutronClient]:
    driver = NetworkDriver(CIDR)
    yield NeutronClient(driver, "project-a")
    driver.close()


def _echo_server(address: str, port: int) -> socket.socket:
    server = socket.create_server((address, port))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(4096):
                    conn.sendall(data.upper())

    threading.Thread(target=serve, daemon=True).start()
    return server


def _round_trip(address: str, port: int) -> bytes:
    with socket.create_connection((address, port), timeout=5) as conn:
        conn.sendall(b"ping")
        conn.shutdown(socket.SHUT_WR)
        return conn.recv(4096)


def _public_port(neutron: NeutronClient, tcp_port: int) -> dict[str, object]:
    group = neutron.create_security_group({"security_group": {"name": "trove_sg-x"}})
    neutron.create_security_group_rule({"security_group_rule": {
        "security_group_id": group["security_group"]["id"], "direction": "ingress",
        "protocol": "tcp", "port_range_min": tcp_port, "port_range_max": tcp_port,
        "remote_ip_prefix": "0.0.0.0/0"}})
    net = neutron.list_networks(name="trove-it-private")["networks"][0]
    return neutron.create_port({"port": {
        "name": "trove-x", "network_id": net["id"],
        "security_groups": [group["security_group"]["id"]]}})["port"]


def test_tenant_subnet_has_a_router_interface(neutron: NeutronClient) -> None:
    subnet = neutron.list_subnets(name="trove-it-private-subnet")["subnets"][0]
    # exactly Trove's query (check_subnet_router)
    found = neutron.list_ports(device_owner=ROUTER_INTERFACE,
                               fixed_ips=f"subnet_id={subnet['id']}")["ports"]
    assert len(found) == 1 and found[0]["fixed_ips"][0]["ip_address"] == subnet["gateway_ip"]
    router = neutron.list_routers()["routers"][0]
    external = neutron.list_networks(**{"router:external": True})["networks"]
    assert [n["id"] for n in external] == [router["external_gateway_info"]["network_id"]]
    assert not neutron.list_ports(device_owner=ROUTER_INTERFACE,
                                  fixed_ips="subnet_id=no-such-subnet")["ports"]


def test_floating_ip_forwards_the_open_ports(neutron: NeutronClient) -> None:
    port = _public_port(neutron, 3306)
    fixed = port["fixed_ips"][0]["ip_address"]  # type: ignore[index]
    echo = _echo_server(fixed, 3306)
    try:
        public = neutron.list_networks(**{"router:external": True})["networks"][0]
        fip = neutron.create_floatingip({"floatingip": {
            "floating_network_id": public["id"], "port_id": port["id"],
            "project_id": "project-a"}})["floatingip"]
        address = fip["floating_ip_address"]
        assert address.startswith("127.94.255.") and fip["fixed_ip_address"] == fixed
        assert neutron.list_floatingips(port_id=port["id"])["floatingips"] == [fip]
        assert neutron._driver.relay.forwarded(address) == [3306]
        assert _round_trip(address, 3306) == b"PING"
        # a port its security groups do not open is not forwarded
        with pytest.raises(OSError):
            _round_trip(address, 22)
        neutron.update_floatingip(fip["id"], {"floatingip": {"port_id": None}})
        with pytest.raises(OSError):
            _round_trip(address, 3306)
        neutron.update_floatingip(fip["id"], {"floatingip": {"port_id": port["id"]}})
        assert _round_trip(address, 3306) == b"PING"
        # deleting the port disassociates the floating IP, which stays allocated
        neutron.delete_port(str(port["id"]))
        assert neutron.show_floatingip(fip["id"])["floatingip"]["port_id"] is None
        with pytest.raises(OSError):
            _round_trip(address, 3306)
        neutron.delete_floatingip(fip["id"])
        assert neutron.list_floatingips()["floatingips"] == []
    finally:
        echo.close()


def test_floating_ips_only_from_the_external_network(neutron: NeutronClient) -> None:
    private = neutron.list_networks(name="trove-it-private")["networks"][0]
    with pytest.raises(neutron_exc.BadRequest):
        neutron.create_floatingip({"floatingip": {"floating_network_id": private["id"]}})


def test_tenant_addresses_never_come_from_the_floating_range() -> None:
    driver = NetworkDriver("127.95.0.0/22")
    addresses = set()
    with pytest.raises(neutron_exc.IpAddressGenerationFailureClient):
        for _ in range(1024):
            addresses.add(driver.create_port()["fixed_ips"][0]["ip_address"])
    assert addresses and not any(a.startswith("127.95.3.") for a in addresses)
    # the floating range is 127.95.3.0/24 and still has room
    assert driver.create_floating_ip(driver.public.network_id, "p")["floating_ip_address"] \
        .startswith("127.95.3.")
