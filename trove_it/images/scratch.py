"""Scratch directories that never outlive their owner.

Opening or booting an image needs a directory of temporary files and, inside
it, loop devices, mounts or a QEMU pidfile. Each directory records its
owner's pid; when the owner dies without cleaning up (SIGKILL, a crash), the
next user of this module releases what is left under it (mounts, loop
devices, the QEMU its pidfile names) and removes it.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path

from trove_it.images import loops, qemu
from trove_it.localcloud.lifecycle import processes

OWNER = "owner.pid"
PREFIX = "trove-it-scratch-"


def release(directory: Path) -> None:
    """Stop, unmount, detach and remove everything in a scratch directory."""
    for pidfile in directory.rglob("qemu.pid"):
        qemu.kill_by_pidfile(pidfile)
    refused = loops.remove_released(directory)
    if refused:
        warnings.warn(refused, stacklevel=2)


def sweep_stale(parent: Path | None = None) -> list[Path]:
    """Release the scratch directories whose owner is gone; returns them."""
    parent = parent or Path(tempfile.gettempdir())
    swept = []
    for directory in parent.glob(f"{PREFIX}*"):
        try:
            owner = int((directory / OWNER).read_text())
        except (OSError, ValueError):
            continue
        if owner != os.getpid() and not processes.alive(owner):
            release(directory)
            swept.append(directory)
    return swept


@contextlib.contextmanager
def scratch(purpose: str, parent: Path | None = None) -> Iterator[Path]:
    """A fresh scratch directory, released on every exit path."""
    sweep_stale(parent)
    directory = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{purpose}-", dir=parent))
    (directory / OWNER).write_text(str(os.getpid()))
    try:
        yield directory
    finally:
        release(directory)
