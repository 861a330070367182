"""Container images written without a Docker engine, and pushed to a registry.

The archive ``containers.archive`` writes is read back as ``docker load``
reads one (manifest, configuration, one layer whose digest is the
configuration's diff id); a push through the registry's HTTP API is then
read back from a real Debian docker-registry: the manifest by tag, and each
blob by its digest. Building a whole image from Debian packages takes a
minute and is exercised by the image job (``.ci/image-job``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import socket
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from trove_it.containers import archive, push, recipes
from trove_it.errors import UserError
from trove_it.localcloud.vm import registry


@pytest.fixture
def tiny_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "tmp/leftover").mkdir(parents=True)
    (root / "proc").mkdir()
    script = root / "usr/local/bin/trove-it-entrypoint"
    script.write_text("#!/bin/sh\nexec \"$@\"\n")
    script.chmod(0o755)
    (root / "proc/1").mkdir()
    return root


def test_recipes_name_their_images_and_refuse_others() -> None:
    database = recipes.recipe("mariadb")
    assert database.reference == f"trove-it/mariadb:{database.version}"
    assert recipes.recipe("postgresql", "backup").repository == "trove-it/postgresql-backup"
    with pytest.raises(UserError, match="not redis"):
        recipes.recipe("redis")
    with pytest.raises(UserError, match="--kind must be one of"):
        recipes.recipe("mariadb", "tools")
    assert database.fingerprint() != database.fingerprint(b"another backup program")


def test_archive_is_what_docker_load_reads(tiny_root: Path, tmp_path: Path) -> None:
    recipe = recipes.recipe("mariadb")
    target = archive.write(tiny_root, recipe, [recipe.reference], tmp_path / "image.tar",
                           "1:10.11.6-0+deb12u1")
    parts = archive.read(target)
    assert parts.tags == [recipe.reference]
    config = parts.config["config"]
    assert config["Entrypoint"] == list(recipe.entrypoint)
    assert config["Cmd"] == list(recipe.cmd)
    assert "3306/tcp" in config["ExposedPorts"]
    assert config["Labels"]["org.opencontainers.image.version"] == "1:10.11.6-0+deb12u1"
    with tarfile.open(target) as outer:
        names = outer.getnames()
        layer = outer.extractfile(parts.layer_member)
        assert layer is not None
        data = layer.read()
    assert parts.diff_id == f"sha256:{hashlib.sha256(data).hexdigest()}"
    assert f"{hashlib.sha256(parts.config_bytes).hexdigest()}.json" in names
    with tarfile.open(fileobj=io.BytesIO(data)) as inner:
        members = {m.name: m for m in inner.getmembers()}
    assert "usr/local/bin/trove-it-entrypoint" in members
    assert members["usr/local/bin/trove-it-entrypoint"].mode & 0o111
    # what the runtime provides stays empty
    assert "tmp" in members and "tmp/leftover" not in members
    assert "proc" in members and "proc/1" not in members


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def running_registry(tmp_path: Path) -> Iterator[registry.Registry]:
    if registry.missing() and not os.environ.get("TROVE_IT_VM_TESTS"):
        pytest.skip(f"a registry needs {registry.missing()}")
    server = registry.Registry(tmp_path / "registry", _free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_push_reads_back_from_a_real_registry(tiny_root: Path, tmp_path: Path,
                                              running_registry: registry.Registry) -> None:
    recipe = recipes.recipe("postgresql", "backup")
    target = archive.write(tiny_root, recipe, [recipe.reference], tmp_path / "backup.tar",
                           recipe.version)
    reference = f"trove-it/pg-backup:{recipe.version}"
    digest = push.push(target, running_registry.url, reference)
    manifest = requests.get(f"{running_registry.url}/v2/trove-it/pg-backup/manifests/"
                            f"{recipe.version}",
                            headers={"Accept": push.MANIFEST_TYPE}, timeout=30)
    assert manifest.status_code == 200, manifest.text
    assert manifest.headers["Docker-Content-Digest"] == digest
    body = manifest.json()
    config = requests.get(f"{running_registry.url}/v2/trove-it/pg-backup/blobs/"
                          f"{body['config']['digest']}", timeout=30)
    assert json.loads(config.content)["rootfs"]["diff_ids"] == [archive.read(target).diff_id]
    layer = requests.get(f"{running_registry.url}/v2/trove-it/pg-backup/blobs/"
                         f"{body['layers'][0]['digest']}", timeout=30)
    assert hashlib.sha256(gzip.decompress(layer.content)).hexdigest() == \
        archive.read(target).diff_id.split(":", 1)[1]
    # a second push finds every blob there and only names the tag again
    assert push.push(target, running_registry.url, reference) == digest
