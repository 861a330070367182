"""``load_image`` and ``activate`` against the local cloud's real Glance and
Trove APIs: upload (with kernel and initrd for partitionless images),
registration read back, activation, and what ``openstack datastore version
list`` then shows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it.clients import CloudClients
from trove_it.errors import UserError
from trove_it.images import manifest, registry
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.layout import CloudDescriptor

VERSION = "10.11.90-trove-it-selftest"


@pytest.fixture()
def built_image(tmp_path: Path) -> Path:
    """A small but real qcow2 with kernel, initrd and manifest, like a build's output."""
    if shutil.which("qemu-img") is None:
        pytest.skip("needs qemu-img")
    image = tmp_path / "trove-it-mariadb-10.11-debian-bookworm.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "64M"], check=True)
    kernel = image.with_suffix(".vmlinuz")
    kernel.write_bytes(os.urandom(4096))
    initrd = image.with_suffix(".initrd")
    initrd.write_bytes(os.urandom(8192))
    record = manifest.Manifest(
        datastore="mariadb", version="10.11", mode="package", distro="debian",
        release="bookworm", format="qcow2", layout="partitionless", elements=["x"],
        guest_agent={"source": "pypi:26.0.0", "kind": "pypi", "detail": ""},
        guest_user="ubuntu", dev_mode=False,
        files={"image": manifest.entry_for(image), "kernel": manifest.entry_for(kernel),
               "initrd": manifest.entry_for(initrd)},
        boot={"method": "direct-kernel", "cmdline": "root=LABEL=cloudimg-rootfs ro"})
    manifest.write(record, image)
    return image


def _default_version(admin: CloudClients) -> str | None:
    return admin.trove.datastores.get("mariadb")._info.get("default_version")


@pytest.fixture()
def restore_mariadb(selftest_admin: CloudClients) -> Iterator[None]:
    """Put mariadb's default back and remove what the test registered and uploaded."""
    default = _default_version(selftest_admin)
    yield
    found = registry.find_version(selftest_admin, "mariadb", VERSION)
    if default:
        selftest_admin.raw_trove().patch(f"/mgmt/datastore-versions/{default}",
                                         json={"default": True}, raise_exc=False)
    if found:
        selftest_admin.trove.mgmt_ds_versions.delete(found["id"])
    for image in selftest_admin.conn.image.images(tag=["trove-it"]):
        if image.name and image.name.startswith("trove-it-mariadb-10.11-debian-bookworm"):
            selftest_admin.conn.image.delete_image(image.id, ignore_missing=True)


def _openstack(cloud: CloudDescriptor, role: str, *args: str) -> list[dict[str, str]]:
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=cloud.clouds_yaml)
    env.pop("OS_CLOUD", None)
    command = [str(Path(sys.executable).parent / "openstack"), "--os-cloud",
               cloud_names(cloud.name)[role], *args, "-f", "json"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr[-800:]
    data: list[dict[str, str]] = json.loads(result.stdout)
    return data


def test_load_then_activate(selftest_admin: CloudClients, selftest_cloud: CloudDescriptor,
                            built_image: Path, restore_mariadb: None) -> None:
    loaded = registry.load_image(selftest_admin, built_image, "mariadb", VERSION, ["ci"])
    image = selftest_admin.conn.image.get_image(loaded.image.id)
    assert image.status == "active" and {"trove-it", "ci"} <= set(image.tags)
    assert image.kernel_id == loaded.image.kernel_id
    assert image.ramdisk_id == loaded.image.ramdisk_id
    assert image.os_command_line == "root=LABEL=cloudimg-rootfs ro"
    assert image.hw_rng_model == "virtio" and image.os_distro == "debian"
    record = manifest.load(built_image)
    assert record is not None
    assert image.properties["trove_it_sha256"] == record.files["image"].sha256
    kernel = selftest_admin.conn.image.get_image(loaded.image.kernel_id)
    assert kernel.disk_format == "aki" and kernel.status == "active"

    version = loaded.version
    assert version.created and not version.active and not version.default
    assert version.image == loaded.image.id and set(version.image_tags) == {"trove-it", "ci"}

    activated = registry.activate(selftest_admin, "mariadb", VERSION)
    assert activated.active and activated.default and activated.id == version.id
    listed = _openstack(selftest_cloud, "member", "datastore", "version", "list", "mariadb")
    assert VERSION in [v["Name"] for v in listed]
    assert _default_version(selftest_admin) == version.id

    again = registry.load_image(selftest_admin, built_image, "mariadb", VERSION, ["ci", "more"])
    assert again.image.reused and again.image.id == loaded.image.id
    assert "more" in selftest_admin.conn.image.get_image(loaded.image.id).tags
    assert not again.version.created and again.version.active
    assert set(again.version.image_tags) == {"trove-it", "ci", "more"}


def test_refusals(selftest_admin: CloudClients, built_image: Path,
                  restore_mariadb: None) -> None:
    with pytest.raises(UserError, match="was built for mariadb, not postgresql"):
        registry.load_image(selftest_admin, built_image, "postgresql", "15")
    with pytest.raises(UserError, match="is not registered; load an image"):
        registry.activate(selftest_admin, "mariadb", "no-such-version")
    built_image.with_suffix(".initrd").write_bytes(b"tampered")
    with pytest.raises(UserError, match="does not match its manifest: initrd file"):
        registry.load_image(selftest_admin, built_image, "mariadb", VERSION)


def test_a_disk_image_without_manifest_uploads_as_is(selftest_admin: CloudClients,
                                                    tmp_path: Path,
                                                    restore_mariadb: None) -> None:
    """A partitioned image from elsewhere: no kernel/initrd, format from qemu-img."""
    if shutil.which("qemu-img") is None:
        pytest.skip("needs qemu-img")
    image = tmp_path / "trove-it-mariadb-10.11-debian-bookworm-plain.img"
    subprocess.run(["qemu-img", "create", "-q", "-f", "raw", str(image), "16M"], check=True)
    loaded = registry.load_image(selftest_admin, image, "mariadb", VERSION)
    glance = selftest_admin.conn.image.get_image(loaded.image.id)
    assert glance.disk_format == "raw" and not glance.kernel_id
    assert loaded.image.kernel_id is None and loaded.version.image == loaded.image.id
    tarball = tmp_path / "root.tar"
    tarball.write_bytes(b"x")
    with pytest.raises(UserError, match="is a tarball"):
        registry.load_image(selftest_admin, tarball, "mariadb", VERSION)
