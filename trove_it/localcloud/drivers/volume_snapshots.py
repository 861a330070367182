"""Cinder volume snapshots, holding the data the volume held.

Trove's cinder backup strategy snapshots an instance's data volume and
restores by creating a volume from the snapshot; the guest then finds its
data already on the new volume. Here a volume's data is its engine's, so a
snapshot captures the engine of the server the volume is attached to (the
``capture`` hook the runtime wires to the guests) into a file, and a volume
created from it carries the snapshot's id, for the guest to load the file
when it prepares on that volume.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cinderclient import exceptions as cinder_exc

Capture = Callable[[str, Path], dict[str, Any]]  # (server id, target file) -> metadata


class Snapshot:
    """A snapshot as cinderclient's resource objects present it."""

    def __init__(self, volume_id: str, size: int, name: str, description: str,
                 metadata: dict[str, str], project_id: str):
        self.id = str(uuid.uuid4())
        self.volume_id = volume_id
        self.size = size
        self.name = name
        self.description = description
        self.metadata = dict(metadata)
        self.status = "creating"
        self.progress = "0%"
        self.created_at = time.strftime("%Y-%m-%dT%H:%M:%S.000000")
        self.updated_at: str | None = None
        self.project_id = project_id
        self.data_file: str | None = None
        self.data_metadata: dict[str, Any] = {}

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "volume_id": self.volume_id, "size": self.size,
                "name": self.name, "description": self.description, "status": self.status,
                "metadata": dict(self.metadata), "created_at": self.created_at,
                "updated_at": self.updated_at, "os-extended-snapshot-attributes:progress":
                self.progress, "os-extended-snapshot-attributes:project_id": self.project_id,
                "group_snapshot_id": None, "user_id": None, "consumes_quota": True}


class SnapshotStore:
    def __init__(self, directory: Path | None, capture: Capture | None):
        self.directory = directory
        self.capture = capture
        self.snapshots: dict[str, Snapshot] = {}
        self._lock = threading.Lock()

    def create(self, volume: Any, name: str, description: str, metadata: dict[str, str],
               force: bool, project_id: str) -> Snapshot:
        attached = [a["server_id"] for a in volume.attachments]
        if attached and not force:
            raise cinder_exc.BadRequest(
                400, f"Invalid volume: Volume {volume.id} status must be available, but "
                     f"current status is: in-use. (HTTP 400)")
        if self.directory is None or self.capture is None:
            raise cinder_exc.BadRequest(400, "This volume service keeps no snapshot data.")
        snapshot = Snapshot(volume.id, volume.size, name, description, metadata, project_id)
        with self._lock:
            self.snapshots[snapshot.id] = snapshot
        if attached:
            self.directory.mkdir(parents=True, exist_ok=True)
            target = self.directory / f"{snapshot.id}.data"
            try:
                snapshot.data_metadata = self.capture(attached[0], target)
                snapshot.data_file = str(target)
            except Exception:
                snapshot.status = "error"
                target.unlink(missing_ok=True)
                raise
        # a detached volume's data went with its server: an empty snapshot
        snapshot.status, snapshot.progress = "available", "100%"
        snapshot.updated_at = time.strftime("%Y-%m-%dT%H:%M:%S.000000")
        return snapshot

    def get(self, snapshot_id: str) -> Snapshot:
        snapshot = self.snapshots.get(getattr(snapshot_id, "id", snapshot_id))
        if snapshot is None:
            raise cinder_exc.NotFound(404, f"Snapshot {snapshot_id} could not be found.")
        return snapshot

    def delete(self, snapshot_id: str) -> None:
        snapshot = self.get(snapshot_id)
        with self._lock:
            self.snapshots.pop(snapshot.id, None)
        if snapshot.data_file:
            Path(snapshot.data_file).unlink(missing_ok=True)

    def on_volume(self, volume_id: str) -> list[Snapshot]:
        return [s for s in list(self.snapshots.values()) if s.volume_id == volume_id]

    # hand-over across a server restart -------------------------------------
    def records(self) -> list[dict[str, Any]]:
        return [dict(vars(s)) for s in list(self.snapshots.values())]

    def restore(self, records: list[dict[str, Any]]) -> None:
        with self._lock:
            for record in records:
                snapshot = Snapshot.__new__(Snapshot)
                snapshot.__dict__.update(record)
                self.snapshots[snapshot.id] = snapshot
