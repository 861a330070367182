"""The root file system of a container image, assembled from Debian packages.

A ``debootstrap --variant=minbase`` of the release is made once and cached
as a tarball; each image unpacks it, installs its packages with apt inside
a chroot, adds this project's files and (for backup images) Trove's backup
program in a virtualenv, and drops what an image must not carry (package
lists, caches, a default database cluster).

Every chroot step runs in a private mount namespace (``unshare --mount``):
the /proc it mounts there is gone when the step's process is, on any exit,
so the work directory never holds a mount that a removal could cross.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

from trove_it.containers.recipes import (
    BACKUP_PROGRAM,
    BACKUP_VENV,
    DATABASE_ACCOUNT,
    DATABASE_UID,
    Recipe,
)
from trove_it.errors import UserError
from trove_it.images import loops, mirrors, pip_inputs

Progress = Callable[[str], None]
STEP_TIMEOUT = 1800.0
_DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8),
            ("urandom", 1, 9), ("tty", 5, 0))


def _mirrors() -> tuple[str, str | None]:
    found = mirrors.for_build("debian")
    return (found.distribution or "http://deb.debian.org/debian", found.security)


def _require(tool: str, package: str) -> None:
    if shutil.which(tool) is None:
        raise UserError(f"building container images needs '{tool}' on this host "
                        f"(apt-get install {package})")


def _run(cmd: list[str], what: str, log: Path, timeout: float = STEP_TIMEOUT) -> None:
    with log.open("ab") as out:
        out.write(f"\n$ {shlex.join(cmd)}\n".encode())
        out.flush()
        try:
            result = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise UserError(f"{what} took longer than {timeout:.0f} s; log: {log}") from None
    if result.returncode != 0:
        said = [line.strip() for line in log.read_text(errors="replace").splitlines()
                if line.strip() and not line.startswith("$ ")]
        tail = " / ".join(said[-3:])[-400:] or "no output"
        raise UserError(f"{what} failed (exit {result.returncode}): {tail}; log: {log}")


def base_tarball(release: str, cache: Path, log: Path, progress: Progress) -> Path:
    """The cached minbase bootstrap of ``release`` (made on first use)."""
    distribution, _ = _mirrors()
    tarball = cache / f"minbase-{release}.tar"
    if tarball.exists():
        return tarball
    _require("debootstrap", "debootstrap")
    progress(f"bootstrapping a minimal Debian {release} (once; cached as {tarball})")
    work = cache / f".minbase-{release}.{os.getpid()}"
    try:
        _run(["debootstrap", "--variant=minbase", release, str(work), distribution],
             f"debootstrap {release}", log)
        partial = tarball.with_suffix(f".{os.getpid()}.tmp")
        with tarfile.open(partial, "w") as archive:
            archive.add(str(work), arcname=".", filter=_no_devices)
        partial.replace(tarball)
    finally:
        remove_tree(work)
    return tarball


def _no_devices(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    """Device nodes stay out of images: the container runtime provides /dev."""
    return None if info.ischr() or info.isblk() else info


def remove_tree(path: Path) -> None:
    """Remove a work tree, refusing if anything is mounted below it."""
    if not path.exists():
        return
    mounted = loops.mounts_under(path)
    if mounted:
        raise UserError(f"{path} still has mounts below it ({', '.join(mounted)}); "
                        f"unmount them (umount -R) before it can be removed")
    shutil.rmtree(path)


def _in_chroot(root: Path, script: str, what: str, log: Path) -> None:
    """Run ``script`` with bash inside ``root``, /proc and a /dev of its own
    (a tmpfs with the usual nodes, never the host's) mounted in a private mount
    namespace that dies with the step."""
    devices = " ".join(f'mknod -m 666 "$1/dev/{name}" c {major} {minor};'
                       for name, major, minor in _DEVICES)
    wrapper = ('set -e; mount -t proc proc "$1/proc"; '
               'mount -t tmpfs -o mode=0755,size=16m tmpfs "$1/dev"; ' + devices +
               ' ln -s /proc/self/fd "$1/dev/fd"; mkdir "$1/dev/pts" "$1/dev/shm"; '
               'exec chroot "$1" /usr/bin/env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin '
               'LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive /bin/bash -euo pipefail -c "$2"')
    _run(["unshare", "--mount", "--propagation", "private", "--fork", "/bin/sh", "-c",
          wrapper, "trove-it-chroot", str(root), script], what, log)


def _apt_sources(release: str) -> str:
    distribution, security = _mirrors()
    lines = [f"deb {distribution} {release} main", f"deb {distribution} {release}-updates main"]
    if security:
        lines.append(f"deb {security} {release}-security main")
    return "\n".join(lines) + "\n"


def assemble(recipe: Recipe, root: Path, base: Path, log: Path, progress: Progress,
             backup_source: Path | None = None, constraints: Path | None = None) -> None:
    """Make ``root`` the image's file system."""
    _require("unshare", "util-linux")
    root.mkdir(parents=True)
    with tarfile.open(base) as archive:
        archive.extractall(root, filter="fully_trusted")
    (root / "etc/apt/sources.list").write_text(_apt_sources(recipe.release))
    policy = root / "usr/sbin/policy-rc.d"
    policy.write_text("#!/bin/sh\n# no services start while an image is assembled\nexit 101\n")
    policy.chmod(0o755)
    progress(f"installing {' '.join(recipe.packages)}")
    _in_chroot(root, "apt-get update -qq && apt-get install -y -qq --no-install-recommends "
               + " ".join(shlex.quote(p) for p in recipe.packages),
               f"installing {', '.join(recipe.packages)}", log)
    account = (f"getent group {DATABASE_UID} >/dev/null || groupadd --gid {DATABASE_UID} "
               f"{DATABASE_ACCOUNT}; getent passwd {DATABASE_UID} >/dev/null || useradd "
               f"--uid {DATABASE_UID} --gid {DATABASE_UID} --no-create-home --home-dir "
               f"/nonexistent --shell /usr/sbin/nologin {DATABASE_ACCOUNT}")
    owned = " ".join(shlex.quote(d) for d in recipe.owned_dirs)
    dirs = (f"for d in {owned}; do install -d -m 0755 -o {DATABASE_UID} -g {DATABASE_UID} "
            f"\"$d\"; done") if owned else "true"
    removed = " ".join(recipe.removed)  # globs, expanded inside the image
    _in_chroot(root, f"{account}; {dirs}; rm -rf {removed}" if removed else
               f"{account}; {dirs}", "creating the database account", log)
    if recipe.build_commands:
        _in_chroot(root, " && ".join(recipe.build_commands),
                   f"preparing {recipe.reference}", log)
    for item in recipe.files:
        target = root / item.target.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(recipe.file_text(item.source))
        target.chmod(item.mode)
    if recipe.backup_program:
        if backup_source is None:
            raise UserError(f"{recipe.reference} needs Trove's backup program (the backup/ "
                            f"directory of its sdist)")
        _add_backup_program(root, backup_source, constraints, log, progress)
    _strip(root)


def _add_backup_program(root: Path, source: Path, constraints: Path | None, log: Path,
                        progress: Progress) -> None:
    progress("adding Trove's backup program and its requirements")
    target = root / BACKUP_PROGRAM.lstrip("/")
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    pip = f"{BACKUP_VENV}/bin/pip install -q --disable-pip-version-check --no-cache-dir"
    steps = [f"python3 -m venv {BACKUP_VENV}"]
    if constraints is not None:
        shutil.copyfile(constraints, root / "tmp/constraints.txt")
        pip += " -c /tmp/constraints.txt"
    # What this host's pip trusts and where it looks (a network that
    # intercepts TLS has a CA of its own), for this step only.
    settings = pip_inputs.pip_settings(dict(os.environ))
    if "DIB_TROVE_IT_PIP_CERT" in settings:
        shutil.copyfile(settings["DIB_TROVE_IT_PIP_CERT"], root / "tmp/pip-ca.crt")
        pip += " --cert /tmp/pip-ca.crt"
    if "DIB_TROVE_IT_PIP_INDEX_URL" in settings:
        pip += f" --index-url {shlex.quote(settings['DIB_TROVE_IT_PIP_INDEX_URL'])}"
    steps.append(f"{pip} -r {BACKUP_PROGRAM}/requirements.txt")
    steps.append("rm -f /tmp/constraints.txt /tmp/pip-ca.crt")
    _in_chroot(root, " && ".join(steps), "installing the backup program's requirements", log)


def _strip(root: Path) -> None:
    """What no image should carry: package lists and caches, the build's
    policy-rc.d and the host's resolver settings (the runtime supplies its own)."""
    for pattern in ("var/lib/apt/lists/*", "var/cache/apt/*.bin",
                    "var/cache/apt/archives/*.deb", "var/log/apt/*", "root/.cache",
                    "usr/sbin/policy-rc.d"):
        for path in root.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            else:
                path.unlink(missing_ok=True)
    resolv = root / "etc/resolv.conf"
    if resolv.exists() or resolv.is_symlink():
        resolv.unlink()
    resolv.write_text("")
