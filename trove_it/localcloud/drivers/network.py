"""Network driver: one loopback address per instance, ports, security groups.

Trove builds an instance's ``addresses`` from the neutron ports whose
``device_id`` is its nova server, so each server gets a port holding its own
127.x address from the cloud's CIDR. Linux routes all of 127/8 to ``lo``, so
an engine bound to that address is reachable from the test process, and two
clouds with different CIDRs never collide.
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
import uuid
from dataclasses import dataclass
from typing import Any

from neutronclient.common import exceptions as neutron_exc

from trove_it.localcloud.lifecycle.profiles import NetworkPlan

NETWORK_NAME = "trove-it-private"
MANAGEMENT_NAME = "trove-it-management"


def _uuid() -> str:
    return str(uuid.uuid4())


class AddressPool:
    """Hands out host addresses of a CIDR, lowest free first.

    The network address and the first host (the conventional gateway) are
    never given out.
    """

    def __init__(self, cidr: str):
        self.network = ipaddress.ip_network(cidr)
        if self.network.version != 4 or not self.network.is_loopback:
            raise ValueError(f"network CIDR {cidr} must be an IPv4 range inside 127.0.0.0/8")
        self._used: set[str] = set()
        self._lock = threading.Lock()

    def allocate(self) -> str:
        with self._lock:
            for host in itertools.islice(self.network.hosts(), 1, None):
                address = str(host)
                if address not in self._used:
                    self._used.add(address)
                    return address
        raise neutron_exc.IpAddressGenerationFailureClient(
            message=f"No more IP addresses available on network {NETWORK_NAME}.")

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

    def as_network(self) -> dict[str, Any]:
        return {"id": self.network_id, "name": self.name, "status": "ACTIVE",
                "subnets": [self.subnet_id], "shared": True, "router:external": False,
                "admin_state_up": True, "tenant_id": "", "project_id": "", "mtu": 65536}

    def as_subnet(self) -> dict[str, Any]:
        return {"id": self.subnet_id, "name": f"{self.name}-subnet",
                "network_id": self.network_id, "cidr": self.cidr, "ip_version": 4,
                "gateway_ip": self.pool.gateway, "enable_dhcp": True, "tenant_id": "",
                "project_id": ""}


class NetworkDriver:
    """The state behind the fake neutron client: the tenant network and, in the
    production profile, a management network (``profiles.NetworkPlan``)."""

    def __init__(self, cidr: str, management: bool = False):
        plan = NetworkPlan(cidr, management)
        self.cidr = cidr
        self.tenant = _Network(plan.tenant_network_id, plan.tenant_subnet_id, NETWORK_NAME,
                               plan.tenant_cidr, AddressPool(plan.tenant_cidr))
        self.management: _Network | None = None
        if management:
            self.management = _Network(plan.management_network_id, plan.management_subnet_id,
                                       MANAGEMENT_NAME, plan.management_cidr,
                                       AddressPool(plan.management_cidr))
        self.ports: dict[str, dict[str, Any]] = {}
        self.security_groups: dict[str, dict[str, Any]] = {}
        self.security_group_rules: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    # hand-over across a server restart (lifecycle/hand_over) -----------
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"ports": dict(self.ports), "security_groups": dict(self.security_groups),
                    "security_group_rules": dict(self.security_group_rules)}

    def restore(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            self.ports = dict(snapshot["ports"])
            self.security_groups = dict(snapshot["security_groups"])
            self.security_group_rules = dict(snapshot["security_group_rules"])
        for port in self.ports.values():
            pool = self.find(port["network_id"]).pool
            for fixed in port["fixed_ips"]:
                pool.reserve(fixed["ip_address"])

    # networks ---------------------------------------------------------
    @property
    def network_id(self) -> str:
        return self.tenant.network_id

    def networks(self) -> list[_Network]:
        return [self.tenant, *([self.management] if self.management else [])]

    def find(self, ref: str) -> _Network:
        """A network by id or name."""
        for net in self.networks():
            if ref in (net.network_id, net.name):
                return net
        raise neutron_exc.NetworkNotFoundClient(message=f"Network {ref} could not be found.")

    # ports ------------------------------------------------------------
    def create_port(self, name: str = "", device_id: str = "", network_id: str | None = None,
                    project_id: str = "", device_owner: str = "",
                    security_groups: list[str] | None = None) -> dict[str, Any]:
        net = self.find(network_id) if network_id else self.tenant
        address = net.pool.allocate()
        port_id = _uuid()
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


def _match(item: dict[str, Any], filters: dict[str, Any]) -> bool:
    for key, wanted in filters.items():
        if key in ("fields", "retrieve_all"):
            continue
        value = item.get(key)
        if isinstance(wanted, (list, tuple)):
            if value not in wanted:
                return False
        elif value != wanted and str(value) != str(wanted):
            return False
    return True


class NeutronClient:
    """The subset of neutronclient's v2 client that Trove calls (dict API)."""

    def __init__(self, driver: NetworkDriver, project_id: str):
        self._driver = driver
        self._project_id = project_id

    # networks and subnets
    def list_networks(self, **filters: Any) -> dict[str, Any]:
        nets = [n.as_network() for n in self._driver.networks()]
        return {"networks": [n for n in nets if _match(n, filters)]}

    def show_network(self, network_id: str, **_: Any) -> dict[str, Any]:
        return {"network": self._driver.find(network_id).as_network()}

    def list_subnets(self, **filters: Any) -> dict[str, Any]:
        subnets = [n.as_subnet() for n in self._driver.networks()]
        return {"subnets": [s for s in subnets if _match(s, filters)]}

    def show_subnet(self, subnet_id: str, **_: Any) -> dict[str, Any]:
        for net in self._driver.networks():
            if subnet_id == net.subnet_id:
                return {"subnet": net.as_subnet()}
        raise neutron_exc.NotFound(message=f"Subnet {subnet_id} could not be found.")

    def find_resource(self, resource: str, name_or_id: str, **_: Any) -> dict[str, Any]:
        """neutronclient's lookup by name or id (Trove's cluster create checks the
        members' network with it)."""
        if resource != "network":
            raise neutron_exc.NotFound(message=f"Unable to find {resource} {name_or_id}.")
        return self._driver.find(name_or_id).as_network()

    def show_extension(self, alias: str) -> dict[str, Any]:
        return {"extension": {"alias": alias, "name": alias}}

    def list_extensions(self, **_: Any) -> dict[str, Any]:
        return {"extensions": []}

    def list_routers(self, **_: Any) -> dict[str, Any]:
        return {"routers": []}

    # ports
    def create_port(self, body: dict[str, Any]) -> dict[str, Any]:
        spec = body.get("port", {})
        port = self._driver.create_port(
            name=spec.get("name", ""), device_id=spec.get("device_id", ""),
            network_id=spec.get("network_id"), project_id=self._project_id,
            device_owner=spec.get("device_owner", ""),
            security_groups=spec.get("security_groups"))
        return {"port": port}

    def show_port(self, port_id: str, **_: Any) -> dict[str, Any]:
        port = self._driver.ports.get(port_id)
        if port is None:
            raise neutron_exc.PortNotFoundClient(message=f"Port {port_id} could not be found.")
        return {"port": port}

    def update_port(self, port_id: str, body: dict[str, Any]) -> dict[str, Any]:
        port = self.show_port(port_id)["port"]
        for key, value in body.get("port", {}).items():
            if key != "fixed_ips":
                port[key] = value
        return {"port": port}

    def list_ports(self, **filters: Any) -> dict[str, Any]:
        return {"ports": [p for p in list(self._driver.ports.values()) if _match(p, filters)]}

    def delete_port(self, port_id: str) -> None:
        self._driver.delete_port(port_id)

    # floating ips: none on a loopback network
    def list_floatingips(self, **_: Any) -> dict[str, Any]:
        return {"floatingips": []}

    def create_floatingip(self, body: dict[str, Any]) -> dict[str, Any]:
        raise neutron_exc.NotFound(
            message="The local cloud has no external network for floating IPs.")

    def delete_floatingip(self, fip_id: str) -> None:
        raise neutron_exc.NotFound(message=f"Floating IP {fip_id} could not be found.")

    # security groups
    def create_security_group(self, body: dict[str, Any]) -> dict[str, Any]:
        spec = body.get("security_group", {})
        group = {"id": _uuid(), "name": spec.get("name", ""),
                 "description": spec.get("description", ""), "tenant_id": self._project_id,
                 "project_id": self._project_id, "security_group_rules": []}
        self._driver.security_groups[group["id"]] = group
        return {"security_group": group}

    def show_security_group(self, group_id: str, **_: Any) -> dict[str, Any]:
        group = self._driver.security_groups.get(group_id)
        if group is None:
            raise neutron_exc.NotFound(message=f"Security group {group_id} does not exist.")
        return {"security_group": group}

    def list_security_groups(self, **filters: Any) -> dict[str, Any]:
        groups = list(self._driver.security_groups.values())
        return {"security_groups": [g for g in groups if _match(g, filters)]}

    def delete_security_group(self, group_id: str) -> None:
        if self._driver.security_groups.pop(group_id, None) is None:
            raise neutron_exc.NotFound(message=f"Security group {group_id} does not exist.")
        for rule_id, rule in list(self._driver.security_group_rules.items()):
            if rule["security_group_id"] == group_id:
                del self._driver.security_group_rules[rule_id]

    def create_security_group_rule(self, body: dict[str, Any]) -> dict[str, Any]:
        spec = dict(body.get("security_group_rule", {}))
        group_id = str(spec.get("security_group_id") or "")
        group = self.show_security_group(group_id)["security_group"]
        rule = {"id": _uuid(), "tenant_id": self._project_id, "project_id": self._project_id,
                **spec}
        self._driver.security_group_rules[rule["id"]] = rule
        group["security_group_rules"].append(rule)
        return {"security_group_rule": rule}

    def list_security_group_rules(self, **filters: Any) -> dict[str, Any]:
        rules = list(self._driver.security_group_rules.values())
        return {"security_group_rules": [r for r in rules if _match(r, filters)]}

    def delete_security_group_rule(self, rule_id: str) -> None:
        rule = self._driver.security_group_rules.pop(rule_id, None)
        if rule is None:
            raise neutron_exc.NotFound(message=f"Security group rule {rule_id} not found.")
        group = self._driver.security_groups.get(rule["security_group_id"])
        if group:
            group["security_group_rules"] = [
                r for r in group["security_group_rules"] if r["id"] != rule_id]

