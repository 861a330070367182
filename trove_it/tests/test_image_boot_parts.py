"""The boot test's parts: accelerator choice, the QEMU command line, the seed,
the probe's console protocol, and QEMU never outliving the harness."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from trove_it.images import probe, qemu, seed
from trove_it.tests.conftest import interruptible


def _sysfs(tmp_path: Path, pvm: bool, flags: str) -> tuple[Path, Path, Path]:
    modules = tmp_path / "module"
    modules.mkdir(parents=True)
    if pvm:
        (modules / "kvm_pvm").mkdir()
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(f"flags\t\t: fpu sse2 {flags}\n")
    kvm = tmp_path / "kvm"
    kvm.write_text("")
    return kvm, modules, cpuinfo


def test_tcg_on_nested_pvm_and_without_vmx(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TROVE_IT_QEMU_ACCEL", raising=False)
    assert qemu.detect_accel(*_sysfs(tmp_path / "a", True, "vmx")).name == "tcg"
    assert qemu.detect_accel(*_sysfs(tmp_path / "b", False, "")).name == "tcg"
    kvm, modules, cpuinfo = _sysfs(tmp_path / "c", False, "svm")
    assert qemu.detect_accel(kvm, modules, cpuinfo).name == "kvm"
    assert qemu.detect_accel(tmp_path / "missing", modules, cpuinfo).name == "tcg"


def test_this_host_uses_tcg_when_kvm_is_pvm(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TROVE_IT_QEMU_ACCEL", raising=False)
    if Path("/sys/module/kvm_pvm").exists():
        assert qemu.detect_accel().name == "tcg"


def test_direct_kernel_command_line(tmp_path: Path) -> None:
    spec = qemu.VmSpec(disk=tmp_path / "d.qcow2", disk_format="qcow2",
                       console_log=tmp_path / "c.log", pidfile=tmp_path / "q.pid",
                       kernel=tmp_path / "k", initrd=tmp_path / "i", cmdline="root=LABEL=x",
                       drives=[(tmp_path / "v.raw", "raw", False),
                               (tmp_path / "s.iso", "raw", True)])
    cmd = spec.command("qemu", qemu.Accel("tcg", "test"))
    joined = " ".join(cmd)
    assert "-accel tcg,thread=multi" in joined
    assert f"file={tmp_path / 'd.qcow2'},if=virtio,format=qcow2,snapshot=on" in joined
    assert cmd.index(f"file={tmp_path / 'v.raw'},if=virtio,format=raw") < \
        cmd.index(f"file={tmp_path / 's.iso'},if=virtio,format=raw,readonly=on")
    assert cmd[cmd.index("-append") + 1] == "root=LABEL=x"
    assert f"file:{tmp_path / 'c.log'}" in cmd and str(tmp_path / "q.pid") in cmd


def _spec(**kwargs: object) -> probe.ProbeSpec:
    values: dict[str, object] = {"nonce": "n0nce", "datastore": "mariadb", "mode": "package",
                                 "guest_id": "gid-1", "expect_agent": True,
                                 "engine_service": "mariadb", "timeout": 30}
    values.update(kwargs)
    return probe.ProbeSpec(**values)  # type: ignore[arg-type]


def test_probe_scripts_are_valid_sh() -> None:
    for datastore in probe.ENGINE_CHECKS:
        text = probe.script(_spec(datastore=datastore))
        result = subprocess.run(["sh", "-n"], input=text, text=True, capture_output=True)
        assert result.returncode == 0, f"{datastore}: {result.stderr}"
    text = probe.script(_spec(mode="container", container_image="quay.io/x/mariadb:11.4"))
    assert "docker image inspect" in text
    assert subprocess.run(["sh", "-n"], input=text, text=True).returncode == 0


def test_probe_console_protocol() -> None:
    console = textwrap.dedent("""\
        [  1.0] kernel noise
        TROVE-IT-PROBE other START uptime=1
        TROVE-IT-PROBE other RESULT ok
        TROVE-IT-PROBE n0nce START uptime=90.1
        TROVE-IT-PROBE n0nce NET ok ens2=10.0.2.15/24
        TROVE-IT-PROBE n0nce ENGINE ok version=10.11.19-MariaDB uptime=95
        TROVE-IT-PROBE n0nce WAIT agent state=activating restarts=0 last=
        TROVE-IT-PROBE n0nce AGENT fail logged_start=fail state=failed restarts=3
        TROVE-IT-PROBE n0nce DIAG guest-agent.service: Failed with result 'exit-code'.
        TROVE-IT-PROBE n0nce RESULT fail
        """)
    report = probe.parse(console, "n0nce")
    assert report.started and report.result == "fail"
    assert report.net == {"status": "ok", "ens2": "10.0.2.15/24"}
    assert report.engine["version"] == "10.11.19-MariaDB"
    assert report.agent["state"] == "failed" and report.agent["restarts"] == "3"
    assert report.diagnostics == ["guest-agent.service: Failed with result 'exit-code'."]
    assert len(report.progress) == 1
    assert probe.parse(console, "absent").result is None


def test_seed_carries_trove_files_and_probe() -> None:
    text = seed.user_data(_spec(), "10.11", "ubuntu")
    assert text.startswith("#cloud-config\n")
    document = yaml.safe_load(text)
    files = {f["path"]: f for f in document["write_files"]}
    info = files["/etc/trove/conf.d/guest_info.conf"]
    assert info["owner"] == "ubuntu:root"
    assert "guest_id = gid-1" in info["content"] and "datastore_manager = mariadb" in \
        info["content"]
    agent = files["/etc/trove/conf.d/trove-guestagent.conf"]["content"]
    assert "transport_url = fake://" in agent
    assert f"mount_point = {seed.PACKAGE_MODE_MOUNT_POINT}" in agent
    assert files["/usr/local/sbin/trove-it-probe"]["permissions"] == "0755"
    assert document["runcmd"][0][0] == "systemd-run"


QEMU_CHILD = """
import signal, sys, time
from pathlib import Path
from trove_it.images import qemu

def interrupt(signum, frame):  # as the pytest plugin does
    raise KeyboardInterrupt
signal.signal(signal.SIGTERM, interrupt)
d = Path(sys.argv[1])
disk = d / "blank.raw"
disk.write_bytes(b"\\0" * 1024 * 1024)
spec = qemu.VmSpec(disk=disk, disk_format="raw", console_log=d / "console.log",
                   pidfile=d / "qemu.pid", memory_mb=64, cpus=1, network=False)
with qemu.running(spec, qemu.Accel("tcg", "test")):
    print("started", flush=True)
    time.sleep(600)
"""


def _qemu_pid(directory: Path) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            return int((directory / "qemu.pid").read_text())
        except (OSError, ValueError):
            time.sleep(0.2)
    raise AssertionError("QEMU wrote no pidfile")


def _gone(pid: int, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().split()[2]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.2)
    return False


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM", "SIGKILL"])
def test_qemu_never_outlives_the_harness(tmp_path: Path, how: str) -> None:
    """Ctrl-C and SIGTERM stop QEMU through the context manager; SIGKILL of the
    harness stops it through PR_SET_PDEATHSIG."""
    try:
        qemu.find_qemu()
    except Exception:  # noqa: BLE001
        pytest.skip("qemu-system-x86_64 is not installed")
    child = subprocess.Popen([sys.executable, "-c", QEMU_CHILD, str(tmp_path)],
                             stdout=subprocess.PIPE, text=True, preexec_fn=interruptible)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "started"
        pid = _qemu_pid(tmp_path)
        assert not _gone(pid, timeout=0.5)
        child.send_signal(getattr(signal, how))
        child.wait(60)
        assert _gone(pid), f"QEMU {pid} survived {how} of its parent"
        if how != "SIGKILL":
            assert not (tmp_path / "qemu.pid").exists()
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
