"""Load a built image into a cloud and register it with Trove.

``load_image`` uploads to Glance through openstacksdk (kernel and initrd too,
for images without a partition table, linked by the ``kernel_id``,
``ramdisk_id`` and ``os_command_line`` properties Nova boots them with) and
registers or updates the datastore version through Trove's management API:
``GET /mgmt/datastore-versions``, then ``POST`` or ``PATCH``, then a read-back,
because a registration that silently did nothing must be an error.
``activate`` makes a version active and its datastore's default. The CLI and
the pytest session fixtures call these same functions.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trove_it import catalogue
from trove_it.clients import CloudClients
from trove_it.errors import UserError
from trove_it.images import container_images
from trove_it.images import manifest as manifests

DEFAULT_TAGS = ("trove-it",)
VISIBILITIES = ("public", "private", "shared", "community")


class RegistrationError(UserError):
    """Trove or Glance refused, or did not do, what was asked (one line)."""

    exit_status = 4


@dataclass(frozen=True)
class LoadedImage:
    id: str
    name: str
    kernel_id: str | None = None
    ramdisk_id: str | None = None
    reused: bool = False


@dataclass(frozen=True)
class RegisteredVersion:
    id: str
    datastore: str
    name: str
    image: str | None
    image_tags: tuple[str, ...]
    active: bool
    default: bool
    created: bool = False

    @classmethod
    def from_api(cls, data: dict[str, Any], default: bool = False,
                 created: bool = False) -> RegisteredVersion:
        return cls(id=str(data["id"]), datastore=str(data.get("datastore_name")),
                   name=str(data.get("name")), image=data.get("image") or None,
                   image_tags=tuple(data.get("image_tags") or ()),
                   active=bool(data.get("active")),
                   default=default or bool(data.get("default")), created=created)


@dataclass(frozen=True)
class LoadResult:
    image: LoadedImage
    version: RegisteredVersion


# ----------------------------------------------------------------- Glance
def _disk_format(path: Path, record: manifests.Manifest | None) -> str:
    if record is not None:
        if record.format == "tar":
            raise UserError(f"{path.name} is a file-system tarball; Glance and Nova need a "
                            f"disk image: build with --format qcow2")
        return record.format
    if path.suffix == ".tar":
        raise UserError(f"{path.name} is a tarball; Glance and Nova need a disk image (qcow2)")
    try:
        out = subprocess.run(["qemu-img", "info", "--output=json", str(path)],
                             capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        return "qcow2" if path.suffix == ".qcow2" else "raw"
    import json

    try:
        return str(json.loads(out.stdout)["format"])
    except (ValueError, KeyError):
        raise UserError(f"{path} is not a disk image qemu-img can read") from None


def _find_identical(admin: CloudClients, name: str, sha256: str) -> str | None:
    """An active image of this name already holding these bytes."""
    for image in admin.conn.image.images(name=name):
        if image.status == "active" and \
                (image.properties or {}).get("trove_it_sha256") == sha256:
            return str(image.id)
    return None


def _create(admin: CloudClients, name: str, path: Path, disk_format: str,
            container_format: str, tags: list[str], visibility: str,
            properties: dict[str, str], sha256: str) -> tuple[str, bool]:
    """Upload one file, unless an identical one (same name and sha256) is there
    already: loading twice does not upload twice. Returns (id, reused)."""
    existing = _find_identical(admin, name, sha256)
    if existing:
        image = admin.conn.image.get_image(existing)
        for tag in sorted(set(tags) - set(image.tags or ())):
            admin.conn.image.add_tag(image, tag)
        return existing, True
    try:
        image = admin.conn.image.create_image(
            name=name, filename=str(path), disk_format=disk_format,
            container_format=container_format, tags=tags, visibility=visibility,
            allow_duplicates=True, wait=True, validate_checksum=False,
            trove_it_sha256=sha256, **properties)
    except Exception as exc:  # noqa: BLE001 - openstacksdk raises many kinds
        raise RegistrationError(f"Glance refused {path.name}: "
                                f"{str(exc).splitlines()[0][:200]}") from None
    image = admin.conn.image.get_image(image.id)
    if image.status != "active":
        raise RegistrationError(f"Glance image {image.id} for {path.name} is "
                                f"{image.status}, not active, after the upload")
    return str(image.id), False


def _sha256(path: Path, record: manifests.Manifest | None) -> str:
    return record.files["image"].sha256 if record is not None else manifests.sha256_file(path)


def upload_if_loaded(admin: CloudClients, path: Path) -> str | None:
    """The id of an identical image an earlier load left under its usual name."""
    path = path.resolve()
    return _find_identical(admin, path.stem, _sha256(path, manifests.load(path)))


def upload(admin: CloudClients, path: Path, tags: Iterable[str] = (),
           visibility: str = "public", name: str | None = None,
           on_created: Callable[[str], None] | None = None) -> LoadedImage:
    """Upload an image (and its kernel and initrd when it has no partition table)
    as ``name`` (the file's stem by default); ``on_created`` hears of every Glance
    image made, so a caller can clean up even when a later part fails."""
    path = path.resolve()
    if not path.is_file():
        raise UserError(f"--image {path}: no such file")
    if visibility not in VISIBILITIES:
        raise UserError(f"--visibility must be one of {', '.join(VISIBILITIES)}")
    record = manifests.load(path)
    if record is not None:
        problems = manifests.verify(record, path.parent)
        if problems:
            raise UserError(f"{path.name} does not match its manifest: {problems[0]}")
    disk_format = _disk_format(path, record)
    tag_list = sorted(set(DEFAULT_TAGS) | set(tags))
    name = name or path.stem
    created = on_created or (lambda image_id: None)
    properties = {"hw_rng_model": "virtio", "trove_it_image": path.name}
    kernel_id = ramdisk_id = None
    if record is not None:
        properties.update({"os_distro": record.distro, "os_version": record.release,
                           "trove_it_datastore": record.datastore,
                           "trove_it_version": record.version})
        if record.boot.get("method") == "direct-kernel":
            for role, fmt in (("kernel", "aki"), ("initrd", "ari")):
                part = record.file(role, path.parent)
                assert part is not None
                part_id, part_reused = _create(admin, f"{name}-{role}", part, fmt, fmt,
                                               tag_list, visibility, {},
                                               record.files[role].sha256)
                if not part_reused:
                    created(part_id)
                if role == "kernel":
                    kernel_id = part_id
                else:
                    ramdisk_id = part_id
            properties.update({"kernel_id": str(kernel_id), "ramdisk_id": str(ramdisk_id),
                               "os_command_line": record.boot["cmdline"]})
    sha256 = _sha256(path, record)
    image_id, reused = _create(admin, name, path, disk_format, "bare", tag_list, visibility,
                               properties, sha256)
    if not reused:
        created(image_id)
    return LoadedImage(image_id, name, kernel_id, ramdisk_id, reused)


# ----------------------------------------------------------------- Trove
def _call(admin: CloudClients, method: str, url: str, body: dict[str, Any] | None = None,
          what: str = "") -> Any:
    adapter = admin.raw_trove()
    try:
        response = adapter.request(url, method, json=body, raise_exc=False)
    except Exception as exc:  # noqa: BLE001 - connection errors
        raise RegistrationError(f"Trove management API {method} {url} failed: "
                                f"{str(exc).splitlines()[0][:200]}") from None
    if response.status_code == 403:
        raise RegistrationError(f"Trove refused {method} {url} (403): registering "
                                f"datastore versions needs admin credentials")
    if response.status_code >= 400:
        raise RegistrationError(f"Trove refused {what or method + ' ' + url} "
                                f"({response.status_code}): {_fault(response)}")
    if not response.content:
        return None
    try:
        return response.json()
    except ValueError:
        return None


def _fault(response: Any) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(data, dict):
        for value in data.values():
            if isinstance(value, dict) and "message" in value:
                return str(value["message"])[:200]
    return str(data)[:200]


def find_version(admin: CloudClients, datastore: str, version: str) -> dict[str, Any] | None:
    """The management view of a datastore version, None when not registered."""
    data = _call(admin, "GET", "/mgmt/datastore-versions") or {}
    for entry in data.get("versions", []):
        if entry.get("datastore_name") == datastore and entry.get("name") == version:
            return dict(entry)
    return None


def _default_version_id(admin: CloudClients, datastore: str) -> str | None:
    adapter = admin.raw_trove()
    response = adapter.get(f"/datastores/{datastore}", raise_exc=False)
    if response.status_code >= 400:
        return None
    return response.json().get("datastore", {}).get("default_version")


def _read_back(admin: CloudClients, datastore: str, version: str) -> RegisteredVersion:
    found = find_version(admin, datastore, version)
    if found is None:
        raise RegistrationError(f"Trove accepted the registration of {datastore} {version} "
                                f"but does not list it afterwards")
    detail = _call(admin, "GET", f"/mgmt/datastore-versions/{found['id']}") or {}
    data = {**found, **detail.get("version", {})}
    is_default = _default_version_id(admin, datastore) == data["id"]
    return RegisteredVersion.from_api(data, default=is_default)


def register(admin: CloudClients, datastore: str, version: str, image_id: str,
             tags: Iterable[str] = (), active: bool | None = None,
             number: str | None = None) -> RegisteredVersion:
    """Create or update the version so it boots ``image_id``; verified by reading back.

    ``active`` None keeps an existing version's state and creates new ones
    inactive (``activate`` turns them on). ``number`` is a new version's
    version number when it differs from its name (Trove hands the number to
    the guest, whose agent runs ``<docker_image>:<number>``)."""
    try:
        manager = catalogue.get(datastore).manager
    except KeyError as exc:
        raise UserError(str(exc.args[0])) from None
    tag_list = sorted(set(DEFAULT_TAGS) | set(tags))
    existing = find_version(admin, datastore, version)
    if existing is None:
        body = {"version": {"name": version, "datastore_name": datastore,
                            "datastore_manager": manager, "image": image_id,
                            "image_tags": tag_list, "active": bool(active),
                            "default": False, "version": number or version}}
        _call(admin, "POST", "/mgmt/datastore-versions", body,
              what=f"the new version {datastore} {version}")
    else:
        # Trove clears the image id when only tags are given: always send both.
        patch: dict[str, Any] = {"image": image_id, "image_tags": tag_list,
                                 "datastore_manager": manager}
        if active is not None:
            patch["active"] = active
        _call(admin, "PATCH", f"/mgmt/datastore-versions/{existing['id']}", patch,
              what=f"the update of {datastore} {version}")
    result = _read_back(admin, datastore, version)
    if result.image != image_id:
        raise RegistrationError(f"Trove accepted {datastore} {version} but reads back image "
                                f"{result.image or 'none'}, not {image_id}")
    if active is not None and result.active != active:
        raise RegistrationError(f"Trove accepted {datastore} {version} but reads it back as "
                                f"{'active' if result.active else 'inactive'}")
    return RegisteredVersion(**{**result.__dict__, "created": existing is None})


def put_back(admin: CloudClients, datastore: str, version: str, image_id: str | None,
             image_tags: Iterable[str], active: bool) -> RegisteredVersion:
    """Set a version's image id (or, when None, only its tags) and active flag
    exactly as given, to restore what an earlier ``register`` changed; verified."""
    existing = find_version(admin, datastore, version)
    if existing is None:
        raise RegistrationError(f"{datastore} {version} is no longer registered")
    patch: dict[str, Any] = {"image_tags": list(image_tags), "active": active}
    if image_id:
        patch["image"] = image_id
    _call(admin, "PATCH", f"/mgmt/datastore-versions/{existing['id']}", patch,
          what=f"restoring {datastore} {version}")
    result = _read_back(admin, datastore, version)
    if (result.image or None) != (image_id or None) or result.active != active:
        raise RegistrationError(f"Trove accepted restoring {datastore} {version} but reads "
                                f"back image {result.image or 'none'}, "
                                f"{'active' if result.active else 'inactive'}")
    return result


def load_image(admin_clients: CloudClients, path: Path, datastore: str, version: str,
               tags: Iterable[str] = (), visibility: str = "public",
               active: bool | None = None,
               say: Callable[[str], None] = lambda _: None) -> LoadResult:
    """Upload ``path`` to Glance and point ``datastore`` ``version`` at it (and,
    on a vm local cloud, give its registry the image's container images)."""
    if datastore not in catalogue.DATASTORE_NAMES:
        raise UserError(f"unknown datastore '{datastore}'; choose from "
                        f"{', '.join(catalogue.DATASTORE_NAMES)}")
    record = manifests.load(Path(path))
    if record is not None and record.datastore != datastore:
        raise UserError(f"{Path(path).name} was built for {record.datastore}, not "
                        f"{datastore}")
    image = upload(admin_clients, Path(path), tags, visibility)
    container_images.publish(admin_clients, record, say)
    registered = register(admin_clients, datastore, version, image.id, tags, active)
    return LoadResult(image, registered)


def activate(admin_clients: CloudClients, datastore: str, version: str) -> RegisteredVersion:
    """Make a registered version active and its datastore's default; verified."""
    existing = find_version(admin_clients, datastore, version)
    if existing is None:
        raise UserError(f"{datastore} {version} is not registered; load an image for it "
                        f"first (trove-it image load)")
    _call(admin_clients, "PATCH", f"/mgmt/datastore-versions/{existing['id']}",
          {"active": True, "default": True}, what=f"activating {datastore} {version}")
    result = _read_back(admin_clients, datastore, version)
    if not result.active or not result.default:
        state = ("inactive" if not result.active else "active but not the default")
        raise RegistrationError(f"Trove accepted activating {datastore} {version} but reads "
                                f"it back {state}")
    return result
