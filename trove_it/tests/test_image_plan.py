"""Build plans: which elements, variables and layout a request turns into, and
the one-line refusals of requests that cannot be built."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from trove_it.images import agent_source
from trove_it.images.plan import (
    BOOT_CMDLINE,
    BuildPlan,
    BuildRequest,
    PlanError,
    make_plan,
    public_key_fingerprint,
)
from trove_it.localcloud.lifecycle import profiles


def _plan(tmp_path: Path, dm: bool = False, **kwargs: Any) -> BuildPlan:
    request = BuildRequest(**{"datastore": "mariadb", "output": tmp_path, **kwargs})
    return make_plan(request, device_mapper=dm, image_cache=tmp_path / "cache")


def test_default_mariadb_bookworm_plan(tmp_path: Path) -> None:
    """Container mode, with the database and backup images built here and named
    after a vm local cloud's registry."""
    plan = _plan(tmp_path)
    assert plan.name == "trove-it-mariadb-10.11-debian-bookworm"
    assert plan.elements == ["debian-minimal", "baremetal", "trove-it-guest",
                             "trove-it-guest-agent", "trove-it-container"]
    assert plan.container_image == f"{profiles.VM_REGISTRY}/trove-it/mariadb:10.11"
    assert plan.backup_image == f"{profiles.VM_REGISTRY}/trove-it/mariadb-backup:10.11"
    assert plan.container_recipes == {plan.container_image: "mariadb/database",
                                      plan.backup_image: "mariadb/backup"}
    assert plan.env["DIB_TROVE_IT_CONTAINER_IMAGE"] == plan.container_image
    assert plan.env["DIB_TROVE_IT_BACKUP_IMAGE"] == plan.backup_image
    assert plan.layout == "partitionless"
    assert plan.boot == {"method": "direct-kernel", "cmdline": BOOT_CMDLINE}
    assert plan.file_roles == {"image": f"{plan.name}.qcow2", "kernel": f"{plan.name}.vmlinuz",
                               "initrd": f"{plan.name}.initrd"}
    assert plan.env["DIB_RELEASE"] == "bookworm"
    assert plan.env["DIB_TROVE_IT_GUEST_AGENT"] == "pypi:26.0.0"
    assert plan.env["DIB_DEBOOTSTRAP_CACHE"] == "1"
    assert "-u" not in plan.dib_args and plan.dib_args[:4] == ["-a", "amd64", "-t", "qcow2"]


def test_package_mode_installs_the_server(tmp_path: Path) -> None:
    plan = _plan(tmp_path, mode="package")
    assert plan.name == "trove-it-mariadb-10.11-debian-bookworm-package"
    assert plan.elements[-1] == "trove-it-ds-mariadb"
    assert plan.container_image is None and not plan.container_recipes


def test_device_mapper_gives_a_partitioned_image(tmp_path: Path) -> None:
    plan = _plan(tmp_path, dm=True)
    assert plan.layout == "partitioned" and "vm" in plan.elements
    assert plan.boot == {"method": "disk"}
    assert set(plan.file_roles) == {"image"}


def test_tar_has_no_boot_files_and_no_bootloader(tmp_path: Path) -> None:
    plan = _plan(tmp_path, format="tar", compress=False)
    assert "vm" not in plan.elements and "baremetal" not in plan.elements
    assert plan.boot == {"method": "none"} and plan.artifact_name.endswith(".tar")


@pytest.mark.parametrize("kwargs,message", [
    ({"datastore": "db2", "mode": "package"}, "db2 cannot be built on debian"),
    ({"version": "11.4", "mode": "package"}, "ships mariadb 10.11, not 11.4"),
    ({"version": "11.4"}, "built here from Debian bookworm, which ships 10.11, not 11.4"),
    ({"layout": "partitioned"}, "needs device-mapper"),
    ({"format": "vhd"}, "--format must be one of"),
    ({"guest_agent": "pypi:latest!"}, "needs a release number"),
    ({"guest_agent": "git:https://example.org/trove"}, "needs a ref after the last '@'"),
    ({"guest_agent": "path:/nonexistent/trove"}, "no such directory"),
    ({"base_image": "/some/file.qcow2"}, "applies to ubuntu and centos"),
    ({"base_image": "cached"}, "no cached debian bookworm base"),
    ({"mode": "container", "datastore": "redis"}, "runs only mariadb, mysql, postgresql"),
    ({"mode": "container", "container_image": "x/mariadb:10.6"}, "the tag must be the version"),
    ({"container_archive": Path("/x.tar"), "mode": "package"},
     "only applies to --mode container"),
    ({"guest_user": "Root User"}, "not a valid account name"),
])
def test_refusals_are_one_clear_line(tmp_path: Path, kwargs: dict[str, Any],
                                     message: str) -> None:
    with pytest.raises(PlanError, match=message) as error:
        _plan(tmp_path, **kwargs)
    assert "\n" not in str(error.value)


def test_cached_base_reuses_the_debootstrap_tarball(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "debootstrap-debian-bookworm-amd64.tar.gz").write_bytes(b"x")
    plan = _plan(tmp_path, base_image="cached")
    assert plan.env["DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE"] == "1"


def test_cloud_image_bases_for_ubuntu_and_centos(tmp_path: Path) -> None:
    url = "https://mirror.example/ubuntu/noble-server-cloudimg-amd64-root.tar.gz"
    plan = _plan(tmp_path, distro="ubuntu", base_image=url)
    assert plan.elements[0] == "ubuntu"
    assert plan.env["DIB_CLOUD_IMAGES"] == "https://mirror.example/ubuntu"
    assert plan.env["BASE_IMAGE_FILE"] == "noble-server-cloudimg-amd64-root.tar.gz"
    local = tmp_path / "centos.qcow2"
    local.write_bytes(b"x")
    plan = _plan(tmp_path, distro="centos", base_image=str(local))
    assert plan.elements[0] == "centos" and plan.env["DIB_LOCAL_IMAGE"] == str(local)


def test_git_agent_adds_source_repositories(tmp_path: Path) -> None:
    plan = _plan(tmp_path, guest_agent="git:https://opendev.org/openstack/trove@master")
    assert "source-repositories" in plan.elements
    assert plan.agent.kind == "git"


def test_path_agent_records_the_checkout(tmp_path: Path) -> None:
    checkout = tmp_path / "trove"
    checkout.mkdir()
    (checkout / "setup.cfg").write_text("[metadata]\nname = trove\n")
    subprocess.run(["git", "init", "-q", str(checkout)], check=True)
    subprocess.run(["git", "-C", str(checkout), "-c", "user.email=t@e", "-c", "user.name=t",
                    "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    source = agent_source.parse(f"path:{checkout}")
    assert source.kind == "path" and source.spec == f"path:{checkout.resolve()}"
    assert "at " in source.detail and len(source.detail.rsplit(" ", 1)[1]) == 40


def test_container_mode_with_an_image_from_elsewhere(tmp_path: Path) -> None:
    """mysql has no image built here: Trove's own, from a registry or an archive."""
    plan = _plan(tmp_path, datastore="mysql")
    assert plan.version == "8.4"
    assert plan.container_image == "quay.io/openstack.trove/mysql:8.4"
    assert plan.backup_image is None and not plan.container_recipes
    archive = tmp_path / "mariadb-11.4.tar"
    plan = _plan(tmp_path, version="11.4", container_archive=archive,
                 container_image="registry.example/mariadb:11.4")
    assert plan.container_image == "registry.example/mariadb:11.4"
    assert plan.env["DIB_TROVE_IT_CONTAINER_ARCHIVE"] == str(archive.resolve())


def test_dev_key_is_a_public_key_only(tmp_path: Path) -> None:
    private = tmp_path / "id_ed25519"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(private)],
                   check=True)
    plan = _plan(tmp_path, dev_key=private.with_suffix(".pub"))
    assert plan.elements[-1] == "trove-it-dev" and plan.name.endswith("-dev")
    expected = subprocess.run(["ssh-keygen", "-l", "-E", "sha256", "-f",
                               str(private.with_suffix(".pub"))],
                              capture_output=True, text=True, check=True).stdout.split()[1]
    assert plan.dev_key_fingerprint == expected
    assert public_key_fingerprint(private.with_suffix(".pub").read_text()) == expected
    with pytest.raises(PlanError, match="is a private key"):
        _plan(tmp_path, dev_key=private)
    empty = tmp_path / "empty.pub"
    empty.write_text("not a key\n")
    with pytest.raises(PlanError, match="holds no SSH public key"):
        _plan(tmp_path, dev_key=empty)
