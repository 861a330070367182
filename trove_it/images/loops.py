"""Loop devices and mounts: attach an image's file system, and release every
loop device and mount left under a directory.

Images are opened by attaching a loop device at the file system's offset
(this host kernel parses no partition tables and has no device-mapper, so
``losetup -P`` and kpartx are not options) and mounting it. Every attach is
undone on every exit path; ``release_under`` sweeps what a killed process
left behind, found by the backing file or mount point path, and
``remove_released`` deletes such a directory only once nothing is mounted in it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

from trove_it.errors import UserError


class LoopError(RuntimeError):
    """A loop or mount command failed; the message names the command."""


def privileged(cmd: list[str]) -> list[str]:
    """Run as root: directly when we are root, else through password-less sudo."""
    return cmd if os.geteuid() == 0 else ["sudo", "-n", *cmd]


def _run(cmd: list[str], timeout: float = 120) -> str:
    try:
        result = subprocess.run(privileged(cmd), capture_output=True, text=True,
                                timeout=timeout, check=False)
    except FileNotFoundError:
        raise LoopError(f"{cmd[0]} is not installed") from None
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise LoopError(f"{' '.join(cmd)} failed: {detail[-1] if detail else result.returncode}")
    return result.stdout


def require_root_tools() -> None:
    if os.geteuid() != 0:
        probe = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)
        if probe.returncode != 0:
            raise UserError("opening an image needs root (loop devices and mounts): run as "
                            "root or with password-less sudo")


def partitions(raw: Path) -> list[tuple[int, int, int]]:
    """(number, start sector, sectors) of each partition in a raw image; empty
    for an image without a partition table."""
    try:
        out = subprocess.run(["partx", "-g", "-o", "NR,START,SECTORS", str(raw)],
                             capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise LoopError("partx is not installed (util-linux)") from None
    rows = []
    for line in out.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            rows.append((int(parts[0]), int(parts[1]), int(parts[2])))
    return rows


def root_span(raw: Path) -> tuple[int, int | None]:
    """Byte offset and size of the root file system: the largest partition, or
    the whole file when there is no partition table."""
    parts = partitions(raw)
    if not parts:
        return 0, None
    _, start, sectors = max(parts, key=lambda p: p[2])
    return start * 512, sectors * 512


@contextlib.contextmanager
def attached(raw: Path, offset: int, size: int | None, read_only: bool) -> Iterator[str]:
    cmd = ["losetup", "--find", "--show", "--offset", str(offset)]
    if size:
        cmd += ["--sizelimit", str(size)]
    if read_only:
        cmd.append("--read-only")
    device = _run(cmd + [str(raw)]).strip()
    try:
        yield device
    finally:
        _run(["losetup", "--detach", device])


@contextlib.contextmanager
def mounted_fs(raw: Path, mount_point: Path, read_only: bool = True) -> Iterator[Path]:
    """Mount the root file system of a raw image at ``mount_point`` (created and
    removed here); yields the mount point."""
    offset, size = root_span(raw)
    mount_point.mkdir()
    try:
        with attached(raw, offset, size, read_only) as device:
            options = "ro,noload" if read_only else "rw"
            fs = subprocess.run(["blkid", "-o", "value", "-s", "TYPE", device],
                                capture_output=True, text=True, check=False).stdout.strip()
            if read_only and fs not in ("ext3", "ext4"):
                options = "ro"
            _run(["mount", "-o", options, device, str(mount_point)])
            try:
                yield mount_point
            finally:
                _run(["umount", str(mount_point)])
    finally:
        with contextlib.suppress(OSError):
            mount_point.rmdir()


def mounts_under(directory: Path) -> list[str]:
    """Mount points at or below ``directory``, deepest first."""
    prefix = str(directory.resolve())
    found = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return sorted(found, key=len, reverse=True)


def loops_backed_under(directory: Path) -> list[str]:
    """Loop devices whose backing file is at or below ``directory``."""
    prefix = str(directory.resolve())
    found = []
    for backing in Path("/sys/block").glob("loop*/loop/backing_file"):
        try:
            path = backing.read_text().strip().removesuffix(" (deleted)")
        except OSError:
            continue
        if path == prefix or path.startswith(prefix + "/"):
            found.append(f"/dev/{backing.parent.parent.name}")
    return sorted(found)


def release_under(directory: Path) -> list[str]:
    """Unmount and detach everything left below ``directory``; what was released."""
    released = []
    for point in mounts_under(directory):
        with contextlib.suppress(LoopError):
            _run(["umount", "--lazy", point])
            released.append(f"mount {point}")
    for device in loops_backed_under(directory):
        with contextlib.suppress(LoopError):
            _run(["losetup", "--detach", device])
            released.append(f"loop device {device}")
    return released


def remove_released(directory: Path) -> str | None:
    """Release what is left under ``directory``, then delete it, but only if no
    mount remains below it and it holds no other file system: a chroot's bind
    mounts of /dev, /proc or /sys that failed to come off would otherwise have
    the host's own device nodes deleted. Returns why it refused, or None."""
    if not directory.exists():
        return None
    release_under(directory)
    still = mounts_under(directory)
    if still:
        return f"{directory} was left in place: {still[0]} is still mounted"
    top = directory.lstat().st_dev
    for root, dirs, _ in os.walk(directory):
        for name in dirs:
            path = os.path.join(root, name)
            if os.lstat(path).st_dev != top or os.path.ismount(path):
                return f"{directory} was left in place: {path} is another file system"
    shutil.rmtree(directory, ignore_errors=True)
    return None
