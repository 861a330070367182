"""The cached ``docker save`` archive of a recipe: built once per machine.

``ensure`` returns ``<cache>/containers/<name>-<version>-<fingerprint>.tar``,
building it when missing. The fingerprint covers the recipe, this
project's files in it, the project's pins and (for backup images) Trove's
backup program, so a change to any of them builds a new archive. The three
newest archives of a name are kept (guest images built with an earlier one
name it in their manifests); older ones are removed. Builds of the same archive by two
processes are serialised by a lock; each works in a directory of its own.
"""

from __future__ import annotations

import hashlib
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock

from trove_it.containers import archive, rootfs, trove_sdist
from trove_it.containers.recipes import Recipe
from trove_it.images import pip_inputs

Progress = Callable[[str], None]
KEPT = 3


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cache_root() -> Path:
    from trove_it.localcloud.lifecycle.launcher import cache_dir

    return cache_dir() / "containers"


def _inputs(recipe: Recipe, cache: Path) -> tuple[Path | None, Path | None, bytes]:
    """Trove's backup program and the pins, when the recipe uses them, and
    what of them enters the fingerprint."""
    if not recipe.backup_program:
        return None, None, b""
    program = trove_sdist.backup_program(cache / "sdist")
    constraints = pip_inputs.constraints_file()
    digest = hashlib.sha256()
    for path in sorted(program.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(str(path.relative_to(program)).encode())
            digest.update(path.read_bytes())
    if constraints is not None:
        digest.update(constraints.read_bytes())
    return program, constraints, digest.digest()


def archive_path(recipe: Recipe, cache: Path | None = None) -> Path:
    """Where ``ensure`` keeps the recipe's archive (which may not exist yet)."""
    cache = cache or cache_root()
    _, _, extra = _inputs(recipe, cache)
    name = recipe.repository.replace("/", "-")
    return cache / f"{name}-{recipe.version}-{recipe.fingerprint(extra)}.tar"


def ensure(recipe: Recipe, cache: Path | None = None, progress: Progress = _stderr,
           rebuild: bool = False) -> Path:
    """The recipe's archive, built now if it is not cached."""
    cache = cache or cache_root()
    cache.mkdir(parents=True, exist_ok=True)
    target = archive_path(recipe, cache)
    with FileLock(str(target.with_suffix(".lock"))):
        if target.exists() and not rebuild:
            return target
        program, constraints, _ = _inputs(recipe, cache)
        log = cache / f"{target.stem}.build.log"
        log.write_text("")
        started = time.monotonic()
        progress(f"building the container image {recipe.reference} from Debian "
                 f"{recipe.release} packages; log: {log}")
        base = rootfs.base_tarball(recipe.release, cache, log, progress)
        work = cache / f".{target.stem}.{os.getpid()}"
        try:
            rootfs.assemble(recipe, work / "root", base, log, progress,
                            backup_source=program, constraints=constraints)
            version = _package_version(work / "root", recipe)
            archive.write(work / "root", recipe, [recipe.reference], target, version)
        finally:
            rootfs.remove_tree(work)
        same = sorted(cache.glob(f"{recipe.repository.replace('/', '-')}-{recipe.version}-*.tar"),
                      key=lambda path: path.stat().st_mtime, reverse=True)
        for stale in same[KEPT:]:
            for path in (stale, stale.with_suffix(".layer.tar.gz"),
                         stale.with_suffix(".layer.digest"), stale.with_suffix(".lock")):
                path.unlink(missing_ok=True)
        progress(f"built {target.name} ({target.stat().st_size // 2**20} MB) in "
                 f"{time.monotonic() - started:.0f} s")
    return target


def _package_version(root: Path, recipe: Recipe) -> str:
    """The installed version of the recipe's first package (the server or the
    backup tool), as dpkg recorded it."""
    wanted = recipe.packages[0]
    status = (root / "var/lib/dpkg/status").read_text(errors="replace")
    for stanza in status.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines()
                      if ": " in line and not line.startswith(" "))
        if fields.get("Package") == wanted:
            return fields.get("Version", recipe.version)
    return recipe.version
