"""Shared plumbing for engines that run a real server process.

A data directory comes from a template initialised once per machine and
copied per instance (a copy takes a tenth of a second; initialising takes
seconds). The process is started through ``processes.spawn`` so it dies with
the cloud server (unless the cloud is survivable) and leaves a pidfile for
``cloud down`` to reap.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from filelock import FileLock

from trove_it.localcloud.engines.base import EngineContext, EngineError
from trove_it.localcloud.lifecycle import processes


def chown_tree(path: Path, user: str | None) -> None:
    if not user or os.geteuid() != 0:
        return
    entry = pwd.getpwnam(user)
    if not path.is_dir():
        os.chown(path, entry.pw_uid, entry.pw_gid)
        return
    for root, dirs, files in os.walk(path):
        os.chown(root, entry.pw_uid, entry.pw_gid)
        for name in dirs + files:
            os.lchown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)


def binary_fingerprint(path: str) -> str:
    """Short id of an engine binary, so an upgraded engine gets a new template."""
    stat = os.stat(path)
    return hashlib.sha256(f"{path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]


def prepare_template(templates: Path, name: str, build: Callable[[Path], None]) -> Path:
    """Return the template directory ``name``, building it once under a lock."""
    templates.mkdir(parents=True, exist_ok=True)
    target = templates / name
    with FileLock(str(templates / f".{name}.lock")):
        if not (target / ".complete").exists():
            shutil.rmtree(target, ignore_errors=True)
            scratch = templates / f"{name}.building"
            shutil.rmtree(scratch, ignore_errors=True)
            scratch.mkdir(parents=True)
            try:
                build(scratch)
            except BaseException:
                shutil.rmtree(scratch, ignore_errors=True)
                raise
            (scratch / ".complete").write_text("ok\n")
            scratch.rename(target)
    return target


def copy_template(template: Path, data_dir: Path, user: str | None) -> None:
    """Copy a template's data directory for one instance.

    ``cp -a`` runs outside the server's event loop (a copy in Python would
    block every other request for its duration) and keeps the template's
    owner, so a template built by ``user`` needs no chown afterwards.
    """
    if data_dir.exists():
        shutil.rmtree(data_dir)
    result = processes.run(["cp", "-a", str(template / "data"), str(data_dir)], timeout=120)
    if result.returncode != 0:
        raise EngineError(f"copying the engine template {template} failed: "
                          + result.stderr.decode(errors="replace")[-300:])
    if user and os.geteuid() == 0 and data_dir.stat().st_uid != pwd.getpwnam(user).pw_uid:
        chown_tree(data_dir, user)


class ServerProcess:
    """One engine server process with its pidfile and log."""

    def __init__(self, ctx: EngineContext, name: str):
        self.ctx = ctx
        self.name = name
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def log(self) -> Path:
        return self.ctx.log_dir / f"{self.name}.out"

    def pid(self) -> int | None:
        if self._proc is not None and self._proc.poll() is None:
            return self._proc.pid
        pid = processes.read_pidfile(self.ctx.pidfile)
        return pid if pid is not None and processes.alive(pid) else None

    def alive(self) -> bool:
        return self.pid() is not None

    def start(self, argv: Sequence[str], ready: Callable[[], bool], timeout: float = 60.0,
              user: str | None = None, env: dict[str, str] | None = None) -> None:
        if self.alive():
            return
        self.ctx.log_dir.mkdir(parents=True, exist_ok=True)
        self.ctx.run_dir.mkdir(parents=True, exist_ok=True)
        chown_tree(self.ctx.run_dir, user)
        chown_tree(self.ctx.log_dir, user)
        self._proc = processes.spawn(
            argv, log=self.log, pidfile=self.ctx.pidfile, user=user, cwd=self.ctx.root,
            env=env, death_signal=0 if self.ctx.outlives_server else signal.SIGKILL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EngineError(f"{self.name} exited with status {self._proc.returncode} "
                                  f"while starting: {self.tail()}")
            try:
                if ready():
                    return
            except Exception:  # noqa: BLE001 - not ready yet, whatever the driver says
                pass
            time.sleep(0.1)
        self.stop()
        raise EngineError(f"{self.name} did not accept connections within {timeout:.0f}s: "
                          f"{self.tail()}")

    def stop(self, timeout: float = 30.0, sig: int = signal.SIGTERM) -> None:
        pid = self.pid()
        if pid is not None:
            processes.terminate(pid, timeout=timeout, sig=sig)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self._proc = None
        self.ctx.pidfile.unlink(missing_ok=True)

    def kill(self) -> None:
        """SIGKILL: for a server whose data is being thrown away."""
        self.stop(timeout=5.0, sig=signal.SIGKILL)

    def tail(self, lines: int = 5) -> str:
        try:
            text = self.log.read_text(errors="replace").strip().splitlines()
        except OSError:
            return "(no output)"
        return " | ".join(text[-lines:]) or "(no output)"
