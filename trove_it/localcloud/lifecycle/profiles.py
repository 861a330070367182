"""How a local cloud is deployed: the default, or like a production cloud.

The default profile is the simplest Trove deployment: one network whose
address the engines listen on, the ``nova`` availability zone, bounded
quotas, and servers booted from their image with a Cinder data volume.

The ``production`` profile is set up the way real Trove deployments are,
so that a suite passing on it does not depend on the default's shortcuts:

- a management network beside the tenant network (Trove's
  ``management_networks`` and ``[network] network_isolation``): every
  instance gets a port on each, and its database listens only on the
  tenant network's address, which is the one the API shows;
- an availability zone that is not ``nova``;
- unlimited (``-1``) Trove quotas and an unlimited nova RAM quota, as many
  clouds have;
- Cinder as the storage driver for the root disk too
  (``volume_rootdisk_support``), so servers boot from a volume made from the
  image;
- a default volume type (``cinder_volume_type``) that is not the only one.

The ``vm`` profile runs real guests: every server is a QEMU guest booted
from its Glance image, with Trove 26's own guest agent reporting over a
RabbitMQ of the cloud's own (``trove_it.localcloud.vm``). Its tenant network
is a bridge in a network namespace of the cloud's own, so every vm cloud
uses the same private subnet, and the guests reach the cloud's services
(catalogue, message bus, container registry) at the subnet's gateway.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    name: str
    summary: str
    management_network: bool = False
    availability_zone: str = "nova"
    unlimited_quotas: bool = False
    boot_from_volume: bool = False
    volume_type: str | None = None
    vm: bool = False
    """Servers are QEMU guests running Trove's own agent (see ``trove_it.localcloud.vm``)."""


PROFILES: dict[str, Profile] = {
    "default": Profile("default", "one network, zone 'nova', bounded quotas, image-booted "
                       "servers"),
    "production": Profile(
        "production", "management and tenant networks, zone 'az-1', unlimited quotas, "
        "servers booted from volume, default volume type 'trove-it-ssd'",
        management_network=True, availability_zone="az-1", unlimited_quotas=True,
        boot_from_volume=True, volume_type="trove-it-ssd"),
    "vm": Profile(
        "vm", "QEMU guests booted from their Glance image, running Trove's own guest agent "
        "over the cloud's RabbitMQ; one network in a namespace of the cloud's own",
        vm=True),
}
VM_TENANT_CIDR = "10.120.0.0/24"
VM_GATEWAY = "10.120.0.1"
"""The bridge in a vm cloud's namespace: the guests' gateway, where the gateway
relay serves the catalogue, RabbitMQ and the registry."""
VM_RABBIT_PORT = 5672
VM_REGISTRY_PORT = 5000
VM_REGISTRY = f"{VM_GATEWAY}:{VM_REGISTRY_PORT}"
"""Where a vm cloud's guests pull container images from; guest images built
for it preload theirs under this name."""
DEFAULT = "default"
VOLUME_TYPES = ("trove-it-local", "trove-it-ssd")
"""Every local cloud offers both; the production profile makes the second the default."""


class UnknownProfile(ValueError):
    """The message is the user's one line."""


def get(name: str) -> Profile:
    try:
        return PROFILES[name]
    except KeyError:
        raise UnknownProfile(f"unknown local cloud profile {name!r}; choose from "
                             f"{', '.join(PROFILES)}") from None


@dataclass(frozen=True)
class NetworkPlan:
    """The networks of a cloud with this CIDR: ids are derived from it, so the
    config renderer and the server's network driver agree without talking."""

    cidr: str
    management: bool
    vm: bool = False

    def _id(self, what: str) -> str:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"trove-it:{self.cidr}:{what}"))

    @property
    def tenant_network_id(self) -> str:
        return self._id("net")

    @property
    def tenant_subnet_id(self) -> str:
        return self._id("subnet")

    @property
    def management_network_id(self) -> str:
        return self._id("mgmt-net")

    @property
    def management_subnet_id(self) -> str:
        return self._id("mgmt-subnet")

    @property
    def tenant_cidr(self) -> str:
        """The whole range, or its lower half when a management network takes the
        upper; a vm cloud's own subnet in its namespace."""
        if self.vm:
            return VM_TENANT_CIDR
        net = ipaddress.ip_network(self.cidr)
        return str(next(net.subnets(1))) if self.management else str(net)

    @property
    def management_cidr(self) -> str:
        return str(list(ipaddress.ip_network(self.cidr).subnets(1))[1])

    @property
    def public_network_id(self) -> str:
        return self._id("public-net")

    @property
    def public_subnet_id(self) -> str:
        return self._id("public-subnet")

    @property
    def router_id(self) -> str:
        return self._id("router")

    @property
    def public_cidr(self) -> str:
        """The external network's floating range: the range's last /24, which
        the tenant and management pools leave alone."""
        net = ipaddress.ip_network(self.cidr)
        return str(list(net.subnets(new_prefix=max(net.prefixlen, 24)))[-1])
