"""The boot test: start an image under QEMU with a NoCloud seed and a blank
volume (Trove's Cinder volume, /dev/vdb), and read the probe's verdict from
the serial console.

Partitioned images boot from their own disk; partitionless ones by direct
kernel boot with the kernel, initrd and command line from the manifest.
"""

from __future__ import annotations

import secrets
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from trove_it.errors import UserError
from trove_it.images import probe, qemu, scratch, seed
from trove_it.images.manifest import Manifest

VOLUME_MB = 256
POLL = 2.0
# Seconds until the probe starts (boot plus cloud-init), then seconds the probe
# waits for each of the network, the engine and the agent.
BOOT_TIMEOUT = {"kvm": 180.0, "tcg": 600.0}
PROBE_TIMEOUT = {"kvm": 120.0, "tcg": 480.0}
GRACE = 60.0


@dataclass
class BootResult:
    report: probe.ProbeReport
    accel: qemu.Accel
    elapsed: float
    console: str
    timed_out: bool = False
    qemu_exit: int | None = None

    def summary(self) -> str:
        how = "timed out" if self.timed_out else (
            f"QEMU exited ({self.qemu_exit})" if self.qemu_exit is not None else "finished")
        return (f"{how} after {self.elapsed:.0f} s ({self.accel.name}: {self.accel.reason}); "
                f"probe result {self.report.result or 'none'}")

    def console_excerpt(self, lines: int = 25) -> str:
        return "\n".join(self.console.splitlines()[-lines:])


def _qemu_img_format(path: Path) -> str:
    out = subprocess.run(["qemu-img", "info", "--output=json", str(path)],
                         capture_output=True, text=True, timeout=60, check=False)
    import json

    try:
        return str(json.loads(out.stdout)["format"])
    except (ValueError, KeyError):
        raise UserError(f"{path} is not a disk image qemu-img can read") from None


def boot(image: Path, record: Manifest, expect_agent: bool, engine_service: str,
         scale: float = 1.0, accel: qemu.Accel | None = None,
         workdir: Path | None = None) -> BootResult:
    """Boot ``image`` and wait for the probe's verdict (or the timeouts, times
    ``scale``)."""
    if record.boot.get("method") == "none":
        raise UserError(f"{image.name} is a {record.format} image; only disk images boot")
    accel = accel or qemu.detect_accel()
    boot_timeout = BOOT_TIMEOUT[accel.name] * scale
    probe_timeout = PROBE_TIMEOUT[accel.name] * scale
    spec = probe.ProbeSpec(nonce=secrets.token_hex(8), datastore=record.datastore,
                           mode=record.mode, guest_id=str(uuid.uuid4()),
                           expect_agent=expect_agent, engine_service=engine_service,
                           container_image=record.container_image,
                           timeout=int(probe_timeout))
    with scratch.scratch("boot", workdir) as directory:
        iso = seed.write_seed(directory, spec, record.version, record.guest_user)
        volume = directory / "volume.raw"
        with volume.open("wb") as handle:
            handle.truncate(VOLUME_MB * 1024 * 1024)
        vm_spec = qemu.VmSpec(disk=image, disk_format=_qemu_img_format(image),
                              console_log=directory / "console.log",
                              pidfile=directory / "qemu.pid",
                              drives=[(volume, "raw", False), (iso, "raw", True)])
        if record.boot.get("method") == "direct-kernel":
            vm_spec.kernel = record.file("kernel", image.parent)
            vm_spec.initrd = record.file("initrd", image.parent)
            vm_spec.cmdline = record.boot.get("cmdline")
        vm_spec.console_log.touch()
        with qemu.running(vm_spec, accel) as vm:
            return _wait(vm, vm_spec.console_log, spec.nonce, boot_timeout, probe_timeout)


def _wait(vm: qemu.Vm, console: Path, nonce: str, boot_timeout: float,
          probe_timeout: float) -> BootResult:
    """Until the probe's RESULT line, QEMU's exit, or a timeout: ``boot_timeout``
    for the probe to start, then the probe's own time plus a grace period."""
    report = probe.ProbeReport()
    probe_started_at: float | None = None
    while True:
        text = console.read_text(errors="replace")
        report = probe.parse(text, nonce)
        exit_code = vm.exited()
        if report.started and probe_started_at is None:
            probe_started_at = vm.elapsed
        deadline = (boot_timeout if probe_started_at is None
                    else probe_started_at + probe_timeout + GRACE)
        if report.result is not None or exit_code is not None or vm.elapsed > deadline:
            if exit_code is not None and report.result is None:
                text += "\n" + vm.qemu_errors()
            return BootResult(report, vm.accel, vm.elapsed, text,
                              timed_out=report.result is None and exit_code is None,
                              qemu_exit=exit_code)
        time.sleep(POLL)
