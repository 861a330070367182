"""Open an image's root file system for offline inspection, read-only.

qcow2 images are converted to a sparse raw copy and loop-mounted at the
root file system's offset (libguestfs would need its own appliance and KVM;
``qemu-nbd`` needs an NBD driver this kernel lacks); raw images are mounted
as they are; tarballs are unpacked. Everything is undone when the context
exits, whatever the exit (and by the next run, if this process was killed:
see ``scratch``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from trove_it.errors import UserError
from trove_it.images import loops, scratch


def disk_format(path: Path) -> str:
    if path.suffix == ".tar":
        return "tar"
    try:
        out = subprocess.run(["qemu-img", "info", "--output=json", str(path)],
                             capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError:
        raise UserError("inspecting disk images needs qemu-img (apt-get install qemu-utils)") \
            from None
    try:
        return str(json.loads(out.stdout)["format"])
    except (ValueError, KeyError):
        raise UserError(f"{path} is not a disk image or tarball this harness can open") \
            from None


def to_raw(image: Path, target: Path) -> None:
    """A sparse raw copy of a disk image (qcow2 or anything qemu-img reads)."""
    result = subprocess.run(["qemu-img", "convert", "-O", "raw", str(image), str(target)],
                            capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        raise UserError(f"qemu-img could not convert {image.name}: "
                        f"{result.stderr.strip()[:200]}")


@contextlib.contextmanager
def open_root(image: Path, workdir: Path | None = None) -> Iterator[Path]:
    """Yield the image's root file system as a read-only directory tree."""
    if not image.is_file():
        raise UserError(f"{image}: no such image file")
    fmt = disk_format(image)
    with scratch.scratch("inspect", workdir) as directory:
        if fmt == "tar":
            tree = directory / "root"
            tree.mkdir()
            cmd = ["tar", "-xf", str(image), "-C", str(tree), "--exclude=./dev/*"]
            if os.geteuid() != 0:
                cmd.append("--no-same-owner")
            result = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if result.returncode != 0:
                raise UserError(f"cannot unpack {image.name}: {result.stderr.strip()[:200]}")
            yield tree
            return
        loops.require_root_tools()
        raw = image
        if fmt != "raw":
            raw = directory / "image.raw"
            to_raw(image, raw)
        with loops.mounted_fs(raw, directory / "mnt", read_only=True) as root:
            yield root


def resolve_in(root: Path, path: str, depth: int = 0) -> Path:
    """Resolve ``path`` inside an image tree, following symlinks as the image would
    (an absolute link target is relative to the image's root, not the host's)."""
    if depth > 40:
        return root / path.lstrip("/")
    current = root
    parts = [p for p in path.split("/") if p]
    for index, part in enumerate(parts):
        candidate = current / part
        if candidate.is_symlink():
            target = os.readlink(candidate)
            rest = "/".join(parts[index + 1:])
            if target.startswith("/"):
                joined = target + ("/" + rest if rest else "")
            else:
                base = str(current.relative_to(root))
                joined = "/" + "/".join(x for x in (base if base != "." else "", target, rest)
                                        if x)
            return resolve_in(root, os.path.normpath(joined), depth + 1)
        current = candidate
    return current
