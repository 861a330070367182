"""The server process's shared state: every driver, built once at start.

Trove creates a fresh client object for each call through the
``remote_*_client`` factories; those factories reach the one state held here.
One process per cloud, so module-level state is safe.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from trove_it.localcloud.compute import ComputeDriver
from trove_it.localcloud.faults import Faults
from trove_it.localcloud.identity import Identity
from trove_it.localcloud.image import ImageStore
from trove_it.localcloud.layout import StateLayout
from trove_it.localcloud.network import NetworkDriver
from trove_it.localcloud.objectstore import ObjectStore
from trove_it.localcloud.tokens import TokenStore
from trove_it.localcloud.volume import VolumeDriver

LOG = logging.getLogger(__name__)

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
    ]
    if "trove_it" not in conf:
        conf.register_group(group)
        conf.register_opts(opts, group)


class Runtime:
    def __init__(self, conf: Any):
        from trove_it.localcloud.engines.host import EngineHost
        from trove_it.localcloud.guest.registry import GuestRegistry

        options = conf.trove_it
        self.conf = conf
        self.name: str = options.name
        self.public_url: str = options.public_url.rstrip("/")
        self.heartbeat_interval: float = options.heartbeat_interval
        self.layout = StateLayout(Path(options.state_dir))
        self.identity = Identity.load(self.layout.identity)
        self.tokens = TokenStore()
        self.faults = Faults()
        self.network = NetworkDriver(options.network_cidr)
        self.volumes = VolumeDriver()
        self.images = ImageStore(self.layout.images)
        self.objects = ObjectStore(self.layout.objects)
        self.engines = EngineHost(self.layout)
        self.compute = ComputeDriver(self)
        self.guests = GuestRegistry(self)

    def prepare(self) -> None:
        self.images.ensure_seed(owner=self.identity.admin.project_id)
        self.engines.deactivate_unavailable_versions()

    def announce_ready(self) -> None:
        LOG.info("trove-it local cloud %s serving at %s", self.name, self.public_url)

    def shutdown(self) -> None:
        """Stop every guest's engine; the process is about to exit."""
        try:
            self.guests.shutdown()
        finally:
            self.engines.reap_all()


def start(conf: Any) -> Runtime:
    global _RUNTIME
    register_options(conf)
    _RUNTIME = Runtime(conf)
    _RUNTIME.prepare()
    return _RUNTIME


def get() -> Runtime:
    if _RUNTIME is None:
        raise RuntimeError("the trove-it local cloud runtime is not started in this process")
    return _RUNTIME
