"""Ctrl-C, SIGTERM and ``cloud down`` leave nothing behind.

A child pytest run starts building an instance, then the parent interrupts
it and checks the machine: no engine or server process, no listening socket
in the cloud's range, no state directory; and on a cloud that outlives the
run, no instance of the run left in Trove.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from trove_it.clients import connect
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.launcher import LocalCloud
from trove_it.localcloud.lifecycle.layout import CloudDescriptor, StateLayout, default_state_dir
from trove_it.tests.conftest import interruptible, require_engine
from trove_it.tests.process_scan import processes_mentioning
from trove_it.tests.sockets import listening, listening_on_port

REPO = Path(__file__).resolve().parents[2]
CHILD_TEST = Path(__file__).parent / "data" / "interrupt_me.py"
CHILD_CLUSTER_TEST = Path(__file__).parent / "data" / "interrupt_cluster.py"


def _run_child(cloud_name: str, run_id: str, marker: Path, child_test: Path = CHILD_TEST,
               datastore: str = "mysql") -> subprocess.Popen[bytes]:
    env = dict(os.environ, TROVE_IT_TEST_MARKER=str(marker))
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", str(child_test), "-p", "no:cacheprovider", "-q",
         f"--datastore={datastore}", f"--local-cloud={cloud_name}", f"--run-id={run_id}"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        preexec_fn=interruptible)


def _wait_for(marker: Path, child: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while not marker.exists():
        if child.poll() is not None:
            out = child.stdout.read().decode(errors="replace") if child.stdout else ""
            raise AssertionError(f"the child run ended before building: {out[-2000:]}")
        if time.monotonic() > deadline:
            child.kill()
            raise AssertionError("the child run never started its instance")
        time.sleep(0.1)


def _interrupt(child: subprocess.Popen[bytes], sig: int) -> str:
    child.send_signal(sig)
    try:
        out, _ = child.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        child.kill()
        raise AssertionError("the interrupted run did not finish within 180s") from None
    assert child.returncode != 0, "an interrupted run must not report success"
    return out.decode(errors="replace")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_interrupted_run_leaves_nothing(tmp_path: Path, sig: int) -> None:
    require_engine("mariadb")
    name = f"trove-it-interrupt-{secrets.token_hex(3)}"
    marker = tmp_path / "started"
    child = _run_child(name, secrets.token_hex(4), marker)
    _wait_for(marker, child)
    desc = CloudDescriptor.load(StateLayout(default_state_dir(name)))
    assert desc is not None, "the child run did not start its own local cloud"
    time.sleep(0.3)
    output = _interrupt(child, sig)
    assert not processes_mentioning(desc.state_dir), \
        f"processes left running:\n{output[-1500:]}"
    assert not listening(desc.network_cidr), f"sockets left: {listening(desc.network_cidr)}"
    assert not listening_on_port(desc.port)
    assert not Path(desc.state_dir).exists(), "the state directory was not removed"


@contextmanager
def _interrupted_on_a_shared_cloud(tmp_path: Path, child_test: Path = CHILD_TEST,
                                   datastore: str = "mysql"
                                   ) -> Iterator[tuple[str, CloudDescriptor, str]]:
    """A cloud the run did not start, a child run on it interrupted with SIGINT
    once it has started building: yields (cloud name, descriptor, run id) for the
    checks, then stops the cloud and checks no process of it is left."""
    require_engine("mariadb")
    name = f"trove-it-shared-{secrets.token_hex(3)}"
    cloud = LocalCloud(name)
    desc = cloud.up(tie_to_parent=True)
    try:
        run_id = secrets.token_hex(4)
        marker = tmp_path / "started"
        child = _run_child(name, run_id, marker, child_test, datastore)
        _wait_for(marker, child)
        _interrupt(child, signal.SIGINT)
        assert cloud.is_running(), "a cloud the run did not start must survive it"
        yield name, desc, run_id
        assert not any((Path(desc.state_dir) / "instances").iterdir()), \
            "engine directories left"
    finally:
        cloud.down()
    assert not processes_mentioning(desc.state_dir)
    assert not listening(desc.network_cidr)


def _run_instances_left(name: str, desc: CloudDescriptor, run_id: str) -> list[str]:
    admin = connect(cloud_names(name)["admin"], Path(desc.clouds_yaml))
    return [i.name for i in admin.trove.mgmt_instances.list(deleted=False)
            if i.name.startswith(f"trove-it-{run_id}-")]


def test_interrupt_on_a_shared_cloud_deletes_the_run_instances(tmp_path: Path) -> None:
    with _interrupted_on_a_shared_cloud(tmp_path) as (name, desc, run_id):
        left = _run_instances_left(name, desc, run_id)
        assert not left, f"instances of the interrupted run left in Trove: {left}"


def test_interrupted_cluster_build_leaves_no_cluster(tmp_path: Path) -> None:
    """A Galera cluster interrupted mid-build is deleted with its members (its
    task is reset by the admin first: Trove deletes only idle clusters)."""
    with _interrupted_on_a_shared_cloud(tmp_path, CHILD_CLUSTER_TEST, "mariadb") as (
            name, desc, run_id):
        member = connect(cloud_names(name)["member"], Path(desc.clouds_yaml))
        clusters = [c.name for c in member.trove.clusters.list()]
        assert not clusters, f"clusters of the interrupted run left: {clusters}"
        left = _run_instances_left(name, desc, run_id)
        assert not left, f"cluster members of the interrupted run left: {left}"


def test_cloud_cli_up_status_down(tmp_path: Path) -> None:
    require_engine("mariadb")
    name = f"trove-it-cli-{secrets.token_hex(3)}"

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "trove_it.cli.main", "cloud", *args,
                               "--name", name], capture_output=True, text=True, timeout=240)

    up = cli("up")
    assert up.returncode == 0, up.stderr
    assert "clouds.yaml:" in up.stdout and name in up.stdout
    clouds_yaml = up.stdout.split("clouds.yaml:", 1)[1].split()[0]
    status = cli("status")
    assert status.returncode == 0 and "running" in status.stdout
    member = connect(cloud_names(name)["member"], Path(clouds_yaml))
    created = member.trove.instances.create(f"{name}-one", "d2", volume={"size": 1},
                                            datastore="mysql")
    from trove_it import waiters

    waiters.wait_for_instance(member.trove, created.id, timeout=120)
    desc = CloudDescriptor.load(StateLayout(default_state_dir(name)))
    assert desc is not None
    assert listening(desc.network_cidr), "the instance's engine is not listening"
    down = cli("down")
    assert down.returncode == 0, down.stderr
    assert not processes_mentioning(desc.state_dir)
    assert not listening(desc.network_cidr)
    assert not listening_on_port(desc.port)
    assert not Path(desc.state_dir).exists()
    assert cli("status").returncode == 1


def _sigint_ignored() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def test_a_run_started_with_sigint_ignored_says_so() -> None:
    """As a background job (``cmd &``, nohup) starts it: Ctrl-C cannot reach
    its cleanup, and the run says what stops it cleanly instead."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--collect-only", "-q",
         "scenarios/test_api.py"],
        cwd=REPO, capture_output=True, text=True, timeout=120, preexec_fn=_sigint_ignored)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "started with SIGINT ignored" in result.stderr, result.stderr[-2000:]
    assert "kill -TERM" in result.stderr


def test_sigterm_stops_the_run_even_when_a_cleanup_masks_it(tmp_path: Path) -> None:
    source = Path(__file__).parent / "data" / "interrupt_masked.py"
    child = tmp_path / "test_masked.py"
    shutil.copy(source, child)
    started, second = child.with_suffix(".started"), child.with_suffix(".second-ran")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir",
         str(REPO), "-c", str(REPO / "pytest.ini"), str(child)],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        preexec_fn=interruptible)
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    proc.send_signal(signal.SIGTERM)
    output = proc.communicate(timeout=60)[0]
    assert proc.returncode == 2, output[-2000:]
    assert "interrupted by SIGTERM" in output, output[-2000:]
    assert not second.exists(), "the run went on after SIGTERM"
