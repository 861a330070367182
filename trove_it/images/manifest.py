"""The manifest written next to every image: what was built, from what, and
the checksums of every file that belongs to it.

``<name>.manifest.json`` sits beside ``<name>.qcow2`` (and, for images
without a partition table, ``<name>.vmlinuz`` and ``<name>.initrd``). The
validation suite, the boot test and ``trove-it image load`` read it to know
how to treat the image; its checksums prove the files are the ones built.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

SCHEMA = 1
SUFFIX = ".manifest.json"
ROOT_LABEL = "cloudimg-rootfs"
"""The root file system label DIB gives images (and the kernel command line uses)."""


class ManifestError(ValueError):
    """A manifest is missing, unreadable or does not match its files (one line)."""


@dataclass(frozen=True)
class FileEntry:
    name: str
    sha256: str
    size: int


@dataclass
class Manifest:
    datastore: str
    version: str
    mode: str
    """package (engine from packages) or container (engine image preloaded)."""
    distro: str
    release: str
    format: str
    """qcow2 or tar."""
    layout: str
    """partitioned (MBR + GRUB) or partitionless (bare file system + kernel/initrd)."""
    elements: list[str]
    guest_agent: dict[str, str]
    guest_user: str
    dev_mode: bool
    files: dict[str, FileEntry]
    """By role: image, and for partitionless qcow2 images kernel and initrd."""
    boot: dict[str, str]
    """method (disk or direct-kernel) and, for direct-kernel, cmdline."""
    dev_key_fingerprint: str | None = None
    container_image: str | None = None
    """Container mode: the database image, by the name the agent runs it."""
    backup_image: str | None = None
    container_archives: dict[str, dict[str, str]] = field(default_factory=dict)
    """Container mode: each preloaded image (by name) and the ``docker save``
    archive it came from (``file``, ``sha256``), which a vm cloud's registry
    is given when the image is loaded."""
    mirrors: dict[str, str] = field(default_factory=dict)
    built_at: str = ""
    build_seconds: float = 0.0
    builder: dict[str, str] = field(default_factory=dict)
    derived_from: dict[str, str] | None = None
    """For test variants made by editing a built image: the original and the edit."""
    schema: int = SCHEMA

    def file(self, role: str, directory: Path) -> Path | None:
        entry = self.files.get(role)
        return directory / entry.name if entry else None

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Manifest:
        data = dict(data)
        if data.get("schema") != SCHEMA:
            raise ManifestError(f"unsupported manifest schema {data.get('schema')!r} "
                                f"(expected {SCHEMA})")
        data["files"] = {role: FileEntry(**entry) for role, entry in data["files"].items()}
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})


def path_for(artifact: Path) -> Path:
    """``x.qcow2`` -> ``x.manifest.json`` (also for ``x.tar``)."""
    return artifact.with_name(artifact.stem + SUFFIX)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(4 * 1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


def entry_for(path: Path) -> FileEntry:
    return FileEntry(path.name, sha256_file(path), path.stat().st_size)


def write(manifest: Manifest, artifact: Path) -> Path:
    """Write atomically, so a reader never sees half a manifest."""
    target = path_for(artifact)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".manifest-", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(manifest.to_json())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load(artifact: Path) -> Manifest | None:
    """The manifest beside an artifact, None when there is none."""
    path = path_for(artifact)
    if not path.exists():
        return None
    try:
        return Manifest.from_dict(json.loads(path.read_text()))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise ManifestError(f"cannot read manifest {path}: {exc}") from None


def verify(manifest: Manifest, directory: Path) -> list[str]:
    """Problems with the files a manifest lists: missing, or not what was built."""
    problems = []
    for role, entry in sorted(manifest.files.items()):
        path = directory / entry.name
        if not path.exists():
            problems.append(f"{role} file {entry.name} is missing")
        elif path.stat().st_size != entry.size:
            problems.append(f"{role} file {entry.name} is {path.stat().st_size} bytes, the "
                            f"manifest says {entry.size}")
        elif sha256_file(path) != entry.sha256:
            problems.append(f"{role} file {entry.name} does not match its sha256 in the "
                            f"manifest (modified after the build)")
    return problems
