"""The subset of neutronclient's v2 client that Trove calls (its dict API),
over the local network driver; the REST endpoint (``endpoints/network``)
answers tempest and the SDK from the same filters."""

from __future__ import annotations

from typing import Any

from neutronclient.common import exceptions as neutron_exc

from trove_it.localcloud.drivers.network import NetworkDriver, new_id


def _fixed_ips_match(port: dict[str, Any], wanted: Any) -> bool:
    """neutron's ``fixed_ips=subnet_id=X`` / ``fixed_ips=ip_address=Y`` filter:
    every term must match one of the port's fixed IPs."""
    terms = wanted if isinstance(wanted, (list, tuple)) else [wanted]
    for term in terms:
        key, _, value = str(term).partition("=")
        if not any(str(f.get(key)) == value for f in port.get("fixed_ips", [])):
            return False
    return True


def matches(item: dict[str, Any], filters: dict[str, Any]) -> bool:
    """neutron's list filters: equality, any-of for lists, fixed_ips terms."""
    for key, wanted in filters.items():
        if key in ("fields", "retrieve_all", "limit", "marker", "sort_key", "sort_dir"):
            continue
        if key == "fixed_ips":
            if not _fixed_ips_match(item, wanted):
                return False
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
        return {"networks": [n for n in nets if matches(n, filters)]}

    def show_network(self, network_id: str, **_: Any) -> dict[str, Any]:
        return {"network": self._driver.find(network_id).as_network()}

    def list_subnets(self, **filters: Any) -> dict[str, Any]:
        subnets = [n.as_subnet() for n in self._driver.networks()]
        return {"subnets": [s for s in subnets if matches(s, filters)]}

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

    def list_routers(self, **filters: Any) -> dict[str, Any]:
        routers = list(self._driver.routers.values())
        return {"routers": [r for r in routers if matches(r, filters)]}

    # ports
    def create_port(self, body: dict[str, Any]) -> dict[str, Any]:
        spec = body.get("port", {})
        port = self._driver.create_port(
            name=spec.get("name", ""), device_id=spec.get("device_id", ""),
            network_id=spec.get("network_id"), project_id=self._project_id,
            device_owner=spec.get("device_owner", ""),
            security_groups=spec.get("security_groups"),
            ip_address=next((f.get("ip_address") for f in spec.get("fixed_ips") or []
                             if f.get("ip_address")), None))
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
        return {"ports": [p for p in list(self._driver.ports.values()) if matches(p, filters)]}

    def delete_port(self, port_id: str) -> None:
        self._driver.delete_port(port_id)

    # floating ips
    def list_floatingips(self, **filters: Any) -> dict[str, Any]:
        fips = list(self._driver.floating_ips.values())
        return {"floatingips": [f for f in fips if matches(f, filters)]}

    def show_floatingip(self, fip_id: str, **_: Any) -> dict[str, Any]:
        return {"floatingip": self._driver.floating_ip(fip_id)}

    def create_floatingip(self, body: dict[str, Any]) -> dict[str, Any]:
        spec = body.get("floatingip", {})
        fip = self._driver.create_floating_ip(
            spec.get("floating_network_id", ""),
            spec.get("project_id") or spec.get("tenant_id") or self._project_id,
            spec.get("port_id"))
        return {"floatingip": fip}

    def update_floatingip(self, fip_id: str, body: dict[str, Any]) -> dict[str, Any]:
        return {"floatingip": self._driver.associate(
            fip_id, (body.get("floatingip") or {}).get("port_id"))}

    def delete_floatingip(self, fip_id: str) -> None:
        self._driver.delete_floating_ip(fip_id)

    # security groups
    def create_security_group(self, body: dict[str, Any]) -> dict[str, Any]:
        spec = body.get("security_group", {})
        group = {"id": new_id(), "name": spec.get("name", ""),
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
        return {"security_groups": [g for g in groups if matches(g, filters)]}

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
        rule = {"id": new_id(), "tenant_id": self._project_id, "project_id": self._project_id,
                **spec}
        self._driver.security_group_rules[rule["id"]] = rule
        group["security_group_rules"].append(rule)
        return {"security_group_rule": rule}

    def list_security_group_rules(self, **filters: Any) -> dict[str, Any]:
        rules = list(self._driver.security_group_rules.values())
        return {"security_group_rules": [r for r in rules if matches(r, filters)]}

    def delete_security_group_rule(self, rule_id: str) -> None:
        rule = self._driver.security_group_rules.pop(rule_id, None)
        if rule is None:
            raise neutron_exc.NotFound(message=f"Security group rule {rule_id} not found.")
        group = self._driver.security_groups.get(rule["security_group_id"])
        if group:
            group["security_group_rules"] = [
                r for r in group["security_group_rules"] if r["id"] != rule_id]

