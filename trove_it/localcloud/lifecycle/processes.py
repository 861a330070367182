"""Child processes that die with their parent, and pidfiles to reap them by.

Every process the local cloud starts asks the kernel to signal it when its
parent dies (``PR_SET_PDEATHSIG``), so a killed server takes its engines
with it; and it leaves a pidfile, so ``cloud down`` can reap what a crash
left behind even without a live parent.
"""

from __future__ import annotations

import ctypes
import errno
import os
import pwd
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_libc = ctypes.CDLL(None, use_errno=True)


def _child_setup(death_signal: int, user: str | None, new_session: bool,
                 enter: Callable[[], None] | None = None) -> Callable[[], None]:
    parent = os.getpid()
    target = pwd.getpwnam(user) if user else None

    def setup() -> None:
        # A run started as a background job has SIGINT ignored, and children
        # inherit that; the servers we start keep the ordinary default.
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        if new_session:
            os.setsid()
        if enter is not None:
            enter()
        if target is not None:
            os.setgroups([])
            os.setgid(target.pw_gid)
            os.setuid(target.pw_uid)
        # After any credential change: the kernel clears the setting on setuid.
        _libc.prctl(PR_SET_PDEATHSIG, death_signal, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)

    return setup


def user_env(user: str | None, env: dict[str, str] | None) -> dict[str, str] | None:
    """The environment a child run as ``user`` gets, as runuser gives it: that
    user's HOME (libpq, for one, reads ~/.postgresql/ there; root's home is
    not readable to it) and names."""
    if not user:
        return env
    home = pwd.getpwnam(user).pw_dir
    return {**(env if env is not None else os.environ), "HOME": home, "USER": user,
            "LOGNAME": user}


def spawn(argv: Sequence[str], *, log: Path, pidfile: Path | None = None,
          user: str | None = None, cwd: Path | None = None,
          env: dict[str, str] | None = None, death_signal: int = signal.SIGKILL,
          new_session: bool = True, enter: Callable[[], None] | None = None
          ) -> subprocess.Popen[bytes]:
    """Start a long-running child that dies with this process (``enter`` runs
    in the child before exec: into a network namespace, say)."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv), stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
            cwd=str(cwd) if cwd else None, env=user_env(user, env), close_fds=True,
            preexec_fn=_child_setup(death_signal, user, new_session, enter))
    if pidfile is not None:
        pidfile.write_text(f"{proc.pid}\n")
    return proc


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except OSError as exc:
        return exc.errno == errno.EPERM
    return _state(pid) not in ("Z", "X", None)


def _state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def read_pidfile(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def terminate(pid: int, timeout: float = 10.0, sig: int = signal.SIGTERM,
              group: bool = False) -> bool:
    """Signal a process (or its process group), escalating to SIGKILL.

    Returns True when the process is gone.
    """
    send = os.killpg if group else os.kill
    try:
        send(pid, sig)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap_if_child(pid)
        if not alive(pid):
            return True
        time.sleep(0.05)
    try:
        send(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    for _ in range(100):
        _reap_if_child(pid)
        if not alive(pid):
            return True
        time.sleep(0.05)
    return not alive(pid)


def _reap_if_child(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def reap_pidfile(pidfile: Path, timeout: float = 10.0) -> bool:
    """Stop the process a pidfile names (if it still runs) and remove the file."""
    pid = read_pidfile(pidfile)
    done = True
    if pid is not None and alive(pid):
        done = terminate(pid, timeout=timeout)
    if done:
        pidfile.unlink(missing_ok=True)
    return done


def run(argv: Sequence[str], *, user: str | None = None, timeout: float = 120.0,
        input_data: bytes | None = None, env: dict[str, str] | None = None,
        cwd: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    """Run a short command to completion, as ``user`` when given."""
    preexec = _child_setup(signal.SIGKILL, user, new_session=False) if user else None
    return subprocess.run(list(argv), input=input_data, capture_output=True, timeout=timeout,
                          env=user_env(user, env), cwd=str(cwd) if cwd else None,
                          preexec_fn=preexec, check=False)


def adopt_orphans() -> None:
    """Become the parent of every orphan among this process's descendants, so
    that ``reap_zombie_children`` can collect them (on machines whose init
    reaps no orphans, they would stay as zombies)."""
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


def reap_zombie_children() -> int:
    """Collect this process's children that have exited; returns how many."""
    me = str(os.getpid())
    reaped = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z" and fields[1] == me:
            try:
                os.waitpid(int(entry.name), os.WNOHANG)
                reaped += 1
            except ChildProcessError:
                pass
    return reaped
