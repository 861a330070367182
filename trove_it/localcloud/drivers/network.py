"""Network driver: one loopback address per instance, ports, security groups,
a router and floating IPs.

Trove builds an instance's ``addresses`` from the neutron ports whose
``device_id`` is its nova server, so each server gets a port holding its own
127.x address from the cloud's CIDR. Linux routes all of 127/8 to ``lo``, so
an engine bound to that address is reachable from the test process, and two
clouds with different CIDRs never collide.

As on a devstack, the tenant subnet has a router with its gateway on an
external network, so Trove's public instances (``access.is_public``) pass
its router check and get a floating IP from the external range. A floating
IP forwards the TCP ports its port's security groups open to the fixed
address (``floating_relay``), as neutron's L3 agent DNATs them.
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from neutronclient.common import exceptions as neutron_exc

from trove_it.localcloud.drivers.floating_relay import Connect, FloatingRelay, connect_tcp
from trove_it.localcloud.lifecycle.profiles import NetworkPlan

NETWORK_NAME = "trove-it-private"
MANAGEMENT_NAME = "trove-it-management"
PUBLIC_NAME = "trove-it-public"
ROUTER_NAME = "trove-it-router"
ROUTER_INTERFACE = "network:router_interface"
ROUTER_GATEWAY = "network:router_gateway"


def new_id() -> str:
    """A neutron resource id."""
    return str(uuid.uuid4())


class AddressPool:
    """Hands out host addresses of a CIDR, lowest free first.

    The network address and the first host (the conventional gateway) are
    never given out.
    """

    def __init__(self, cidr: str, exclude: str | None = None, private: bool = False):
        self.network = ipaddress.ip_network(cidr)
        if self.network.version != 4 or not (self.network.is_loopback or (
                private and self.network.is_private)):
            raise ValueError(f"network CIDR {cidr} must be an IPv4 range inside 127.0.0.0/8")
        self._excluded = ipaddress.ip_network(exclude) if exclude else None
        self._used: set[str] = set()
        self._lock = threading.Lock()

    def allocate(self) -> str:
        with self._lock:
            for host in itertools.islice(self.network.hosts(), 1, None):
                address = str(host)
                if self._excluded is not None and host in self._excluded:
                    break
                if address not in self._used:
                    self._used.add(address)
                    return address
        raise neutron_exc.IpAddressGenerationFailureClient(
            message=f"No more IP addresses available on subnet {self.network}.")

    def release(self, address: str) -> None:
        with self._lock:
            self._used.discard(address)

    def reserve(self, address: str) -> None:
        """Mark an address a restored port holds as taken."""
        with self._lock:
            self._used.add(address)

    @property
    def gateway(self) -> str:
        return str(next(iter(self.network.hosts())))


@dataclass
class _Network:
    """One network and its single subnet, with the pool its ports draw from."""

    network_id: str
    subnet_id: str
    name: str
    cidr: str
    pool: AddressPool
    external: bool = False

    def as_network(self) -> dict[str, Any]:
        return {"id": self.network_id, "name": self.name, "status": "ACTIVE",
                "subnets": [self.subnet_id], "shared": not self.external,
                "router:external": self.external, "admin_state_up": True, "tenant_id": "",
                "project_id": "", "mtu": 65536, "port_security_enabled": True}

    def as_subnet(self) -> dict[str, Any]:
        return {"id": self.subnet_id, "name": f"{self.name}-subnet",
                "network_id": self.network_id, "cidr": self.cidr, "ip_version": 4,
                "gateway_ip": self.pool.gateway, "enable_dhcp": True, "tenant_id": "",
                "project_id": ""}


class NetworkDriver:
    """The state behind the fake neutron client: the tenant network and, in the
    production profile, a management network (``profiles.NetworkPlan``)."""

    def __init__(self, cidr: str, management: bool = False, vm: bool = False,
                 connect: Connect = connect_tcp):
        """``vm``: the tenant subnet is the vm cloud's own private one (in its
        namespace), reached through ``connect``."""
        plan = NetworkPlan(cidr, management, vm)
        self.cidr = cidr
        public = plan.public_cidr
        self.tenant = _Network(plan.tenant_network_id, plan.tenant_subnet_id, NETWORK_NAME,
                               plan.tenant_cidr, AddressPool(plan.tenant_cidr, exclude=public,
                                                             private=vm))
        self.management: _Network | None = None
        if management:
            self.management = _Network(plan.management_network_id, plan.management_subnet_id,
                                       MANAGEMENT_NAME, plan.management_cidr,
                                       AddressPool(plan.management_cidr, exclude=public))
        self.public = _Network(plan.public_network_id, plan.public_subnet_id, PUBLIC_NAME,
                               public, AddressPool(public), external=True)
        self.ports: dict[str, dict[str, Any]] = {}
        self.security_groups: dict[str, dict[str, Any]] = {}
        self.security_group_rules: dict[str, dict[str, Any]] = {}
        self.routers: dict[str, dict[str, Any]] = {}
        self.floating_ips: dict[str, dict[str, Any]] = {}
        self.relay = FloatingRelay(connect)
        self._lock = threading.RLock()
        self._add_default_router(plan.router_id)

    def _add_default_router(self, router_id: str) -> None:
        """devstack's router1: gateway on the external network, an interface on
        the tenant subnet holding its gateway address."""
        gateway = self.create_port(name="", device_id=router_id, device_owner=ROUTER_GATEWAY,
                                   network_id=self.public.network_id)
        self.routers[router_id] = {
            "id": router_id, "name": ROUTER_NAME, "status": "ACTIVE", "admin_state_up": True,
            "tenant_id": "", "project_id": "", "description": "", "routes": [],
            "external_gateway_info": {
                "network_id": self.public.network_id, "enable_snat": True,
                "external_fixed_ips": gateway["fixed_ips"]}}
        self.create_port(name="", device_id=router_id, device_owner=ROUTER_INTERFACE,
                         network_id=self.tenant.network_id, ip_address=self.tenant.pool.gateway)

    # hand-over across a server restart (lifecycle/hand_over) -----------
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"ports": dict(self.ports), "security_groups": dict(self.security_groups),
                    "security_group_rules": dict(self.security_group_rules),
                    "routers": dict(self.routers), "floating_ips": dict(self.floating_ips)}

    def restore(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            self.ports = dict(snapshot["ports"])
            self.security_groups = dict(snapshot["security_groups"])
            self.security_group_rules = dict(snapshot["security_group_rules"])
            self.routers = dict(snapshot.get("routers") or self.routers)
            self.floating_ips = dict(snapshot.get("floating_ips") or {})
        for port in self.ports.values():
            pool = self.find(port["network_id"]).pool
            for fixed in port["fixed_ips"]:
                pool.reserve(fixed["ip_address"])
        for fip in self.floating_ips.values():
            self.public.pool.reserve(fip["floating_ip_address"])
            if fip.get("port_id"):
                self._forward(fip)

    # networks ---------------------------------------------------------
    @property
    def network_id(self) -> str:
        return self.tenant.network_id

    def networks(self) -> list[_Network]:
        return [self.tenant, *([self.management] if self.management else []), self.public]

    def find(self, ref: str) -> _Network:
        """A network by id or name."""
        for net in self.networks():
            if ref in (net.network_id, net.name):
                return net
        raise neutron_exc.NetworkNotFoundClient(message=f"Network {ref} could not be found.")

    # ports ------------------------------------------------------------
    def create_port(self, name: str = "", device_id: str = "", network_id: str | None = None,
                    project_id: str = "", device_owner: str = "",
                    security_groups: list[str] | None = None,
                    ip_address: str | None = None) -> dict[str, Any]:
        net = self.find(network_id) if network_id else self.tenant
        if ip_address:
            if any(f["ip_address"] == ip_address for p in list(self.ports.values())
                   for f in p["fixed_ips"]):
                raise neutron_exc.IpAddressInUseClient(
                    message=f"IP address {ip_address} already allocated in subnet "
                            f"{net.subnet_id}")
            net.pool.reserve(ip_address)
            address = ip_address
        else:
            address = net.pool.allocate()
        port_id = new_id()
        mac = "fa:16:3e:" + ":".join(f"{b:02x}" for b in uuid.uuid4().bytes[:3])
        port = {
            "id": port_id, "name": name, "network_id": net.network_id,
            "device_id": device_id, "device_owner": device_owner, "status": "ACTIVE",
            "admin_state_up": True, "mac_address": mac, "tenant_id": project_id,
            "project_id": project_id, "security_groups": list(security_groups or []),
            "fixed_ips": [{"subnet_id": net.subnet_id, "ip_address": address}],
        }
        with self._lock:
            self.ports[port_id] = port
        return port

    def delete_port(self, port_id: str) -> None:
        with self._lock:
            port = self.ports.pop(port_id, None)
        if port is None:
            raise neutron_exc.PortNotFoundClient(message=f"Port {port_id} could not be found.")
        net = self.find(port["network_id"])
        for fixed in port["fixed_ips"]:
            net.pool.release(fixed["ip_address"])
        for fip in list(self.floating_ips.values()):
            if fip.get("port_id") == port_id:
                # neutron keeps the floating IP, disassociated
                self.associate(fip["id"], None)

    def ports_of(self, device_id: str) -> list[dict[str, Any]]:
        return [p for p in list(self.ports.values()) if p["device_id"] == device_id]

    def address_of(self, device_id: str) -> str | None:
        """Where the server's database listens: its first port off the management
        network (Trove's network isolation gives the database the user port)."""
        management = self.management.network_id if self.management else None
        for port in self.ports_of(device_id):
            if port["network_id"] == management:
                continue
            for fixed in port["fixed_ips"]:
                return str(fixed["ip_address"])
        return None

    def release_device(self, device_id: str) -> None:
        for port in self.ports_of(device_id):
            self.delete_port(port["id"])

    # floating IPs -------------------------------------------------------
    def create_floating_ip(self, network_id: str, project_id: str,
                           port_id: str | None = None) -> dict[str, Any]:
        if self.find(network_id) is not self.public:
            raise neutron_exc.BadRequest(
                message=f"Network {network_id} is not a valid external network.")
        address = self.public.pool.allocate()
        fip: dict[str, Any] = {"id": new_id(), "floating_ip_address": address,
               "floating_network_id": self.public.network_id, "router_id": None,
               "port_id": None, "fixed_ip_address": None, "status": "DOWN",
               "tenant_id": project_id, "project_id": project_id, "description": "",
               "port_forwardings": [], "tags": []}
        with self._lock:
            self.floating_ips[fip["id"]] = fip
        if port_id:
            try:
                self.associate(fip["id"], port_id)
            except Exception:
                self.delete_floating_ip(fip["id"])
                raise
        return fip

    def floating_ip(self, fip_id: str) -> dict[str, Any]:
        fip = self.floating_ips.get(fip_id)
        if fip is None:
            raise neutron_exc.NotFound(message=f"Floating IP {fip_id} could not be found")
        return fip

    def associate(self, fip_id: str, port_id: str | None) -> dict[str, Any]:
        """Point a floating IP at a port's fixed address, or at nothing."""
        with self._lock:
            fip = self.floating_ip(fip_id)
            self.relay.stop(fip["floating_ip_address"])
            if port_id is None:
                fip.update(port_id=None, fixed_ip_address=None, router_id=None, status="DOWN")
                return fip
            port = self.ports.get(port_id)
            if port is None:
                raise neutron_exc.PortNotFoundClient(
                    message=f"Port {port_id} could not be found.")
            if port["network_id"] != self.tenant.network_id:
                raise neutron_exc.BadRequest(
                    message=f"External network {self.public.network_id} is not reachable "
                            f"from subnet of port {port_id}.")
            fip.update(port_id=port_id, fixed_ip_address=port["fixed_ips"][0]["ip_address"],
                       router_id=next(iter(self.routers)), status="ACTIVE")
            self._forward(fip)
            return fip

    def delete_floating_ip(self, fip_id: str) -> None:
        with self._lock:
            fip = self.floating_ip(fip_id)
            self.relay.stop(fip["floating_ip_address"])
            del self.floating_ips[fip_id]
        self.public.pool.release(fip["floating_ip_address"])

    def _forward(self, fip: dict[str, Any]) -> None:
        port = self.ports.get(fip["port_id"])
        if port is None:
            return
        self.relay.start(fip["floating_ip_address"], fip["fixed_ip_address"],
                         self.open_tcp_ports(port))

    def open_tcp_ports(self, port: dict[str, Any]) -> list[int]:
        """The TCP ports a port's security groups let in, as neutron would."""
        opened: set[int] = set()
        for rule in list(self.security_group_rules.values()):
            if (rule.get("security_group_id") in port.get("security_groups", [])
                    and rule.get("direction", "ingress") == "ingress"
                    and rule.get("protocol") in ("tcp", "6")
                    and rule.get("port_range_min") is not None):
                low = int(rule["port_range_min"])
                high = int(rule.get("port_range_max") or low)
                if high - low < 64:
                    opened.update(range(low, high + 1))
        return sorted(opened)

    def close(self) -> None:
        """Stop forwarding (the server is going away)."""
        self.relay.stop_all()


