"""Instance data on a RAM-backed file system, when the machine has one.

Every instance's engine gets a data directory copied from a template: about
a thousand files for PostgreSQL. On ext4, creating that many files right
after deleting as many costs more kernel time than everything else the run
does (the inode allocator scans for inodes it may reuse), and a scenario run
creates and deletes dozens of instances. On tmpfs the same copy is cheap.

The cloud's ``instances`` directory becomes a link to a directory under
``/dev/shm`` when that is a tmpfs with room to spare; otherwise it stays a
plain directory in the state directory. ``TROVE_IT_INSTANCE_DISK=state``
keeps it there regardless; any other path puts it under that path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

SHM = Path("/dev/shm")
MIN_FREE = 2 * 1024 ** 3
ENV = "TROVE_IT_INSTANCE_DISK"


def _is_tmpfs(path: Path) -> bool:
    try:
        with open("/proc/self/mounts") as mounts:
            return any(line.split()[1] == str(path) and line.split()[2] == "tmpfs"
                       for line in mounts)
    except OSError:
        return False


def _free_bytes(path: Path) -> int:
    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize


def memory_root() -> Path | None:
    """Where instance directories go, or None to keep them in the state dir."""
    choice = os.environ.get(ENV, "")
    if choice == "state":
        return None
    base = Path(choice) if choice else SHM
    if not choice and not (base.is_dir() and _is_tmpfs(base) and _free_bytes(base) >= MIN_FREE):
        return None
    return base / f"trove-it-{os.getuid()}"


def place_instances(instances: Path, state_dir: Path) -> None:
    """Create ``instances``: a link into the memory root, or a plain directory."""
    root = memory_root()
    if root is None:
        instances.mkdir(mode=0o755)
        return
    key = hashlib.sha256(str(state_dir.resolve()).encode()).hexdigest()[:12]
    target = root / f"{state_dir.name}-{key}"
    root.mkdir(parents=True, exist_ok=True)
    os.chmod(root, 0o755)  # engines that run as another user must traverse it
    remove_tree(target)
    target.mkdir(mode=0o755)
    instances.symlink_to(target, target_is_directory=True)


def remove_instances(instances: Path) -> None:
    """Remove what ``place_instances`` made (the link's target too)."""
    if instances.is_symlink():
        remove_tree(Path(os.readlink(instances)))
        instances.unlink()
    elif instances.exists():
        remove_tree(instances)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
