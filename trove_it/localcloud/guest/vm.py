"""One instance's guest: its engine, its status and its heartbeat.

The VM learns what it is from Trove's own database (the instance row names
its nova server and datastore version) and from the compute driver (the
server's port gives its address). It reports its status every
``heartbeat_interval`` through the conductor, unless a test failed it on
purpose, in which case it falls silent as a dead guest would.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import eventlet
import eventlet.event

from trove_it.localcloud.datastores import ServedDatastore, served
from trove_it.localcloud.engines.base import Engine, EngineError
from trove_it.localcloud.guest import conductor

if TYPE_CHECKING:
    from trove_it.localcloud.guest.host import GuestHost

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# What the guest reports, as Trove's ServiceStatus descriptions.
HEALTHY = "healthy"
SHUTDOWN = "shutdown"
BUILDING = "building"
FAILED = "failed to spawn"
INSTANCE_READY = "instance ready"
"""A cluster member that prepared and waits for the task manager to form the cluster."""


class GuestVM:
    def __init__(self, host: GuestHost, instance_id: str):
        self.host = host
        self.instance_id = instance_id
        self.engine: Engine | None = None
        self.datastore: ServedDatastore | None = None
        self.version_name: str | None = None
        self.server_id: str | None = None
        self.address: str | None = None
        self.phase = "new"
        self.error: str | None = None
        self.failed = False
        self.autostart = True
        self.lock = threading.RLock()
        self._beating = False
        self._halted = False
        self._backups_released: eventlet.event.Event | None = None
        self.extra: dict[str, Any] = {}

    # identity --------------------------------------------------------
    def resolve(self) -> None:
        """Read what this instance is from Trove's database and the network."""
        from trove.datastore.models import DatastoreVersion
        from trove.instance.models import DBInstance

        db_info = DBInstance.find_by(id=self.instance_id, deleted=False)
        version = DatastoreVersion.load_by_uuid(db_info.datastore_version_id)
        self.version_name = version.name
        self.datastore = served(version.manager) or served(version.datastore_name)
        if self.datastore is None:
            raise EngineError(f"the local cloud serves no engine for manager {version.manager}")
        self.server_id = db_info.compute_instance_id
        if self.server_id:
            self.address = self.host.address_of(self.server_id)

    def ensure_engine(self) -> Engine:
        with self.lock:
            if self.engine is None:
                self.resolve()
                if not self.server_id or not self.address:
                    raise EngineError(f"instance {self.instance_id} has no server or address yet")
                assert self.datastore is not None
                ctx = self.host.engines.context(self.instance_id, self.server_id, self.address)
                self.engine = self.host.engines.create(self.datastore.engine, ctx)
            return self.engine

    @property
    def manager(self) -> str:
        if self.datastore is None:
            self.resolve()
        assert self.datastore is not None
        return self.datastore.manager

    # status ----------------------------------------------------------
    def status(self) -> str:
        if self.phase == "building":
            return BUILDING
        if self.phase == "error":
            return FAILED
        if self.phase == "cluster_pending":
            return INSTANCE_READY
        engine = self.engine
        if engine is not None and engine.is_running():
            return HEALTHY
        return SHUTDOWN

    def report(self, status: str | None = None) -> None:
        if self.failed or self._halted:
            return
        try:
            conductor.heartbeat(self.instance_id, status or self.status())
        except Exception:  # noqa: BLE001 - the instance row may be gone (deleted)
            LOG.debug("heartbeat for %s not recorded", self.instance_id, exc_info=True)

    def start_heartbeats(self) -> None:
        if self._beating:
            return
        self._beating = True
        eventlet.spawn_n(self._beat)

    def _beat(self) -> None:
        while not self._halted:
            self.report()
            eventlet.sleep(self.host.heartbeat_interval)
        self._beating = False

    # lifecycle -------------------------------------------------------
    def in_background(self, name: str, work: Callable[[], object]) -> None:
        """Run a cast (prepare, backup) the way a guest would: asynchronously."""

        def runner() -> None:
            try:
                work()
            except Exception:  # noqa: BLE001 - logged and reported by the work itself
                LOG.exception("guest %s: %s failed", self.instance_id, name)

        eventlet.spawn_n(runner)

    def power_cycle(self) -> None:
        """The server rebooted or was resized: the engine restarts if set to."""
        engine = self.engine
        if engine is None or self.phase != "ready":
            return
        with self.lock:
            engine.stop()
            if self.autostart and not self.failed:
                engine.start()

    def fail(self) -> None:
        """Fault injection: the engine dies and the guest stops reporting."""
        with self.lock:
            self.failed = True
            if self.engine is not None:
                self.engine.stop()
        self._backdate_heartbeat()

    def recover(self) -> None:
        with self.lock:
            self.failed = False
            if self.engine is not None and self.phase == "ready":
                self.engine.start()
        self.report()

    def hold_backups(self) -> None:
        """Fault injection: backups of this guest stop once BUILDING, until released."""
        if self._backups_released is None:
            self._backups_released = eventlet.event.Event()

    def release_backups(self) -> None:
        held, self._backups_released = self._backups_released, None
        if held is not None:
            held.send(True)

    def wait_if_backups_held(self) -> None:
        held = self._backups_released
        if held is not None:
            self.log("backup held by fault injection until released")
            held.wait()

    def _backdate_heartbeat(self) -> None:
        """Make Trove see the last heartbeat as expired, as for a dead guest."""
        import datetime

        from trove.common import cfg
        from trove.db import get_db_api
        from trove.instance.models import InstanceServiceStatus

        status = InstanceServiceStatus.find_by(instance_id=self.instance_id)
        expiry = cfg.CONF.agent_heartbeat_expiry
        status["updated_at"] = datetime.datetime.utcnow() - datetime.timedelta(
            seconds=expiry + 60)
        # The model's own save() stamps "now"; store the past directly.
        get_db_api().save(status)

    def halt(self) -> None:
        """The cloud is shutting down: stop the engine, keep nothing running."""
        self._halted = True
        self.release_backups()
        if self.engine is not None:
            try:
                self.engine.stop()
            except Exception:  # noqa: BLE001
                LOG.exception("stopping engine of %s", self.instance_id)

    def destroy(self) -> None:
        """The server was deleted: the engine and its data go with it."""
        self._halted = True
        self.release_backups()
        with self.lock:
            if self.engine is not None:
                self.engine.destroy()
            elif self.server_id:
                import shutil

                shutil.rmtree(self.host.instance_dir(self.server_id),
                              ignore_errors=True)

    # hand-over across a server restart (lifecycle/hand_over) -----------
    def record(self) -> dict[str, Any]:
        """What a guest agent keeps on its VM's disk, so that it carries on
        after the control plane restarts; its engine keeps running meanwhile."""
        engine = self.engine
        return {"phase": self.phase, "error": self.error, "failed": self.failed,
                "autostart": self.autostart,
                "extra": {k: v for k, v in self.extra.items() if _plain(v)},
                "overrides": dict(engine.ctx.overrides) if engine is not None else {}}

    def adopt(self, record: dict[str, Any]) -> None:
        """Take over a guest the previous server ran: its engine process is
        still up (found by its pidfile), so nothing is started or changed."""
        self.phase = record["phase"]
        self.error = record["error"]
        self.failed = record["failed"]
        self.autostart = record["autostart"]
        self.extra.update(record["extra"])
        engine = self.ensure_engine()
        engine.ctx.overrides = dict(record["overrides"])
        self.log(f"resumed by a restarted control plane; engine "
                 f"{'running' if engine.is_running() else 'not running'}")
        if not self.failed:
            self.start_heartbeats()

    # helpers ---------------------------------------------------------
    @property
    def guest_log_path(self) -> Path:
        """The guest agent's own log: what this guest did, with timestamps."""
        return self.ensure_engine().ctx.log_dir / "guest.log"

    def log(self, message: str) -> None:
        try:
            path = self.guest_log_path
            path.parent.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y-%m-%d %H:%M:%S")
            with path.open("a") as handle:
                handle.write(f"{stamp} trove-guestagent [{self.instance_id}] {message}\n")
        except Exception:  # noqa: BLE001 - logging must never break the guest
            LOG.debug("guest log write failed for %s", self.instance_id, exc_info=True)

    def scratch_file(self, suffix: str) -> Path:
        engine = self.ensure_engine()
        engine.ctx.root.mkdir(parents=True, exist_ok=True)
        handle = tempfile.NamedTemporaryFile(dir=engine.ctx.root, suffix=suffix, delete=False)
        handle.close()
        return Path(handle.name)

    def describe(self) -> dict[str, Any]:
        engine = self.engine
        return {
            "instance_id": self.instance_id,
            "server_id": self.server_id,
            "datastore": self.datastore.name if self.datastore else None,
            "version": self.version_name,
            "engine": self.datastore.engine if self.datastore else None,
            "real_engine": bool(engine and engine.real),
            "address": self.address,
            "port": engine.port if engine else None,
            "phase": self.phase,
            "error": self.error,
            "failed": self.failed,
            "backups_held": self._backups_released is not None,
            "running": bool(engine and engine.is_running()),
            "instance_dir": str(engine.ctx.root) if engine else None,
            "pid": engine.process.pid() if engine and hasattr(engine, "process") else None,
        }

    def log_tail(self, lines: int) -> list[str]:
        engine = self.engine
        if engine is None:
            return []
        result: list[str] = []
        paths = [self.guest_log_path, *engine.log_files().values()]
        process = getattr(engine, "process", None)
        if process is not None:
            paths.append(process.log)
        seen = set()
        for path in paths:
            if path in seen or not path.exists():
                continue
            seen.add(path)
            text = path.read_text(errors="replace").splitlines()[-lines:]
            result.append(f"==> {path.name} <==")
            result.extend(text)
        return result


def _plain(value: Any) -> bool:
    """Can this piece of guest state be written as JSON? (Module and log
    bookkeeping objects are not carried over a restart.)"""
    import json

    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
