"""Mirrors from apt sources, and manifests that vouch for the files they list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from trove_it.images import manifest, mirrors

DEB822 = """\
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://mirror.example/debian/
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://src.example/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://mirror.example/debian-security
Suites: bookworm-security
Components: main
"""
ONE_LINE = """\
# comment
deb [arch=amd64 signed-by=/x.gpg] http://one.example/debian bookworm main
deb http://one.example/debian-security bookworm-security main
deb-src http://one.example/debian bookworm main
"""


def _apt(tmp_path: Path, deb822: str = "", one_line: str = "") -> Path:
    (tmp_path / "sources.list.d").mkdir(parents=True)
    if deb822:
        (tmp_path / "sources.list.d" / "debian.sources").write_text(deb822)
    if one_line:
        (tmp_path / "sources.list").write_text(one_line)
    return tmp_path


def test_deb822_sources(tmp_path: Path) -> None:
    chosen = mirrors.choose(mirrors.host_sources(_apt(tmp_path, deb822=DEB822)))
    assert chosen == mirrors.Mirrors("http://mirror.example/debian",
                                     "http://mirror.example/debian-security")
    assert chosen.environment("debian") == {
        "DIB_DISTRIBUTION_MIRROR": "http://mirror.example/debian",
        "DIB_DEBIAN_SECURITY_MIRROR": "http://mirror.example/debian-security"}
    assert "DIB_DEBIAN_SECURITY_MIRROR" not in chosen.environment("ubuntu")


def test_one_line_sources(tmp_path: Path) -> None:
    chosen = mirrors.choose(mirrors.host_sources(_apt(tmp_path, one_line=ONE_LINE)))
    assert chosen == mirrors.Mirrors("http://one.example/debian",
                                     "http://one.example/debian-security")


def test_only_for_the_hosts_own_distribution(tmp_path: Path) -> None:
    apt = _apt(tmp_path / "apt", deb822=DEB822)
    os_release = tmp_path / "os-release"
    os_release.write_text('ID=debian\nVERSION_CODENAME=bookworm\n')
    assert mirrors.for_build("debian", apt, os_release).distribution
    assert mirrors.for_build("ubuntu", apt, os_release) == mirrors.Mirrors(None, None)
    assert mirrors.for_build("centos", apt, os_release) == mirrors.Mirrors(None, None)


def test_this_host_gives_both_mirrors() -> None:
    if mirrors.host_distro() != "debian":
        pytest.skip("this host is not Debian")
    chosen = mirrors.for_build("debian")
    assert chosen.distribution and chosen.security, chosen


def _record(files: dict[str, manifest.FileEntry]) -> manifest.Manifest:
    return manifest.Manifest(
        datastore="mariadb", version="10.11", mode="package", distro="debian",
        release="bookworm", format="qcow2", layout="partitionless", elements=["x"],
        guest_agent={"source": "pypi:26.0.0", "kind": "pypi", "detail": ""},
        guest_user="ubuntu", dev_mode=False, files=files,
        boot={"method": "direct-kernel", "cmdline": "root=LABEL=cloudimg-rootfs"})


def test_manifest_round_trip_and_verification(tmp_path: Path) -> None:
    image = tmp_path / "x.qcow2"
    image.write_bytes(b"image bytes")
    kernel = tmp_path / "x.vmlinuz"
    kernel.write_bytes(b"kernel")
    record = _record({"image": manifest.entry_for(image), "kernel": manifest.entry_for(kernel)})
    path = manifest.write(record, image)
    assert path == tmp_path / "x.manifest.json" and oct(path.stat().st_mode)[-3:] == "644"
    loaded = manifest.load(image)
    assert loaded == record
    assert manifest.verify(loaded, tmp_path) == []
    image.write_bytes(b"image byteZ")
    assert manifest.verify(loaded, tmp_path) == [
        "image file x.qcow2 does not match its sha256 in the manifest (modified after the "
        "build)"]
    kernel.unlink()
    assert "kernel file x.vmlinuz is missing" in manifest.verify(loaded, tmp_path)


def test_manifest_errors_are_one_line(tmp_path: Path) -> None:
    image = tmp_path / "y.qcow2"
    assert manifest.load(image) is None
    manifest.path_for(image).write_text(json.dumps({"schema": 99}))
    with pytest.raises(manifest.ManifestError, match="unsupported manifest schema 99"):
        manifest.load(image)
