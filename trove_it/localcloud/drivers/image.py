"""Image store: real image files with checksums, and Trove's glance driver.

Images live as files beside a JSON index in the cloud's state directory, so
``trove-it image load`` uploads a real qcow2 here through the Glance API
exactly as it would to a real cloud. The seed image stands for the local
guest (instances are engine processes on this host); its ``min_disk`` lets
nova's disk-too-small check fail the way it does on a real cloud.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from glanceclient import exc as glance_exc

from trove_it.localcloud.datastores import LOCAL_IMAGE_ID, LOCAL_IMAGE_NAME, LOCAL_IMAGE_TAGS

SEED_MIN_DISK_GB = 2
SEED_CONTENT = (b"trove-it local guest image\n"
                b"Instances of the local cloud are engine processes on the host; "
                b"this file only stands for the guest image Trove looks up.\n")
CHUNK = 1024 * 1024


def seed_image_id() -> str:
    return LOCAL_IMAGE_ID


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class ImageStore:
    CORE = ("id", "name", "status", "tags", "disk_format", "container_format", "size",
            "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "min_disk",
            "min_ram", "visibility", "owner", "protected", "created_at", "updated_at")

    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._index_path = root / "index.json"
        self._lock = threading.RLock()
        self._images: dict[str, dict[str, Any]] = {}
        if self._index_path.exists():
            self._images = json.loads(self._index_path.read_text())

    def _save(self) -> None:
        tmp = self._index_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._images, indent=1))
        tmp.replace(self._index_path)

    def blob(self, image_id: str) -> Path:
        return self.root / f"{image_id}.img"

    def ensure_seed(self, owner: str) -> None:
        if seed_image_id() in self._images:
            return
        image = self.create(name=LOCAL_IMAGE_NAME, owner=owner, image_id=seed_image_id(),
                            disk_format="raw", container_format="bare",
                            tags=list(LOCAL_IMAGE_TAGS), visibility="public",
                            min_disk=SEED_MIN_DISK_GB)
        self.upload(image["id"], [SEED_CONTENT])

    def create(self, name: str | None, owner: str, image_id: str | None = None,
               disk_format: str | None = None, container_format: str | None = None,
               tags: Iterable[str] = (), visibility: str = "shared", min_disk: int = 0,
               min_ram: int = 0, protected: bool = False, **properties: Any) -> dict[str, Any]:
        image_id = image_id or str(uuid.uuid4())
        with self._lock:
            if image_id in self._images:
                raise glance_exc.HTTPConflict(f"Image with identifier {image_id} already exists!")
            now = _now()
            image = {
                "id": image_id, "name": name, "status": "queued", "tags": sorted(set(tags)),
                "disk_format": disk_format, "container_format": container_format,
                "size": None, "virtual_size": None, "checksum": None, "os_hash_algo": None,
                "os_hash_value": None, "min_disk": int(min_disk), "min_ram": int(min_ram),
                "visibility": visibility, "owner": owner, "protected": bool(protected),
                "created_at": now, "updated_at": now, "properties": dict(properties),
            }
            self._images[image_id] = image
            self._save()
        return self.view(image)

    def upload(self, image_id: str, chunks: Iterable[bytes]) -> dict[str, Any]:
        image = self._get(image_id)
        if image["status"] not in ("queued", "saving"):
            raise glance_exc.HTTPConflict(f"Image {image_id} already has data ({image['status']}).")
        md5, sha512, size = hashlib.md5(), hashlib.sha512(), 0
        path = self.blob(image_id)
        tmp = path.with_suffix(".part")
        image["status"] = "saving"
        try:
            with tmp.open("wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
                    md5.update(chunk)
                    sha512.update(chunk)
                    size += len(chunk)
            tmp.replace(path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            image["status"] = "queued"
            raise
        with self._lock:
            image.update(status="active", size=size, virtual_size=_virtual_size(path, size),
                         checksum=md5.hexdigest(), os_hash_algo="sha512",
                         os_hash_value=sha512.hexdigest(), updated_at=_now())
            self._save()
        return self.view(image)

    def read(self, image_id: str) -> Iterator[bytes]:
        image = self._get(image_id)
        if image["status"] != "active":
            raise glance_exc.HTTPNoContent(f"Image {image_id} has no data.")
        with self.blob(image_id).open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def update(self, image_id: str, **changes: Any) -> dict[str, Any]:
        with self._lock:
            image = self._get(image_id)
            for key, value in changes.items():
                if key in ("id", "status", "size", "checksum", "created_at", "owner"):
                    raise glance_exc.HTTPForbidden(f"Attribute '{key}' is read-only.")
                if key == "tags":
                    image["tags"] = sorted(set(value))
                elif key in self.CORE:
                    image[key] = value
                elif value is None:
                    image["properties"].pop(key, None)
                else:
                    image["properties"][key] = value
            image["updated_at"] = _now()
            self._save()
            return self.view(image)

    def delete(self, image_id: str) -> None:
        with self._lock:
            image = self._get(image_id)
            if image["protected"]:
                raise glance_exc.HTTPForbidden(f"Image {image_id} is protected.")
            del self._images[image_id]
            self._save()
        self.blob(image_id).unlink(missing_ok=True)

    def _get(self, image_id: str) -> dict[str, Any]:
        image = self._images.get(image_id)
        if image is None:
            raise glance_exc.HTTPNotFound(f"No image found with ID {image_id}")
        return image

    def get(self, image_id: str) -> dict[str, Any]:
        return self.view(self._get(image_id))

    def list(self, tags: Iterable[str] = (), **filters: Any) -> list[dict[str, Any]]:
        wanted = set(tags)
        result = []
        for image in list(self._images.values()):
            if wanted and not wanted.issubset(image["tags"]):
                continue
            if any(filters.get(k) is not None and image.get(k) != filters[k] for k in filters):
                continue
            result.append(self.view(image))
        result.sort(key=lambda i: i["created_at"], reverse=True)
        return result

    @staticmethod
    def view(image: dict[str, Any]) -> dict[str, Any]:
        flat = {k: v for k, v in image.items() if k != "properties"}
        flat.update(image["properties"])
        return flat


class Image:
    """A glanceclient v2 image: a dict with attribute access."""

    def __init__(self, data: dict[str, Any]):
        self.__dict__.update(data)
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def keys(self) -> Any:
        return self._data.keys()


class _Images:
    def __init__(self, store: ImageStore):
        self._store = store

    def get(self, image_id: str) -> Image:
        return Image(self._store.get(image_id))

    def list(self, filters: dict[str, Any] | None = None, **kwargs: Any) -> Iterator[Image]:
        filters = dict(filters or {})
        tags = filters.pop("tag", None) or filters.pop("tags", None) or []
        if isinstance(tags, str):
            tags = [tags]
        filters.pop("sort", None)
        for image in self._store.list(tags=tags, **filters):
            yield Image(image)


class GlanceClient:
    def __init__(self, store: ImageStore):
        self.images = _Images(store)


QCOW2_MAGIC = b"QFI\xfb"


def _virtual_size(path: Path, size: int) -> int:
    """The disk size the image needs (what nova compares with a flavor's disk):
    from the header of a qcow2 file, else the file's own size."""
    with path.open("rb") as handle:
        header = handle.read(32)
    if len(header) == 32 and header[:4] == QCOW2_MAGIC:
        return int.from_bytes(header[24:32], "big")
    return size
