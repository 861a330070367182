"""The config drive nova gives a server: metadata, user data and network data.

Nova with ``force_config_drive`` attaches an ISO 9660 volume labelled
``config-2`` holding ``openstack/latest/meta_data.json``, ``user_data`` (what
Trove passed: its cloud-config with the injected files) and
``network_data.json`` (each port's MAC, fixed address and the subnet's
gateway), which cloud-init's ConfigDrive datasource reads at first boot.
The guest needs no metadata service and no DHCP server.
"""

from __future__ import annotations

import ipaddress
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trove_it.images import iso

LABEL = "config-2"


class ConfigDriveError(RuntimeError):
    """The ISO could not be written; the message says why."""


@dataclass(frozen=True)
class Nic:
    port_id: str
    mac: str
    address: str
    cidr: str
    gateway: str | None
    network_id: str
    mtu: int = 1500


def meta_data(server_id: str, name: str, availability_zone: str,
              metadata: dict[str, str], project_id: str) -> dict[str, Any]:
    hostname = "".join(c if c.isalnum() or c == "-" else "-" for c in name.lower())[:63]
    return {"uuid": server_id, "name": name, "hostname": hostname or "instance",
            "availability_zone": availability_zone, "launch_index": 0,
            "meta": dict(metadata), "project_id": project_id, "public_keys": {},
            "devices": []}


def network_data(nics: list[Nic]) -> dict[str, Any]:
    links, networks = [], []
    for index, nic in enumerate(nics):
        link = f"tap{nic.port_id[:11]}"
        links.append({"id": link, "type": "phy", "ethernet_mac_address": nic.mac,
                      "mtu": nic.mtu, "vif_id": nic.port_id})
        net = ipaddress.ip_network(nic.cidr)
        routes = []
        if nic.gateway and index == 0:
            routes.append({"network": "0.0.0.0", "netmask": "0.0.0.0",
                           "gateway": nic.gateway})
        networks.append({"id": f"network{index}", "type": "ipv4", "link": link,
                         "ip_address": nic.address, "netmask": str(net.netmask),
                         "routes": routes, "network_id": nic.network_id,
                         "services": []})
    return {"links": links, "networks": networks, "services": []}


def _iso_tool() -> list[str]:
    command = iso.writer()
    if command is None:
        raise ConfigDriveError("a config drive needs genisoimage, mkisofs or xorriso "
                               f"({iso.INSTALL_HINT})")
    return command


def write(directory: Path, meta: dict[str, Any], user_data: str | bytes | None,
          nics: list[Nic]) -> Path:
    """Write the drive's files under ``directory/config-drive`` and the ISO
    beside them; returns the ISO."""
    tree = directory / "config-drive"
    latest = tree / "openstack" / "latest"
    latest.mkdir(parents=True, exist_ok=True)
    (latest / "meta_data.json").write_text(json.dumps(meta))
    (latest / "network_data.json").write_text(json.dumps(network_data(nics)))
    (latest / "vendor_data.json").write_text("{}")
    if user_data:
        data = user_data.encode() if isinstance(user_data, str) else user_data
        (latest / "user_data").write_bytes(data)
    iso = directory / "config-drive.iso"
    result = subprocess.run([*_iso_tool(), "-quiet", "-output", str(iso), "-volid", LABEL,
                             "-joliet", "-rock", str(tree)],
                            capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise ConfigDriveError(f"could not write the config drive: "
                               f"{result.stderr.strip()[:200]}")
    return iso
