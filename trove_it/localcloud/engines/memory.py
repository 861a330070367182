"""In-memory engine for datastores with no server on this machine.

It keeps the API semantics Trove relies on (running or stopped, settings,
backups that round-trip, replicas that copy their source) but has no network
endpoint, so the harness's data probes skip on it and say why. Backups are
JSON snapshots of this state, stored in the object store like any backup.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from trove_it.localcloud.engines.base import Engine, EngineContext, ReplicationSource


class MemoryEngine(Engine):
    kind = "memory"

    def __init__(self, ctx: EngineContext):
        super().__init__(ctx)
        self._running = False
        self.settings: dict[str, Any] = {}
        self.read_only = False
        self.following: ReplicationSource | None = None
        self.txn = 0

    @property
    def real(self) -> bool:
        return False

    def initialize(self) -> None:
        self.ctx.data_dir.mkdir(parents=True, exist_ok=True)
        self.ctx.log_dir.mkdir(parents=True, exist_ok=True)
        self._log("initialised an empty in-memory data set")

    def start(self) -> None:
        self._running = True
        self._log("started")

    def stop(self) -> None:
        if self._running:
            self._log("stopped")
        self._running = False

    def is_running(self) -> bool:
        return self._running

    def version(self) -> str:
        return "in-memory"

    def disk_used_bytes(self) -> int:
        return len(json.dumps(self.settings))

    def _log(self, message: str) -> None:
        self.ctx.log_dir.mkdir(parents=True, exist_ok=True)
        with (self.ctx.log_dir / "engine.log").open("a") as handle:
            handle.write(f"memory engine ({self.ctx.instance_id}): {message}\n")

    # configuration ---------------------------------------------------
    def apply_live(self, values: dict[str, Any]) -> None:
        self.settings.update(values)
        self.txn += 1

    def read_setting(self, name: str) -> str | None:
        value = self.settings.get(name, self.ctx.overrides.get(name))
        return None if value is None else str(value)

    # backup ----------------------------------------------------------
    def backup(self, target: Path) -> dict[str, Any]:
        target.write_text(json.dumps({"settings": self.settings, "txn": self.txn}))
        return {"txn": self.txn}

    def restore(self, source: Path, metadata: dict[str, Any]) -> None:
        state = json.loads(source.read_text())
        self.settings = dict(state.get("settings", {}))
        self.txn = int(state.get("txn", 0))

    # replication -----------------------------------------------------
    def replication_credentials(self) -> tuple[str, str]:
        return "memory", ""

    def replication_position(self) -> dict[str, Any]:
        return {"txn": self.txn}

    def seed_from(self, source: ReplicationSource, snapshot: Path | None,
                  metadata: dict[str, Any]) -> None:
        if snapshot is not None:
            self.restore(snapshot, metadata)

    def follow(self, source: ReplicationSource) -> None:
        self.following = source
        self.read_only = True

    def unfollow(self) -> None:
        self.following = None
        self.read_only = False

    def set_read_only(self, read_only: bool) -> None:
        self.read_only = read_only

    def last_transaction(self) -> str | None:
        return str(self.txn)

    # logs ------------------------------------------------------------
    def log_files(self) -> dict[str, Path]:
        return {"engine": self.ctx.log_dir / "engine.log"}
