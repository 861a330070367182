"""Everything a ``vm`` cloud runs beside its server, started and stopped with it.

The namespace with the tenant bridge, the message bus, the registry and the
gateway relaying the cloud's services into the namespace. The server starts
them before Trove's services and stops them when it exits; ``reap`` is what
``cloud down`` runs after a server that died without stopping them (its
children died with it; the namespace and pidfiles are what stay).
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from trove_it.localcloud.lifecycle import processes, profiles
from trove_it.localcloud.lifecycle.layout import StateLayout
from trove_it.localcloud.vm import netns, rabbit
from trove_it.localcloud.vm import registry as vm_registry
from trove_it.localcloud.vm.gateway import Gateway

TOOLS = (("qemu-system-x86_64", "qemu-system-x86"), ("qemu-img", "qemu-utils"),
         ("genisoimage", "genisoimage"), ("ip", "iproute2"))


@dataclass(frozen=True)
class VmSettings:
    api_port: int
    bus: rabbit.BusSettings
    registry_port: int


def root(layout: StateLayout) -> Path:
    return layout.root / "vm"


def namespace(layout: StateLayout) -> str:
    return netns.name_for(layout.root)


def missing_tools() -> list[str]:
    """What this machine lacks to run a vm cloud, as packages to install."""
    wanted = [package for tool, package in TOOLS if shutil.which(tool) is None]
    for problem in (rabbit.missing(), vm_registry.missing()):
        if problem:
            wanted.append(problem.split(" ", 1)[0])
    if not Path("/dev/net/tun").exists():
        wanted.append("/dev/net/tun (the tun module)")
    return wanted


class VmServices:
    def __init__(self, layout: StateLayout, settings: VmSettings):
        self.layout = layout
        self.settings = settings
        self.namespace = namespace(layout)
        self.bus = rabbit.MessageBus(root(layout) / "bus", settings.bus)
        self.registry = vm_registry.Registry(root(layout) / "registry", settings.registry_port)
        self.gateway = Gateway(self.namespace, profiles.VM_GATEWAY, {
            settings.api_port: ("127.0.0.1", settings.api_port),
            profiles.VM_RABBIT_PORT: ("127.0.0.1", settings.bus.port),
            profiles.VM_REGISTRY_PORT: ("127.0.0.1", settings.registry_port)})

    def start(self) -> None:
        processes.adopt_orphans()
        prefix = profiles.VM_TENANT_CIDR.split("/")[1]
        netns.create(self.namespace, f"{profiles.VM_GATEWAY}/{prefix}")
        self.bus.start()
        self.registry.start()
        self.gateway.start()

    def stop(self) -> None:
        self.gateway.stop()
        self.registry.stop()
        self.bus.stop()
        netns.remove(self.namespace)
        processes.reap_zombie_children()


def reap(layout: StateLayout) -> None:
    """Remove what a vm cloud's server left (its processes by pidfile, its namespace)."""
    base = root(layout)
    rabbit.reap(base / "bus")
    vm_registry.reap(base / "registry")
    netns.remove(namespace(layout))
