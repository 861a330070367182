"""Volume driver: cinder volumes with their sizes, states and attachments.

Volumes become available at once: Trove polls volume state every two
seconds with no way to configure it, so any delay here costs that much per
instance. The size is what the guest reports as the instance's disk total.
"""

from __future__ import annotations

import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cinderclient import exceptions as cinder_exc

from trove_it.localcloud.drivers.volume_snapshots import Capture, Snapshot, SnapshotStore
from trove_it.localcloud.lifecycle.profiles import VOLUME_TYPES

VOLUME_TYPE = VOLUME_TYPES[0]
ROOT_DEVICE = "/dev/vda"
GB = 1024 ** 3


class VolumeType:
    def __init__(self, name: str):
        self.id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"trove-it:volume-type:{name}"))
        self.name = name
        self.description = "Volumes of the trove-it local cloud"
        self.is_public = True
        self.extra_specs: dict[str, str] = {}

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "description": self.description,
                "is_public": self.is_public}


class Volume:
    """A cinder volume as cinderclient's resource objects present it."""

    def __init__(self, driver: VolumeDriver, size: int, name: str, description: str,
                 volume_type: str | None, availability_zone: str | None, project_id: str):
        self._driver = driver
        self.id = str(uuid.uuid4())
        self.size = int(size)
        self.name = name
        self.display_name = name
        self.description = description
        self.volume_type = volume_type or VOLUME_TYPE
        self.availability_zone = availability_zone or "nova"
        self.status = "available"
        self.attachments: list[dict[str, Any]] = []
        self.bootable = "false"
        self.volume_image_metadata: dict[str, str] = {}
        self.created_at = time.strftime("%Y-%m-%dT%H:%M:%S")
        self.os_vol_tenant_attr_tenant_id = project_id
        self.metadata: dict[str, str] = {}
        self.snapshot_id: str | None = None
        # a volume made from a snapshot holds a copy of its data (a file)
        self.data_file: str | None = None
        self.data_metadata: dict[str, Any] = {}
        # the block device a VM sees (vm profile): a sparse raw file
        self.backing_file: str | None = None

    def delete(self) -> None:
        self._driver.delete(self.id)

    def to_dict(self) -> dict[str, Any]:
        data = {"id": self.id, "size": self.size, "name": self.name, "status": self.status,
                "volume_type": self.volume_type, "attachments": list(self.attachments),
                "availability_zone": self.availability_zone, "bootable": self.bootable,
                "description": self.description, "created_at": self.created_at,
                "os-vol-tenant-attr:tenant_id": self.os_vol_tenant_attr_tenant_id,
                "metadata": dict(self.metadata), "snapshot_id": self.snapshot_id}
        if self.volume_image_metadata:
            data["volume_image_metadata"] = dict(self.volume_image_metadata)
        return data

    def __getattr__(self, item: str) -> Any:
        # cinderclient resources expose dashed API fields through getattr.
        if item == "os-vol-tenant-attr:tenant_id":
            return self.os_vol_tenant_attr_tenant_id
        raise AttributeError(item)


class VolumeDriver:
    """Volumes; with ``backing_dir`` (the vm profile) each is a sparse raw file
    a guest attaches as a disk, and ``on_extend`` tells the running guest it grew."""

    def __init__(self, default_type: str | None = None, snapshot_dir: Path | None = None,
                 capture: Capture | None = None, backing_dir: Path | None = None,
                 on_extend: Callable[[str, int], None] | None = None) -> None:
        self.backing_dir = backing_dir
        self.on_extend = on_extend
        self.volumes: dict[str, Volume] = {}
        self.snapshots = SnapshotStore(snapshot_dir, capture)
        self.types = {name: VolumeType(name) for name in VOLUME_TYPES}
        self.default_type = default_type or VOLUME_TYPE
        self._lock = threading.Lock()

    def create(self, size: int, name: str = "", description: str = "",
               volume_type: str | None = None, availability_zone: str | None = None,
               project_id: str = "", image_id: str | None = None,
               snapshot_id: str | None = None) -> Volume:
        """A volume; with ``image_id``, a bootable one holding that image; with
        ``snapshot_id``, one holding that snapshot's data."""
        if int(size) <= 0:
            raise cinder_exc.BadRequest(400, f"Invalid volume size {size}.")
        source = self.snapshots.get(snapshot_id) if snapshot_id else None
        if source is not None and int(size) < source.size:
            raise cinder_exc.BadRequest(
                400, f"Invalid input received: Volume size '{size}'GB cannot be smaller than "
                     f"the snapshot size {source.size}GB. They must be >= original snapshot "
                     f"size.")
        if volume_type and volume_type not in self.types and not any(
                t.id == volume_type for t in self.types.values()):
            raise cinder_exc.NotFound(404, f"Volume type {volume_type} could not be found.")
        volume = Volume(self, size, name, description, volume_type or self.default_type,
                        availability_zone, project_id)
        if image_id:
            volume.bootable = "true"
            volume.volume_image_metadata = {"image_id": str(image_id)}
        if source is not None:
            volume.snapshot_id = source.id
            if source.data_file:
                copy = Path(source.data_file).with_name(f"volume-{volume.id}.data")
                shutil.copyfile(source.data_file, copy)
                volume.data_file, volume.data_metadata = str(copy), dict(source.data_metadata)
        if self.backing_dir is not None:
            self.backing_dir.mkdir(parents=True, exist_ok=True)
            backing = self.backing_dir / f"volume-{volume.id}.raw"
            with backing.open("wb") as handle:
                handle.truncate(volume.size * GB)
            volume.backing_file = str(backing)
        with self._lock:
            self.volumes[volume.id] = volume
        return volume

    # hand-over across a server restart (lifecycle/hand_over) -----------
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"volumes": [{k: v for k, v in vars(volume).items() if k != "_driver"}
                                for volume in self.volumes.values()],
                    "snapshots": self.snapshots.records()}

    def restore(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            self.volumes = {}
            for record in snapshot["volumes"]:
                volume = Volume.__new__(Volume)
                volume.__dict__.update(record)
                volume._driver = self
                for key, default in (("snapshot_id", None), ("data_file", None),
                                     ("data_metadata", {}), ("backing_file", None)):
                    volume.__dict__.setdefault(key, default)
                self.volumes[volume.id] = volume
        self.snapshots.restore(snapshot.get("snapshots", []))

    def get(self, volume_id: str) -> Volume:
        volume = self.volumes.get(getattr(volume_id, "id", volume_id))
        if volume is None:
            raise cinder_exc.NotFound(404, f"Volume {volume_id} could not be found.")
        return volume

    def delete(self, volume_id: str) -> None:
        volume = self.get(volume_id)
        if volume.attachments:
            raise cinder_exc.BadRequest(
                400, f"Volume {volume.id} is attached to a server and cannot be deleted.")
        dependents = self.snapshots.on_volume(volume.id)
        if dependents:
            raise cinder_exc.BadRequest(
                400, f"Invalid volume: Volume {volume.id} still has {len(dependents)} "
                     f"dependent snapshots. (HTTP 400)")
        with self._lock:
            self.volumes.pop(volume.id, None)
        for path in (volume.data_file, volume.backing_file):
            if path:
                Path(path).unlink(missing_ok=True)

    def attach(self, volume_id: str, server_id: str, device: str) -> None:
        volume = self.get(volume_id)
        if volume.attachments and volume.attachments[0]["server_id"] != server_id:
            raise cinder_exc.BadRequest(400, f"Volume {volume.id} is already attached.")
        volume.attachments = [{"server_id": server_id, "device": device,
                               "attachment_id": str(uuid.uuid4()), "volume_id": volume.id}]
        volume.status = "in-use"

    def detach(self, volume_id: str) -> None:
        volume = self.get(volume_id)
        volume.attachments = []
        volume.status = "available"

    def attached_to(self, server_id: str) -> list[Volume]:
        """The server's volumes, in the order they were attached."""
        return [v for v in list(self.volumes.values())
                if any(a["server_id"] == server_id for a in v.attachments)]

    def size_attached_to(self, server_id: str) -> int:
        """The size in GB of the data volume attached to a server (0 without one);
        a root volume it boots from is not the database's disk."""
        for volume in self.volumes.values():
            if any(a["server_id"] == server_id and a["device"] != ROOT_DEVICE
                   for a in volume.attachments):
                return int(volume.size)
        return 0

    def root_volume_of(self, server_id: str) -> Volume | None:
        for volume in self.volumes.values():
            if any(a["server_id"] == server_id and a["device"] == ROOT_DEVICE
                   for a in volume.attachments):
                return volume
        return None

    def detach_server(self, server_id: str) -> None:
        for volume in list(self.volumes.values()):
            if any(a["server_id"] == server_id for a in volume.attachments):
                self.detach(volume.id)

    def extend(self, volume_id: str, new_size: int) -> None:
        volume = self.get(volume_id)
        if int(new_size) <= volume.size:
            raise cinder_exc.BadRequest(
                400, f"New size for extend must be greater than current size ({volume.size}).")
        if volume.backing_file:
            with open(volume.backing_file, "r+b") as handle:
                handle.truncate(int(new_size) * GB)
        volume.size = int(new_size)
        if volume.attachments and self.on_extend is not None:
            self.on_extend(volume.id, volume.size)


class _Volumes:
    def __init__(self, driver: VolumeDriver, project_id: str):
        self._driver = driver
        self._project_id = project_id

    def create(self, size: int, name: str = "", description: str = "",
               volume_type: str | None = None, availability_zone: str | None = None,
               imageRef: str | None = None, snapshot_id: str | None = None,  # noqa: N803
               **_: Any) -> Volume:
        return self._driver.create(size, name=name, description=description,
                                   volume_type=volume_type, availability_zone=availability_zone,
                                   project_id=self._project_id, image_id=imageRef,
                                   snapshot_id=snapshot_id)

    def get(self, volume_id: str) -> Volume:
        return self._driver.get(volume_id)

    def list(self, detailed: bool = True, search_opts: dict[str, Any] | None = None,
             **_: Any) -> list[Volume]:
        result = list(self._driver.volumes.values())
        for key, wanted in (search_opts or {}).items():
            if key in ("all_tenants", "all_projects"):
                continue
            result = [v for v in result if str(getattr(v, key, None)) == str(wanted)]
        return result

    def extend(self, volume: Any, new_size: int) -> None:
        self._driver.extend(getattr(volume, "id", volume), new_size)

    def delete(self, volume: Any, cascade: bool = False) -> None:
        self._driver.delete(getattr(volume, "id", volume))

    def detach(self, volume: Any, attachment_uuid: str | None = None) -> None:
        self._driver.detach(getattr(volume, "id", volume))

    def begin_detaching(self, volume: Any) -> None:
        pass

    def roll_detaching(self, volume: Any) -> None:
        pass

    def reset_state(self, volume: Any, state: str, **_: Any) -> None:
        self._driver.get(getattr(volume, "id", volume)).status = state


class _VolumeTypes:
    def __init__(self, driver: VolumeDriver):
        self._driver = driver

    def get(self, type_id: str) -> VolumeType:
        for vtype in self._driver.types.values():
            if type_id in (vtype.id, vtype.name):
                return vtype
        raise cinder_exc.NotFound(404, f"Volume type {type_id} could not be found.")

    def list(self, **_: Any) -> list[VolumeType]:
        return list(self._driver.types.values())

    def find(self, name: str) -> VolumeType:
        return self.get(name)


class _Snapshots:
    """cinderclient's ``volume_snapshots`` manager (Trove's cinder backups)."""

    def __init__(self, driver: VolumeDriver, project_id: str):
        self._driver = driver
        self._project_id = project_id

    def create(self, volume_id: str, force: bool = False, name: str | None = None,
               description: str | None = None, metadata: dict[str, str] | None = None,
               **_: Any) -> Snapshot:
        volume = self._driver.get(volume_id)
        return self._driver.snapshots.create(volume, name or "", description or "",
                                             metadata or {}, force, self._project_id)

    def get(self, snapshot_id: str) -> Snapshot:
        return self._driver.snapshots.get(snapshot_id)

    def delete(self, snapshot: Any, force: bool = False) -> None:
        self._driver.snapshots.delete(getattr(snapshot, "id", snapshot))

    def list(self, detailed: bool = True, search_opts: dict[str, Any] | None = None,
             **_: Any) -> list[Snapshot]:
        result = list(self._driver.snapshots.snapshots.values())
        for key, wanted in (search_opts or {}).items():
            if key not in ("all_tenants", "all_projects"):
                result = [s for s in result if str(getattr(s, key, None)) == str(wanted)]
        return result


class CinderClient:
    def __init__(self, driver: VolumeDriver, project_id: str):
        self.volumes = _Volumes(driver, project_id)
        self.volume_types = _VolumeTypes(driver)
        self.volume_snapshots = _Snapshots(driver, project_id)

