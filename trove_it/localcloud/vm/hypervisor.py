"""Nova's compute host for the ``vm`` profile: every server is a QEMU guest.

``boot`` starts a server from its Glance image (a copy-on-write overlay,
direct kernel boot where Glance links a kernel and ramdisk), with its
Cinder volumes as disks, its port as a tap on the cloud's bridge and a
config drive carrying what Trove injected. ``power_cycle`` resets the guest,
or restarts it when its flavor or image changed (resize, rebuild);
``power_off`` stops it; ``destroy`` removes it; ``extend`` grows an attached
volume under the running guest. A watcher follows every guest's console and
agent log (``boot_watch``) and keeps the stages it reached and, for a guest
that cannot come up, why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trove_it.images import qemu
from trove_it.localcloud.datastores import LOCAL_IMAGE_ID
from trove_it.localcloud.lifecycle import processes
from trove_it.localcloud.vm import boot_watch, config_drive, netns, qmp
from trove_it.localcloud.vm.machine import Drive, MachineSpec

if TYPE_CHECKING:
    from trove_it.localcloud.drivers.compute import Server
    from trove_it.localcloud.drivers.image import ImageStore
    from trove_it.localcloud.drivers.network import NetworkDriver
    from trove_it.localcloud.drivers.volume import VolumeDriver

LOG = logging.getLogger(__name__)
WATCH_INTERVAL = 1.0
TAIL_BYTES = 256 * 1024
QUIT_TIMEOUT = 10.0


class BootFailure(RuntimeError):
    """The server cannot be started; the message is its fault."""


@dataclass
class Machine:
    server_id: str
    name: str
    instance_id: str | None
    spec: MachineSpec
    image_id: str
    flavor: tuple[int, int]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    state: boot_watch.BootState = field(default_factory=boot_watch.BootState)
    boots: int = 0

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None


def _tail(path: Path, limit: int = TAIL_BYTES) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            size = handle.tell()
            handle.seek(max(0, size - limit))
            return handle.read().decode(errors="replace")
    except OSError:
        return ""


class VmHost:
    def __init__(self, instances: Path, logs: Path, namespace: str, images: ImageStore,
                 volumes: VolumeDriver, network: NetworkDriver):
        self.instances = instances
        self.logs = logs
        self.namespace = namespace
        self.images = images
        self.volumes = volumes
        self.network = network
        self.accel = qemu.detect_accel()
        self.machines: dict[str, Machine] = {}
        self.history: dict[str, dict[str, Any]] = {}
        """Every guest this cloud booted, as last seen (deleted ones too)."""
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    # ----------------------------------------------------------- watcher
    def start_watching(self) -> None:
        self._watcher = threading.Thread(target=self._watch, name="vm-watch", daemon=True)
        self._watcher.start()

    def _watch(self) -> None:
        while not self._stopping.wait(WATCH_INTERVAL):
            for machine in list(self.machines.values()):
                with contextlib.suppress(Exception):
                    self._observe(machine)

    def _observe(self, machine: Machine) -> boot_watch.BootState:
        process = machine.process
        exit_code = process.poll() if process is not None else None
        errors = _tail(machine.spec.directory / "qemu.out", 2000) if exit_code is not None else ""
        if process is None:
            return machine.state
        state = boot_watch.observe(machine.state, time.monotonic() - machine.started,
                                   _tail(machine.spec.console), _tail(machine.spec.agent_log),
                                   exit_code, errors)
        self.history[machine.server_id] = {
            "server_id": machine.server_id, "name": machine.name,
            "instance_id": machine.instance_id,
            "boots": machine.boots, **state.as_dict()}
        return state

    # ------------------------------------------------------------- boot
    def boot(self, server: Server) -> None:
        """Start the server's guest; BootFailure when it cannot start at all."""
        image_id = server.image["id"] if isinstance(server.image, dict) else ""
        if not image_id:
            raise BootFailure("the vm profile boots servers from images, not volumes")
        if image_id == LOCAL_IMAGE_ID:
            raise BootFailure(
                f"image {image_id} is the local cloud's stand-in, which holds no system: "
                f"on the vm profile, load a guest image built from elements/ "
                f"('trove-it image load') and point the datastore version at it")
        flavor = server._flavor
        directory = self.instances / server.id
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        spec = self._spec(server, directory, image_id, flavor.ram, flavor.vcpus)
        machine = Machine(server.id, server.name, server.trove_instance_id, spec, image_id,
                          (flavor.ram, flavor.vcpus))
        self._make_overlay(spec.root.path, image_id)
        with self._lock:
            self.machines[server.id] = machine
        self._start(machine)

    def _spec(self, server: Server, directory: Path, image_id: str, ram: int,
              cpus: int) -> MachineSpec:
        image = self.images.get(image_id)
        ports = self.network.ports_of(server.id)
        if not ports:
            raise BootFailure(f"server {server.id} has no port")
        nics = []
        for port in ports:
            net = self.network.find(port["network_id"])
            for fixed in port["fixed_ips"]:
                nics.append(config_drive.Nic(port["id"], port["mac_address"],
                                             fixed["ip_address"], net.cidr, net.pool.gateway,
                                             net.network_id))
        meta = config_drive.meta_data(server.id, server.name,
                                      getattr(server, "OS-EXT-AZ:availability_zone"),
                                      server.metadata, server.tenant_id)
        iso = config_drive.write(directory, meta, server.userdata, nics[:1])
        kernel = initrd = None
        cmdline = None
        if image.get("kernel_id"):
            kernel = self.images.blob(str(image["kernel_id"]))
            if image.get("ramdisk_id"):
                initrd = self.images.blob(str(image["ramdisk_id"]))
            cmdline = str(image.get("os_command_line") or "")
        return MachineSpec(
            name=f"trove-it-{server.id[:8]}", memory_mb=ram, cpus=max(1, cpus),
            root=Drive("root", directory / "disk.qcow2", "qcow2"), directory=directory,
            tap=f"tap{ports[0]['id'][:11]}", mac=ports[0]["mac_address"],
            volumes=self._volume_drives(server.id), config_drive=iso,
            kernel=kernel, initrd=initrd, cmdline=cmdline)

    def _volume_drives(self, server_id: str) -> list[Drive]:
        drives = []
        for volume in self.volumes.attached_to(server_id):
            if volume.backing_file is None:
                continue
            drives.append(Drive(f"vol-{volume.id[:8]}", Path(volume.backing_file), "raw",
                                serial=volume.id[:20]))
        return drives

    def _make_overlay(self, overlay: Path, image_id: str) -> None:
        image = self.images.get(image_id)
        fmt = str(image.get("disk_format") or "raw")
        if fmt not in ("qcow2", "raw"):
            raise BootFailure(f"image {image_id} is {fmt}; the vm profile boots qcow2 or raw")
        overlay.unlink(missing_ok=True)
        result = subprocess.run(
            ["qemu-img", "create", "-q", "-f", "qcow2", "-F", fmt, "-b",
             str(self.images.blob(image_id)), str(overlay)],
            capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise BootFailure(f"cannot make the root disk over image {image_id}: "
                              f"{result.stderr.strip()[:200]}")

    def _start(self, machine: Machine) -> None:
        spec = machine.spec
        for path in (spec.console, spec.agent_log):
            path.write_bytes(b"")
        netns.remove_tap(self.namespace, spec.tap)
        netns.add_tap(self.namespace, spec.tap)
        namespace = self.namespace
        machine.process = processes.spawn(
            spec.command(qemu.find_qemu(), self.accel), log=spec.directory / "qemu.out",
            pidfile=None, enter=lambda: netns.enter_in_child(namespace))
        machine.started = time.monotonic()
        machine.state = boot_watch.BootState()
        machine.boots += 1
        LOG.info("server %s boots (%s, %d MB, %d vCPU): %s", machine.server_id,
                 self.accel.name, spec.memory_mb, spec.cpus, " ".join(
                     spec.command(qemu.find_qemu(), self.accel)))

    # ------------------------------------------------------------ actions
    def power_cycle(self, server: Server) -> None:
        machine = self.machines.get(server.id)
        if machine is None:
            self.boot(server)
            return
        image_id = server.image["id"] if isinstance(server.image, dict) else ""
        flavor = (server._flavor.ram, server._flavor.vcpus)
        new_image = image_id != machine.image_id
        if new_image or flavor != machine.flavor or not machine.running:
            self._stop(machine)
            if new_image:
                self._make_overlay(machine.spec.root.path, image_id)
                machine.image_id = image_id
            machine.spec = self._spec(server, machine.spec.directory, image_id, *flavor)
            machine.flavor = flavor
            self._start(machine)
            return
        qmp.execute(machine.spec.qmp, "system_reset")
        machine.started = time.monotonic()
        machine.state = boot_watch.BootState()

    def power_off(self, server: Server) -> None:
        machine = self.machines.get(server.id)
        if machine is not None:
            self._stop(machine)

    def destroy(self, server: Server) -> None:
        with self._lock:
            machine = self.machines.pop(server.id, None)
        if machine is None:
            return
        with contextlib.suppress(Exception):
            self._observe(machine)
        self._stop(machine)
        self.logs.mkdir(parents=True, exist_ok=True)
        for path in (machine.spec.console, machine.spec.agent_log):
            with contextlib.suppress(OSError):
                shutil.copyfile(path, self.logs / f"{server.id}.{path.name}")
        shutil.rmtree(machine.spec.directory, ignore_errors=True)

    def _stop(self, machine: Machine) -> None:
        process = machine.process
        if process is not None and process.poll() is None:
            with contextlib.suppress(qmp.QmpError):
                qmp.execute(machine.spec.qmp, "quit", timeout=QUIT_TIMEOUT)
            try:
                process.wait(QUIT_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        netns.remove_tap(self.namespace, machine.spec.tap)

    def extend(self, volume_id: str, size_gb: int) -> None:
        """Tell the guest an attached volume grew (nova's extend_volume)."""
        for machine in list(self.machines.values()):
            for drive in machine.spec.volumes:
                if drive.serial == volume_id[:20] and machine.running:
                    qmp.execute(machine.spec.qmp, "block_resize",
                                {"device": drive.drive_id, "size": size_gb * 1024 ** 3})

    # -------------------------------------------------------------- views
    def find(self, ref: str) -> Machine | None:
        """A machine by server or Trove instance id."""
        machines = list(self.machines.values())
        return next((m for m in machines if ref in (m.server_id, m.instance_id)), None)

    def describe(self, machine: Machine, lines: int = 100) -> dict[str, Any]:
        state = self._observe(machine)
        return {
            "server_id": machine.server_id, "instance_id": machine.instance_id,
            "running": machine.running, "accel": self.accel.name,
            "accel_reason": self.accel.reason, "memory_mb": machine.spec.memory_mb,
            "cpus": machine.spec.cpus, "boots": machine.boots,
            "seconds": round(time.monotonic() - machine.started, 1), **state.as_dict(),
            "console": boot_watch.ANSI.sub("", _tail(machine.spec.console)).splitlines()[-lines:],
            "agent_log": _tail(machine.spec.agent_log).splitlines()[-lines:],
        }

    def shutdown(self) -> None:
        self._stopping.set()
        for machine in list(self.machines.values()):
            process = machine.process
            if process is not None and process.poll() is None:
                process.kill()
                process.wait()
