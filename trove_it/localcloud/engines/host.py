"""The machine the local cloud's "VMs" share: engine availability and factory.

Datastores whose engine programs are missing are marked inactive in Trove at
start-up, so the API refuses them with its own message and ``openstack
datastore version list`` shows the truth; the reason is logged in one line
naming the package to install.
"""

from __future__ import annotations

import logging
import os
import pwd
from pathlib import Path

from trove_it.localcloud.datastores import SERVED, ServedDatastore
from trove_it.localcloud.engines import binaries
from trove_it.localcloud.engines.base import Engine, EngineContext
from trove_it.localcloud.lifecycle import processes
from trove_it.localcloud.lifecycle.layout import StateLayout, default_state_root

LOG = logging.getLogger(__name__)


def engine_class(kind: str) -> type[Engine]:
    if kind == "mariadb":
        from trove_it.localcloud.engines.mariadb import MariaDBEngine
        return MariaDBEngine
    if kind == "postgresql":
        from trove_it.localcloud.engines.postgresql import PostgreSQLEngine
        return PostgreSQLEngine
    if kind == "redis":
        from trove_it.localcloud.engines.redis import RedisEngine
        return RedisEngine
    from trove_it.localcloud.engines.memory import MemoryEngine
    return MemoryEngine


def engine_templates() -> Path:
    """Cache of initialised data directories, shared by this user's clouds.

    Under the state root rather than ~/.cache: an engine that runs as another
    user (PostgreSQL, when we are root) must be able to reach it.
    """
    return default_state_root() / "engine-templates"


def unprivileged_user() -> str | None:
    """Who runs engines that refuse root (PostgreSQL), when we are root."""
    if os.geteuid() != 0:
        return None
    for candidate in ("postgres", "nobody"):
        try:
            pwd.getpwnam(candidate)
            return candidate
        except KeyError:
            continue
    return None


class EngineHost:
    def __init__(self, layout: StateLayout, outlive_server: bool = False):
        self.layout = layout
        self.outlive_server = outlive_server
        """Engines are not killed when the server dies (a survivable cloud)."""
        self.unavailable: dict[str, str] = {}
        for kind in sorted({ds.engine for ds in SERVED}):
            reason = binaries.unavailable_reason(kind)
            if reason:
                self.unavailable[kind] = reason

    def available(self, datastore: ServedDatastore) -> bool:
        return datastore.engine not in self.unavailable

    def deactivate_unavailable_versions(self) -> None:
        from trove.datastore import models as ds_models

        for ds in SERVED:
            if self.available(ds):
                continue
            LOG.warning("%s: %s", ds.name, self.unavailable[ds.engine])
            for version in ds.versions:
                try:
                    db_version = ds_models.DBDatastoreVersion.find_by(
                        datastore_id=ds_models.Datastore.load(ds.name).id, name=version)
                except Exception:  # noqa: BLE001 - a missing row needs no deactivation
                    continue
                db_version.active = False
                db_version.save()

    def context(self, instance_id: str, server_id: str, address: str) -> EngineContext:
        root = self.layout.instance_dir(server_id)
        root.mkdir(parents=True, exist_ok=True)
        os.chmod(root, 0o755)
        last_octets = [int(x) for x in address.split(".")[1:]]
        server_number = (last_octets[0] << 16) + (last_octets[1] << 8) + last_octets[2]
        return EngineContext(instance_id=instance_id, root=root, address=address,
                             templates=engine_templates(), run_as=unprivileged_user(),
                             server_id=server_number or 1,
                             outlives_server=self.outlive_server)

    def create(self, kind: str, ctx: EngineContext) -> Engine:
        if kind in self.unavailable:
            raise binaries.EngineUnavailable(self.unavailable[kind])
        return engine_class(kind)(ctx)

    def reap_all(self) -> None:
        """Kill any engine process still listed by a pidfile."""
        for pidfile in self.layout.engine_pidfiles():
            processes.reap_pidfile(pidfile)

