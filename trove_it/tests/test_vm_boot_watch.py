"""What the vm profile reads from a booting guest: its stages, and the verdict
that stops a wait as soon as a guest certainly cannot come up.

Pure logic over console and agent-log text shaped as the guests write it
(the serial console carries systemd's coloured status lines and the image's
``trove-it:`` markers; the agent log is oslo.log's), plus the config drive
nova gives a server, written and read back as ISO 9660.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from trove_it.localcloud.vm import boot_watch, config_drive

CONSOLE_BOOT = """\
[    0.000000] Linux version 6.1.0-28-amd64 (debian-kernel@lists.debian.org)
\x1b[0;32m  OK  \x1b[0m] Welcome to \x1b[1mDebian GNU/Linux 12 (bookworm)\x1b[0m!
trove-it: docker.service started
[   71.590130] cloud-init[596]: Cloud-init v. 22.4.2 finished at Mon, 07 Dec 2026 22:35:56
"""
AGENT_STARTED = "trove-it: guest-agent.service starting\n"
AGENT_READY = (
    "2026-12-07 22:44:47.037 590 DEBUG trove.common.rpc.service [-] Creating RPC server "
    "for service guestagent.1234\n"
    "2026-12-07 22:44:47.412 590 INFO trove.guestagent.datastore.manager [-] Starting "
    "datastore prepare for 'mariadb:10.11'.\n")


def _observe(console: str, agent: str = "", elapsed: float = 100.0,
             state: boot_watch.BootState | None = None,
             qemu_exit: int | None = None) -> boot_watch.BootState:
    return boot_watch.observe(state or boot_watch.BootState(), elapsed, console, agent,
                              qemu_exit, "qemu: could not open disk")


def test_stages_are_read_through_the_console_colours() -> None:
    state = _observe(CONSOLE_BOOT + AGENT_STARTED, AGENT_READY, elapsed=42.0)
    assert state.stages == {"kernel": 42.0, "init": 42.0, "cloud-init": 42.0,
                            "dockerd": 42.0, "agent-start": 42.0, "agent-ready": 42.0,
                            "prepare": 42.0}
    assert state.verdict is None


def test_a_stage_keeps_the_time_it_was_first_seen() -> None:
    state = _observe("[    0.0] Linux version 6.1", elapsed=5.0)
    state = _observe("[    0.0] Linux version 6.1\nWelcome to Debian GNU/Linux 12!",
                     elapsed=20.0, state=state)
    assert state.stages == {"kernel": 5.0, "init": 20.0}


def test_agent_exit_is_a_verdict_with_its_error() -> None:
    console = CONSOLE_BOOT + AGENT_STARTED + (
        "[   80.1] trove-guestagent[590]: RuntimeError: Manager class not registered for "
        "datastore manager redis\n"
        "trove-it: guest-agent.service stopped: result=exit-code code=exited status=1\n")
    state = _observe(console)
    assert state.verdict is not None
    assert "the guest agent exited" in state.verdict
    assert "Manager class not registered for datastore manager redis" in state.verdict


def test_agent_not_started_long_after_the_boot() -> None:
    first = _observe(CONSOLE_BOOT, elapsed=80.0)
    assert first.verdict is None and first.stages["booted"] == 80.0
    later = _observe(CONSOLE_BOOT, elapsed=80.0 + boot_watch.NOT_STARTED_AFTER + 1,
                     state=first)
    assert later.verdict is not None and "never started" in later.verdict


def test_images_without_the_docker_marker_are_not_judged_for_a_missing_agent() -> None:
    """Only this project's images announce Docker; others wait for Trove's timeouts."""
    console = CONSOLE_BOOT.replace("trove-it: docker.service started\n", "")
    state = _observe(console, elapsed=80.0)
    state = _observe(console, elapsed=1000.0, state=state)
    assert state.verdict is None


def test_missing_database_image_is_a_verdict() -> None:
    agent = AGENT_READY + (
        "2026-12-07 22:45:03.000 590 ERROR trove.guestagent.datastore.mysql_common.service "
        "[-] Failed to start mysql: 404 Client Error for http+docker://localhost/v1.41/"
        "images/create?tag=10.11&fromImage=10.120.0.1:5000/trove-it/mariadb: Not Found "
        "(\"manifest unknown: manifest unknown\")\n")
    state = _observe(CONSOLE_BOOT + AGENT_STARTED, agent)
    assert state.verdict is not None
    assert "neither in the guest nor in the registry" in state.verdict
    assert "manifest unknown" in state.verdict


def test_unreachable_bus_is_a_verdict_after_repeated_attempts() -> None:
    line = ("ERROR oslo.messaging._drivers.impl_rabbit [-] AMQP server on 10.120.0.1:5672 "
            "is unreachable: [Errno 111] ECONNREFUSED. Trying again in 1 seconds.\n")
    assert _observe(CONSOLE_BOOT, line * 2).verdict is None
    state = _observe(CONSOLE_BOOT, line * boot_watch.BUS_DOWN_LIMIT)
    assert state.verdict is not None and "10.120.0.1:5672" in state.verdict


def test_qemu_exit_and_kernel_panic() -> None:
    gone = _observe("", qemu_exit=1, elapsed=3.0)
    assert gone.verdict is not None and "QEMU exited (1)" in gone.verdict
    assert "could not open disk" in gone.verdict
    panic = _observe("Kernel panic - not syncing: VFS: Unable to mount root fs")
    assert panic.verdict is not None and "VFS: Unable to mount root fs" in panic.verdict


def test_a_guest_that_came_up_gets_no_verdict_from_later_stops() -> None:
    agent = AGENT_READY + ("INFO [-] Completed setup of 'mariadb' datastore "
                           "successfully.\n")
    console = CONSOLE_BOOT + AGENT_STARTED + (
        "trove-it: guest-agent.service stopped: result=success code=exited status=0\n")
    assert _observe(console, agent).verdict is None


def test_network_data_gives_the_port_its_address_and_the_default_route() -> None:
    nic = config_drive.Nic("0123456789abcdef", "fa:16:3e:00:00:01", "10.120.0.5",
                           "10.120.0.0/24", "10.120.0.1", "net-id")
    data = config_drive.network_data([nic])
    link = data["links"][0]
    assert link["ethernet_mac_address"] == "fa:16:3e:00:00:01" and link["type"] == "phy"
    network = data["networks"][0]
    assert network["link"] == link["id"] and network["ip_address"] == "10.120.0.5"
    assert network["netmask"] == "255.255.255.0"
    assert network["routes"] == [{"network": "0.0.0.0", "netmask": "0.0.0.0",
                                  "gateway": "10.120.0.1"}]


@pytest.mark.skipif(shutil.which("genisoimage") is None and shutil.which("xorriso") is None,
                    reason="genisoimage or xorriso is not installed")
def test_config_drive_is_an_iso_labelled_config_2(tmp_path: Path) -> None:
    nic = config_drive.Nic("p1", "fa:16:3e:00:00:02", "10.120.0.6", "10.120.0.0/24",
                           "10.120.0.1", "n1")
    meta = config_drive.meta_data("server-1", "My Instance!", "nova", {"k": "v"}, "proj")
    iso = config_drive.write(tmp_path, meta, "#cloud-config\nwrite_files: []\n", [nic])
    assert meta["hostname"] == "my-instance-"
    with iso.open("rb") as handle:
        handle.seek(16 * 2048 + 40)  # the primary volume descriptor's volume id
        assert handle.read(32).decode().strip() == config_drive.LABEL
    latest = tmp_path / "config-drive/openstack/latest"
    assert json.loads((latest / "meta_data.json").read_text())["uuid"] == "server-1"
    assert (latest / "user_data").read_text().startswith("#cloud-config")
    blkid = shutil.which("blkid")
    if blkid:
        label = subprocess.run([blkid, "-o", "value", "-s", "LABEL", str(iso)],
                               capture_output=True, text=True, check=False).stdout.strip()
        assert label == config_drive.LABEL


def test_a_long_cause_is_quoted_from_a_word_boundary() -> None:
    agent = AGENT_READY + (
        "2026-12-07 22:45:03.000 590 ERROR trove.guestagent.datastore.mysql_common.service "
        "[-] Failed to start mysql: " + "x" * 300 + " 404 Client Error for http+docker://"
        "localhost/v1.41/images/create?tag=10.11&fromImage=10.120.0.1:5000/trove-it/mariadb: "
        "Not Found (\"manifest for 10.120.0.1:5000/trove-it/mariadb:10.11 not found: "
        "manifest unknown: manifest unknown\")\n")
    state = _observe(CONSOLE_BOOT + AGENT_STARTED, agent)
    assert state.verdict is not None
    quoted = state.verdict.split("registry: ", 1)[1]
    assert quoted.startswith("...404 Client Error"), quoted


CONTAINER_CREATED = (
    "2026-12-08 01:37:27.218 441 INFO trove.guestagent.utils.docker [-] Creating docker "
    "container, image: 10.120.0.1:5000/trove-it/postgresql:15\n")
UNHEALTHY = ("2026-12-08 01:38:40.865 441 DEBUG trove.guestagent.datastore.service [-] "
             "container health status: unhealthy get_actual_db_status\n")
PG_REFUSES = (
    "trove-it: database: 2026-12-08 01:41:24.150 UTC [1] LOG:  invalid value for parameter "
    "\"lc_messages\": \"en_US.utf8\"\n"
    "trove-it: database: 2026-12-08 01:41:24.150 UTC [1] FATAL:  configuration file "
    "\"/etc/postgresql/postgresql.conf\" contains errors\n")


def test_a_container_that_never_turns_healthy_is_a_verdict_quoting_its_output() -> None:
    console = CONSOLE_BOOT + AGENT_STARTED + PG_REFUSES
    agent = AGENT_READY + CONTAINER_CREATED + UNHEALTHY * 6
    state = _observe(console, agent, elapsed=100.0)
    assert state.verdict is None  # the container is created at 100 s
    state = _observe(console, agent, elapsed=100.0 + boot_watch.NOT_HEALTHY_AFTER - 10,
                     state=state)
    assert state.verdict is None, "judged before its grace ran out"
    state = _observe(console, agent, elapsed=100.0 + boot_watch.NOT_HEALTHY_AFTER + 10,
                     state=state)
    assert state.verdict is not None
    assert state.verdict.startswith("the database container has not become healthy")
    assert "contains errors" in state.verdict


def test_a_slow_container_that_turns_healthy_is_not_judged() -> None:
    healthy = ("2026-12-08 01:41:00.000 441 DEBUG trove.guestagent.datastore.service [-] "
               "Current database status is 'healthy'\n")
    agent = AGENT_READY + CONTAINER_CREATED + UNHEALTHY * 6 + healthy
    state = _observe(CONSOLE_BOOT + AGENT_STARTED, agent, elapsed=100.0)
    state = _observe(CONSOLE_BOOT + AGENT_STARTED, agent, elapsed=1000.0, state=state)
    assert state.verdict is None
