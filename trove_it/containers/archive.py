"""A ``docker save`` archive of a root file system, written without a Docker engine.

The archive holds one layer (the whole root file system as a tar), the
image configuration Docker records (environment, entrypoint, command,
working directory, exposed ports, the layer's digest) and ``manifest.json``
naming it with its tags, which is what ``docker load`` reads. ``read``
gives back a written archive's parts, which the registry push and the
tests use.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import json
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trove_it.containers.recipes import Recipe

CHUNK = 1024 * 1024
SKIPPED = ("proc", "sys", "dev", "run/lock", "tmp")
"""Kept as empty directories: the runtime mounts or fills them."""


@dataclass(frozen=True)
class ArchiveParts:
    tags: list[str]
    config: dict[str, Any]
    config_bytes: bytes
    layer_member: str
    diff_id: str
    """``sha256:<digest of the uncompressed layer tar>``."""


def image_config(recipe: Recipe, diff_id: str, created: str, version: str) -> dict[str, Any]:
    config: dict[str, Any] = {
        "Env": [f"{k}={v}" for k, v in sorted(recipe.env.items())],
        "Labels": {"org.opencontainers.image.title": recipe.repository,
                   "org.opencontainers.image.version": version,
                   "org.openstack.trove-it.recipe": recipe.fingerprint()},
    }
    if recipe.entrypoint:
        config["Entrypoint"] = list(recipe.entrypoint)
    if recipe.cmd:
        config["Cmd"] = list(recipe.cmd)
    if recipe.working_dir:
        config["WorkingDir"] = recipe.working_dir
    if recipe.exposed_ports:
        config["ExposedPorts"] = {f"{port}/tcp": {} for port in recipe.exposed_ports}
    return {"architecture": "amd64", "os": "linux", "created": created, "config": config,
            "rootfs": {"type": "layers", "diff_ids": [diff_id]},
            "history": [{"created": created, "created_by": f"trove-it {recipe.reference}"}]}


def _keep(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """A layer member, or None for what the runtime provides (see SKIPPED)."""
    name = info.name.removeprefix("./")
    for skipped in SKIPPED:
        if name.startswith(skipped + "/"):
            return None
    if info.ischr() or info.isblk() or info.isfifo():
        return None
    info.uname = info.gname = ""
    return info


def write(root: Path, recipe: Recipe, tags: list[str], target: Path, version: str) -> Path:
    """Write the archive of ``root`` to ``target``; returns it."""
    partial = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    layer_path = target.with_name(f".{target.name}.{os.getpid()}.layer")
    try:
        with tarfile.open(layer_path, "w", format=tarfile.PAX_FORMAT) as layer:
            for top in sorted(root.iterdir()):
                layer.add(str(top), arcname=top.name, filter=_keep)
        digest = hashlib.sha256()
        with layer_path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
        diff_id = f"sha256:{digest.hexdigest()}"
        created = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        config_bytes = json.dumps(image_config(recipe, diff_id, created, version),
                                  sort_keys=True).encode()
        config_name = f"{hashlib.sha256(config_bytes).hexdigest()}.json"
        layer_dir = digest.hexdigest()
        manifest = [{"Config": config_name, "RepoTags": tags,
                     "Layers": [f"{layer_dir}/layer.tar"]}]
        with tarfile.open(partial, "w") as archive:
            _add_bytes(archive, config_name, config_bytes)
            archive.add(str(layer_path), arcname=f"{layer_dir}/layer.tar")
            _add_bytes(archive, "manifest.json", json.dumps(manifest).encode())
        partial.replace(target)
    finally:
        layer_path.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return target


def _add_bytes(archive: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    archive.addfile(info, io.BytesIO(data))


def read(path: Path) -> ArchiveParts:
    """The tags, configuration and layer of an archive this module (or
    ``docker save``, for a one-layer image) wrote."""
    with tarfile.open(path) as archive:
        member = archive.extractfile("manifest.json")
        if member is None:
            raise ValueError(f"{path} has no manifest.json: not a docker-archive")
        manifest = json.load(member)
        if len(manifest) != 1 or len(manifest[0].get("Layers", [])) != 1:
            raise ValueError(f"{path} does not hold exactly one one-layer image")
        entry = manifest[0]
        config_file = archive.extractfile(entry["Config"])
        if config_file is None:
            raise ValueError(f"{path}: its manifest names a missing {entry['Config']}")
        config_bytes = config_file.read()
    config = json.loads(config_bytes)
    return ArchiveParts(tags=list(entry.get("RepoTags") or []), config=config,
                        config_bytes=config_bytes, layer_member=entry["Layers"][0],
                        diff_id=config["rootfs"]["diff_ids"][0])
