"""Run a guest under QEMU, with KVM where it works and TCG where it does not,
and never leave the process behind.

KVM is used only when ``/dev/kvm`` is usable, the CPU exposes vmx or svm and
the host's KVM is not nested PVM (``/sys/module/kvm_pvm``): PVM expects a
PVM-aware guest kernel and crawls through an ordinary one, so TCG is the
faster choice there. QEMU runs in its own session, dies with its parent
(PR_SET_PDEATHSIG) and is killed by its pidfile when the context exits, on
success, failure and Ctrl-C alike.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from trove_it.errors import UserError

PR_SET_PDEATHSIG = 1
STOP_TIMEOUT = 15.0


@dataclass(frozen=True)
class Accel:
    name: str
    """kvm or tcg."""
    reason: str

    def args(self) -> list[str]:
        if self.name == "kvm":
            return ["-accel", "kvm", "-cpu", "host"]
        return ["-accel", "tcg,thread=multi", "-cpu", "max"]


def detect_accel(kvm_device: Path = Path("/dev/kvm"), sys_module: Path = Path("/sys/module"),
                 cpuinfo: Path = Path("/proc/cpuinfo")) -> Accel:
    """KVM only where it can run an ordinary guest kernel at full speed."""
    override = os.environ.get("TROVE_IT_QEMU_ACCEL")
    if override in ("kvm", "tcg"):
        return Accel(override, "TROVE_IT_QEMU_ACCEL")
    if (sys_module / "kvm_pvm").exists():
        return Accel("tcg", "host KVM is nested PVM (kvm_pvm), which cannot run an ordinary "
                            "guest kernel at speed")
    try:
        flags = cpuinfo.read_text()
    except OSError:
        flags = ""
    if not any(f" {flag}" in flags for flag in ("vmx", "svm")):
        return Accel("tcg", "the CPU exposes no vmx/svm")
    if not os.access(kvm_device, os.R_OK | os.W_OK):
        return Accel("tcg", f"{kvm_device} is missing or not accessible")
    return Accel("kvm", "vmx/svm and a usable /dev/kvm")


@dataclass
class VmSpec:
    disk: Path
    disk_format: str
    console_log: Path
    pidfile: Path
    kernel: Path | None = None
    initrd: Path | None = None
    cmdline: str | None = None
    drives: list[tuple[Path, str, bool]] = field(default_factory=list)
    """Extra virtio drives after the root disk: (file, format, read-only)."""
    memory_mb: int = 2048
    cpus: int = 2
    network: bool = True

    def command(self, qemu: str, accel: Accel) -> list[str]:
        cmd = [qemu, "-name", "trove-it-guest", "-machine", "pc", *accel.args(),
               "-m", str(self.memory_mb), "-smp", str(self.cpus),
               "-display", "none", "-monitor", "none", "-nodefaults", "-no-reboot",
               "-serial", f"file:{self.console_log}", "-pidfile", str(self.pidfile),
               "-drive", f"file={self.disk},if=virtio,format={self.disk_format},snapshot=on",
               "-device", "virtio-rng-pci"]
        for path, fmt, read_only in self.drives:
            drive = f"file={path},if=virtio,format={fmt}"
            cmd += ["-drive", drive + (",readonly=on" if read_only else "")]
        if self.network:
            cmd += ["-nic", "user,model=virtio-net-pci"]
        if self.kernel:
            cmd += ["-kernel", str(self.kernel)]
            if self.initrd:
                cmd += ["-initrd", str(self.initrd)]
            if self.cmdline:
                cmd += ["-append", self.cmdline]
        return cmd


def find_qemu() -> str:
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        raise UserError("the boot test needs qemu-system-x86_64 (apt-get install "
                        "qemu-system-x86)")
    return qemu


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def _pid_from(pidfile: Path) -> int | None:
    try:
        return int(pidfile.read_text().strip())
    except (OSError, ValueError):
        return None


def _is_ours(pid: int, pidfile: Path) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return str(pidfile).encode() in cmdline


def kill_by_pidfile(pidfile: Path) -> bool:
    """Kill the QEMU a pidfile names, if it is still that QEMU; True if one was killed."""
    pid = _pid_from(pidfile)
    if pid is None or not _is_ours(pid, pidfile):
        return False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline and _is_ours(pid, pidfile):
        time.sleep(0.2)
    if _is_ours(pid, pidfile):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return True


class Vm:
    """A running guest; use as a context manager so it always stops."""

    def __init__(self, spec: VmSpec, accel: Accel | None = None):
        self.spec = spec
        self.accel = accel or detect_accel()
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at = 0.0

    def start(self) -> None:
        qemu = find_qemu()
        stderr = self.spec.console_log.with_suffix(".qemu.log")
        with stderr.open("wb") as errors:
            self.process = subprocess.Popen(
                self.spec.command(qemu, self.accel), stdin=subprocess.DEVNULL,
                stdout=errors, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent)
        self.started_at = time.monotonic()

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started_at

    def exited(self) -> int | None:
        return self.process.poll() if self.process else None

    def qemu_errors(self) -> str:
        path = self.spec.console_log.with_suffix(".qemu.log")
        try:
            return path.read_text(errors="replace").strip()[-400:]
        except OSError:
            return ""

    def stop(self) -> None:
        kill_by_pidfile(self.spec.pidfile)
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(STOP_TIMEOUT)
        self.spec.pidfile.unlink(missing_ok=True)

    def __enter__(self) -> Vm:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def running(spec: VmSpec, accel: Accel | None = None) -> Iterator[Vm]:
    vm = Vm(spec, accel)
    try:
        vm.start()
        yield vm
    finally:
        vm.stop()
