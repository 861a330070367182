"""The server process's shared state: every driver, built once at start.

Trove creates a fresh client object for each call through the
``remote_*_client`` factories; those factories reach the one state held here.
One process per cloud, so module-level state is safe.
"""

from __future__ import annotations

import functools
import logging
import socket
from pathlib import Path
from typing import Any

from trove_it.localcloud.directory import Directory
from trove_it.localcloud.drivers.compute import RAM_QUOTA_MB, ComputeDriver, ServerEvents
from trove_it.localcloud.drivers.floating_relay import connect_tcp
from trove_it.localcloud.drivers.image import ImageStore
from trove_it.localcloud.drivers.network import NetworkDriver
from trove_it.localcloud.drivers.objectstore import ObjectStore
from trove_it.localcloud.drivers.secret_store import SecretStore
from trove_it.localcloud.drivers.volume import VolumeDriver
from trove_it.localcloud.endpoints.tokens import TokenStore
from trove_it.localcloud.engines.host import EngineHost
from trove_it.localcloud.faults import Faults
from trove_it.localcloud.guest.host import GuestHost
from trove_it.localcloud.guest.registry import GuestRegistry
from trove_it.localcloud.identity import Identity
from trove_it.localcloud.lifecycle import hand_over, profiles
from trove_it.localcloud.lifecycle.layout import StateLayout
from trove_it.localcloud.vm import netns
from trove_it.localcloud.vm.hypervisor import VmHost
from trove_it.localcloud.vm.rabbit import BusSettings
from trove_it.localcloud.vm.services import VmServices, VmSettings

LOG = logging.getLogger(__name__)


def _vm_settings(conf: Any) -> VmSettings:
    options = conf.trove_it
    return VmSettings(api_port=int(conf.bind_port), registry_port=options.vm_registry_port,
                      bus=BusSettings(options.vm_bus_port, options.vm_epmd_port,
                                      options.vm_dist_port, options.vm_bus_password))


def _connect_in(namespace: str, address: tuple[str, int]) -> socket.socket:
    return netns.connect_in(namespace, address)

_RUNTIME: Runtime | None = None


def register_options(conf: Any) -> None:
    from oslo_config import cfg

    group = cfg.OptGroup("trove_it", title="trove-it local cloud")
    opts = [
        cfg.StrOpt("name", default="trove-it-local"),
        cfg.StrOpt("state_dir", required=True),
        cfg.StrOpt("network_cidr", default="127.77.0.0/16"),
        cfg.FloatOpt("heartbeat_interval", default=2.0),
        cfg.StrOpt("public_url", required=True),
        cfg.StrOpt("profile", default=profiles.DEFAULT),
        cfg.BoolOpt("survivable", default=False),
        cfg.IntOpt("vm_bus_port", default=0),
        cfg.IntOpt("vm_epmd_port", default=0),
        cfg.IntOpt("vm_dist_port", default=0),
        cfg.StrOpt("vm_bus_password", default="", secret=True),
        cfg.IntOpt("vm_registry_port", default=0),
    ]
    if "trove_it" not in conf:
        conf.register_group(group)
        conf.register_opts(opts, group)


class Runtime:
    """The composition root: builds every driver and hands each its collaborators.

    Nothing below imports this module except the entry points that Trove and
    paste call by name (``trove_clients``, the endpoints), which look the
    running instance up with ``get()``.
    """

    def __init__(self, conf: Any):
        options = conf.trove_it
        self.conf = conf
        self.name: str = options.name
        self.public_url: str = options.public_url.rstrip("/")
        self.heartbeat_interval: float = options.heartbeat_interval
        self.layout = StateLayout(Path(options.state_dir))
        self.identity = Identity.load(self.layout.identity)
        self.directory = Directory.seeded(self.identity)
        self.tokens = TokenStore()
        self.secrets = SecretStore()
        self.faults = Faults()
        self.profile = profiles.get(options.profile)
        self.vm_services: VmServices | None = None
        self.vm_host: VmHost | None = None
        connect = connect_tcp
        if self.profile.vm:
            self.vm_services = VmServices(self.layout, _vm_settings(conf))
            namespace = self.vm_services.namespace
            connect = functools.partial(_connect_in, namespace)
        self.network = NetworkDriver(options.network_cidr, self.profile.management_network,
                                     vm=self.profile.vm, connect=connect)
        self.volumes = VolumeDriver(
            self.profile.volume_type, snapshot_dir=self.layout.root / "snapshots",
            capture=lambda server_id, target: self.guests.capture_server(server_id, target),
            backing_dir=self.layout.instances / "volumes" if self.profile.vm else None,
            on_extend=self._extend_attached)
        self.images = ImageStore(self.layout.images)
        self.objects = ObjectStore(self.layout.objects)
        self.survivable: bool = options.survivable
        self.engines = EngineHost(self.layout, outlive_server=self.survivable)
        self.guests = GuestRegistry(GuestHost(
            engines=self.engines, objects=self.objects, faults=self.faults,
            heartbeat_interval=self.heartbeat_interval, public_url=self.public_url,
            address_of=self.network.address_of, volume_gb_of=self.volumes.size_attached_to,
            flavor_of=self._flavor_of, instance_dir=self.layout.instance_dir,
            volume_data_of=self._volume_data_of))
        events: ServerEvents = self.guests
        if self.vm_services is not None:
            self.vm_host = VmHost(self.layout.instances, self.layout.root / "vm" / "logs",
                                  self.vm_services.namespace, self.images, self.volumes,
                                  self.network)
            events = self.vm_host
        self.compute = ComputeDriver(
            self.network, self.volumes, self.images, self.faults, events=events,
            availability_zone=self.profile.availability_zone,
            ram_quota_mb=-1 if self.profile.unlimited_quotas else RAM_QUOTA_MB)

    def _extend_attached(self, volume_id: str, size_gb: int) -> None:
        if self.vm_host is not None:
            self.vm_host.extend(volume_id, size_gb)

    def _flavor_of(self, server_id: str) -> dict[str, Any] | None:
        server = self.compute.servers.get(server_id)
        return server.flavor if server is not None else None

    def _volume_data_of(self, server_id: str) -> tuple[Path, dict[str, Any]] | None:
        for volume in list(self.volumes.volumes.values()):
            if volume.data_file and any(a["server_id"] == server_id
                                        for a in volume.attachments):
                return Path(volume.data_file), volume.data_metadata
        return None

    def prepare(self) -> None:
        if self.vm_services is not None and self.vm_host is not None:
            self.vm_services.start()
            self.vm_host.start_watching()
        handed = hand_over.receive(self.layout)
        if handed is not None:
            hand_over.restore_drivers(self, handed)
        self.images.ensure_seed(owner=self.identity.admin.project_id)
        self.engines.deactivate_unavailable_versions()
        if handed is not None:
            hand_over.adopt_guests(self, handed)

    def announce_ready(self) -> None:
        LOG.info("trove-it local cloud %s serving at %s", self.name, self.public_url)

    def shutdown(self) -> None:
        """Stop every guest's engine; the process is about to exit. A survivable
        cloud asked to hand over instead writes its state and leaves them running."""
        if self.survivable and hand_over.requested(self.layout):
            hand_over.give(self)
            return
        try:
            self.guests.shutdown()
            if self.vm_host is not None:
                self.vm_host.shutdown()
        finally:
            self.engines.reap_all()
            if self.vm_services is not None:
                self.vm_services.stop()


def start(conf: Any, prepare: bool = True) -> Runtime:
    """Build the drivers (and, for a server, seed and adopt what it serves)."""
    global _RUNTIME
    register_options(conf)
    _RUNTIME = Runtime(conf)
    if prepare:
        _RUNTIME.prepare()
    return _RUNTIME


def get() -> Runtime:
    if _RUNTIME is None:
        raise RuntimeError("the trove-it local cloud runtime is not started in this process")
    return _RUNTIME
