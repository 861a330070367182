"""Push a ``docker save`` archive into a registry over its HTTP API (v2).

No Docker engine is involved: the layer is compressed once (kept beside the
archive), the layer and configuration blobs are uploaded unless the
registry has them, and a schema 2 manifest names them under the tag. A
guest's Docker engine then pulls or inspects the image as it would from any
registry.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

import requests

from trove_it.containers import archive

MANIFEST_TYPE = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_TYPE = "application/vnd.docker.container.image.v1+json"
LAYER_TYPE = "application/vnd.docker.image.rootfs.diff.tar.gzip"
CHUNK = 1024 * 1024
TIMEOUT = 600


class PushError(RuntimeError):
    """The registry refused something; the message says what."""


@dataclass(frozen=True)
class Blob:
    path: Path
    digest: str
    size: int


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return f"sha256:{digest.hexdigest()}"


def compressed_layer(path: Path) -> Blob:
    """The archive's layer, gzip-compressed, cached beside the archive."""
    parts = archive.read(path)
    cached = path.with_suffix(".layer.tar.gz")
    digest_file = path.with_suffix(".layer.digest")
    if cached.exists() and digest_file.exists():
        return Blob(cached, digest_file.read_text().strip(), cached.stat().st_size)
    partial = cached.with_name(f".{cached.name}.{os.getpid()}")
    with tarfile.open(path) as tar:
        member = tar.extractfile(parts.layer_member)
        if member is None:
            raise PushError(f"{path}: its layer {parts.layer_member} is missing")
        with gzip.open(partial, "wb", compresslevel=1) as out:
            shutil.copyfileobj(member, out, CHUNK)
    digest = _sha256(partial)
    partial.replace(cached)
    digest_file.write_text(digest)
    return Blob(cached, digest, cached.stat().st_size)


def _upload(session: requests.Session, base: str, repository: str, blob: Blob | bytes,
            digest: str) -> None:
    url = f"{base}/v2/{repository}/blobs/{digest}"
    if session.head(url, timeout=60).status_code == 200:
        return
    start = session.post(f"{base}/v2/{repository}/blobs/uploads/", timeout=60)
    if start.status_code != 202:
        raise PushError(f"registry refused an upload to {repository}: {start.status_code} "
                        f"{start.text[:160]}")
    location = start.headers["Location"]
    if location.startswith("/"):
        location = base + location
    location += ("&" if "?" in location else "?") + f"digest={digest}"
    headers = {"Content-Type": "application/octet-stream"}
    if isinstance(blob, bytes):
        done = session.put(location, data=blob, headers=headers, timeout=TIMEOUT)
    else:
        headers["Content-Length"] = str(blob.size)
        with blob.path.open("rb") as handle:
            done = session.put(location, data=handle, headers=headers, timeout=TIMEOUT)
    if done.status_code != 201:
        raise PushError(f"registry refused blob {digest[:19]} of {repository}: "
                        f"{done.status_code} {done.text[:160]}")


def push(path: Path, registry_url: str, reference: str) -> str:
    """Push the archive's image to ``registry_url`` as ``reference``
    (``repository:tag``, without the registry's host); returns its manifest digest."""
    repository, _, tag = reference.rpartition(":")
    if not repository or "/" in tag:
        raise PushError(f"{reference}: give REPOSITORY:TAG")
    parts = archive.read(path)
    layer = compressed_layer(path)
    config_digest = f"sha256:{hashlib.sha256(parts.config_bytes).hexdigest()}"
    base = registry_url.rstrip("/")
    with requests.Session() as session:
        _upload(session, base, repository, layer, layer.digest)
        _upload(session, base, repository, parts.config_bytes, config_digest)
        manifest = json.dumps({
            "schemaVersion": 2, "mediaType": MANIFEST_TYPE,
            "config": {"mediaType": CONFIG_TYPE, "size": len(parts.config_bytes),
                       "digest": config_digest},
            "layers": [{"mediaType": LAYER_TYPE, "size": layer.size,
                        "digest": layer.digest}]}).encode()
        done = session.put(f"{base}/v2/{repository}/manifests/{tag}", data=manifest,
                           headers={"Content-Type": MANIFEST_TYPE}, timeout=60)
        if done.status_code != 201:
            raise PushError(f"registry refused the manifest of {reference}: "
                            f"{done.status_code} {done.text[:160]}")
    return f"sha256:{hashlib.sha256(manifest).hexdigest()}"
