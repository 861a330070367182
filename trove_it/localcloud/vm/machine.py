"""The QEMU command line of one server, as nova's libvirt driver would shape it.

The root disk is a copy-on-write overlay on the Glance image (never the
image itself); Cinder volumes follow as virtio disks in attachment order
(the data volume is the guest's /dev/vdb, as Trove's ``device_path``
expects), then the config drive. The NIC is a tap in the cloud's namespace
with the port's MAC. The serial console and a virtio port carrying the
guest agent's log go to files; a QMP socket takes reset, quit and block
resize. Images without a partition table boot by direct kernel boot from
the kernel and ramdisk Glance links them to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from trove_it.images.qemu import Accel

AGENT_LOG_PORT = "org.openstack.trove-it.agent-log"
"""The virtio-serial port name the image's agent-log unit writes to."""


@dataclass(frozen=True)
class Drive:
    drive_id: str
    path: Path
    format: str
    serial: str = ""
    read_only: bool = False


@dataclass
class MachineSpec:
    name: str
    memory_mb: int
    cpus: int
    root: Drive
    directory: Path
    tap: str
    mac: str
    volumes: list[Drive] = field(default_factory=list)
    config_drive: Path | None = None
    kernel: Path | None = None
    initrd: Path | None = None
    cmdline: str | None = None

    @property
    def console(self) -> Path:
        return self.directory / "console.log"

    @property
    def agent_log(self) -> Path:
        return self.directory / "agent.log"

    @property
    def qmp(self) -> Path:
        return self.directory / "qmp.sock"

    @property
    def pidfile(self) -> Path:
        return self.directory / "qemu.pid"

    def _drive(self, drive: Drive) -> list[str]:
        options = [f"file={drive.path}", f"id={drive.drive_id}", "if=none",
                   f"format={drive.format}", "cache=unsafe", "discard=unmap"]
        if drive.read_only:
            options.append("readonly=on")
        device = f"virtio-blk-pci,drive={drive.drive_id}"
        if drive.serial:
            device += f",serial={drive.serial}"
        return ["-drive", ",".join(options), "-device", device]

    def command(self, qemu: str, accel: Accel) -> list[str]:
        cmd = [qemu, "-name", self.name, "-machine", "pc", *accel.args(),
               "-m", str(self.memory_mb), "-smp", str(self.cpus),
               "-nodefaults", "-no-user-config", "-display", "none",
               "-serial", f"file:{self.console}",
               "-chardev", f"file,id=agentlog,path={self.agent_log}",
               "-device", "virtio-serial-pci",
               "-device", f"virtserialport,chardev=agentlog,name={AGENT_LOG_PORT}",
               "-qmp", f"unix:{self.qmp},server=on,wait=off",
               "-pidfile", str(self.pidfile),
               "-netdev", f"tap,id=net0,ifname={self.tap},script=no,downscript=no",
               "-device", f"virtio-net-pci,netdev=net0,mac={self.mac}",
               "-device", "virtio-rng-pci"]
        for drive in [self.root, *self.volumes]:
            cmd += self._drive(drive)
        if self.config_drive is not None:
            cmd += self._drive(Drive("config", self.config_drive, "raw", read_only=True))
        if self.kernel is not None:
            cmd += ["-kernel", str(self.kernel)]
            if self.initrd is not None:
                cmd += ["-initrd", str(self.initrd)]
            if self.cmdline:
                cmd += ["-append", self.cmdline]
        return cmd
