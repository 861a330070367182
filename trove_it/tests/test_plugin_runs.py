"""The plugin end to end, in child pytest runs against a local cloud that
outlives them: the leak check, the failure dossier, --keep-on-failure with
``trove-it cleanup``, JUnit output, xdist provisioning a shared cloud once and
a cloud of each worker's own otherwise.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it.clients import CloudClients, connect
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.launcher import LocalCloud
from trove_it.localcloud.lifecycle.layout import CloudDescriptor, default_state_root
from trove_it.run_state import runs_root
from trove_it.tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def shared_cloud() -> Iterator[CloudDescriptor]:
    require_engine("mariadb")
    cloud = LocalCloud(f"trove-it-plugin-{secrets.token_hex(3)}")
    descriptor = cloud.up(tie_to_parent=True)
    yield descriptor
    cloud.down()


@pytest.fixture(scope="module")
def cloud_admin(shared_cloud: CloudDescriptor) -> CloudClients:
    return connect(cloud_names(shared_cloud.name)["admin"], Path(shared_cloud.clouds_yaml))


def _pytest(cloud: CloudDescriptor, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--datastore=mysql",
         f"--local-cloud={cloud.name}", *args],
        cwd=REPO, capture_output=True, text=True, timeout=600, env=dict(os.environ))


def _instances(admin: CloudClients, prefix: str) -> list[str]:
    return [i.id for i in admin.trove.mgmt_instances.list(deleted=False)
            if i.name.startswith(prefix)]


def test_leak_check_finds_and_removes_a_leak(shared_cloud: CloudDescriptor,
                                             cloud_admin: CloudClients) -> None:
    run_id = secrets.token_hex(4)
    result = _pytest(shared_cloud, str(DATA / "leak_me.py"), f"--run-id={run_id}")
    output = result.stdout
    assert result.returncode == 0, output[-2000:]
    assert "leak check: 1 leftovers of this run found; removing them:" in output
    assert f"trove-it-{run_id}-leaky" in output
    assert not _instances(cloud_admin, f"trove-it-{run_id}-"), "the leak was not removed"


def test_failure_dossier_in_report_and_junit(shared_cloud: CloudDescriptor,
                                             tmp_path: Path) -> None:
    junit = tmp_path / "report.xml"
    result = _pytest(shared_cloud, str(DATA / "fail_me.py"), f"--junitxml={junit}")
    output = result.stdout
    assert result.returncode == 1, output[-2000:]
    assert "trove-it dossier" in output
    assert "== instance " in output and "failing" in output
    assert "local guest: engine mariadb at 127." in output
    assert "trove-guestagent" in output, "the guest log is missing from the dossier"
    assert "local cloud server log" in output
    case = ET.parse(junit).getroot().find(".//testcase")
    assert case is not None and case.find("failure") is not None
    system_out = case.findtext("system-out") or ""
    assert "== instance " in system_out, "the dossier is missing from the JUnit report"


def test_keep_on_failure_then_cleanup_command(shared_cloud: CloudDescriptor,
                                              cloud_admin: CloudClients) -> None:
    run_id = secrets.token_hex(4)
    result = _pytest(shared_cloud, str(DATA / "fail_me.py"), f"--run-id={run_id}",
                     "--keep-on-failure")
    assert result.returncode == 1
    assert "kept instance" in result.stdout and "database instance show" in result.stdout
    kept = _instances(cloud_admin, f"trove-it-{run_id}-")
    assert len(kept) == 1, "--keep-on-failure must keep the failed test's instance"
    cleanup = subprocess.run(
        [sys.executable, "-m", "trove_it.cli.main", "cleanup", f"--run-id={run_id}",
         f"--local-cloud={shared_cloud.name}"], capture_output=True, text=True, timeout=300)
    assert cleanup.returncode == 0, cleanup.stdout + cleanup.stderr
    assert f"removing instance {kept[0]}" in cleanup.stdout
    assert not _instances(cloud_admin, f"trove-it-{run_id}-")
    assert not (runs_root() / run_id).exists(), "the kept run's record is left"


def test_xdist_provisions_once_and_passes(shared_cloud: CloudDescriptor) -> None:
    require_engine("postgresql")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
         "--datastore=mysql,postgresql", f"--local-cloud={shared_cloud.name}",
         "scenarios/test_api.py"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    output = result.stdout
    assert result.returncode == 0, output[-3000:]
    assert output.count("target: local cloud") == 1, "provisioning ran more than once"
    assert " passed" in output


def test_xdist_gives_each_worker_its_own_cloud_and_removes_them() -> None:
    """With -n 2 and no cloud running, each worker tests a local cloud of its own
    (so no worker queues on another's server), and the run removes them all."""
    require_engine("postgresql")
    name = f"trove-it-workers-{secrets.token_hex(3)}"
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", "2",
         "--datastore=mysql,postgresql", f"--local-cloud={name}", "scenarios/test_api.py"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    output = result.stdout
    assert result.returncode == 0, output[-3000:]
    for worker in ("gw0", "gw1"):
        assert f"target: local cloud {name}-{worker} (default profile, trove 26.0.0) at " \
            in output, \
            output[-3000:]
        assert f"(worker {worker})" in output
        assert not (default_state_root() / f"{name}-{worker}").exists()
    assert not [p for p in Path("/proc").iterdir() if p.name.isdigit() and
                name in _cmdline(p)], "a server or engine of the workers' clouds is left"


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""
