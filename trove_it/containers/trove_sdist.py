"""Trove's source distribution, for what its wheel leaves out.

The backup program Trove's agent runs in its backup container is the
``backup/`` directory of the sdist; the wheel installed here has only the
``trove`` package. The sdist of the pinned release is fetched from PyPI
once and kept unpacked in the cache.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
from importlib import metadata
from pathlib import Path

from trove_it.errors import UserError
from trove_it.images import agent_source


def pinned_version() -> str:
    """The Trove release this environment runs (the image default otherwise)."""
    try:
        return metadata.version("trove")
    except metadata.PackageNotFoundError:
        return agent_source.DEFAULT.removeprefix("pypi:")


def unpacked(cache: Path, version: str | None = None) -> Path:
    """The unpacked sdist of trove ``version`` (default: the pinned release)."""
    version = version or pinned_version()
    tree = cache / f"trove-{version}"
    if (tree / "backup" / "main.py").is_file():
        return tree
    cache.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary", ":all:",
         "--disable-pip-version-check", f"trove=={version}", "-d", str(cache)],
        capture_output=True, text=True, timeout=600, check=False)
    sdist = cache / f"trove-{version}.tar.gz"
    if result.returncode != 0 or not sdist.is_file():
        detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
        raise UserError(f"cannot fetch the trove {version} sdist from PyPI (its backup/ "
                        f"program goes into the backup images): {detail[0]}")
    partial = cache / f".trove-{version}.{os.getpid()}"
    with tarfile.open(sdist) as archive:
        archive.extractall(partial, filter="data")
    (partial / f"trove-{version}").replace(tree)
    partial.rmdir()
    return tree


def backup_program(cache: Path, version: str | None = None) -> Path:
    return unpacked(cache, version) / "backup"
