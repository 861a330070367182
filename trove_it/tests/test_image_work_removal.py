"""Work and scratch directories are deleted only once nothing is mounted in
them: a DIB chroot killed mid-build keeps bind mounts of the host's /dev,
/proc and /sys, and a plain recursive delete would go through them and
delete the host's device nodes. A bind mount of a directory holding a
sentinel file stands in for /dev here.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it.images import loops


@pytest.fixture
def work_with_bind_mount(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    if os.geteuid() != 0:
        pytest.skip("needs root to mount")
    host = tmp_path / "host-dev"
    host.mkdir()
    (host / "sentinel").write_text("a device node")
    work = tmp_path / ".image.build-1"
    inside = work / "tmp" / "mnt" / "dev"
    inside.mkdir(parents=True)
    subprocess.run(["mount", "--bind", str(host), str(inside)], check=True)
    yield work, host
    if work.exists() and str(inside.resolve()) in loops.mounts_under(work):
        subprocess.run(["umount", "--lazy", str(inside)], check=False)


def test_a_mounted_work_dir_is_released_then_removed(
        work_with_bind_mount: tuple[Path, Path]) -> None:
    work, host = work_with_bind_mount
    assert loops.remove_released(work) is None
    assert not work.exists()
    assert (host / "sentinel").read_text() == "a device node"


def test_a_mount_that_will_not_come_off_stops_the_removal(
        work_with_bind_mount: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    work, host = work_with_bind_mount
    monkeypatch.setattr(loops, "release_under", lambda directory: [])  # umount "fails"
    refused = loops.remove_released(work)
    assert refused is not None and "is still mounted" in refused
    assert (host / "sentinel").exists(), "the removal went through the mount"
    assert work.exists()
