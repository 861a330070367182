"""The upgrade-survival phases, as grenade calls them: their hand-over through
the state file, the guard of ``verify_noapi``, and nothing left after
``destroy`` (``trove-it cloud upgrade-run`` runs them around a real upgrade,
``test_upgrade_run.py``)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it.clients import CloudClients, connect
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.launcher import LocalCloud
from trove_it.localcloud.lifecycle.layout import CloudDescriptor
from trove_it.run_state import runs_root
from trove_it.tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def phase_cloud() -> Iterator[CloudDescriptor]:
    require_engine("mariadb")
    cloud = LocalCloud(f"trove-it-phases-{secrets.token_hex(3)}")
    descriptor = cloud.up(tie_to_parent=True)
    yield descriptor
    cloud.down()


def _phase(cloud: CloudDescriptor, state: Path, phase: str, side: str = "pre"
           ) -> subprocess.CompletedProcess[str]:
    """One phase in a run of its own, as grenade invokes them."""
    env = {k: v for k, v in os.environ.items() if k not in ("TROVE_IT_RUN_ID",
                                                             "PYTEST_ADDOPTS")}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--datastore=mysql",
         f"--local-cloud={cloud.name}", f"--upgrade-state={state}",
         f"--upgrade-phase={phase}", f"--upgrade-side={side}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def test_phases_hand_over_and_destroy_leaves_nothing(phase_cloud: CloudDescriptor,
                                                     tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    created = _phase(phase_cloud, state, "create")
    assert created.returncode == 0, created.stdout[-3000:]
    assert "1 passed" in created.stdout
    recorded = json.loads(state.read_text())
    saved, creator = recorded["datastores"]["mysql"], recorded["run_id"]
    assert oct(state.stat().st_mode & 0o777) == "0o600", "the state holds a password"
    admin: CloudClients = connect(cloud_names(phase_cloud.name)["admin"],
                                  Path(phase_cloud.clouds_yaml))
    # The creating run's own leak check and cleanup left them for the next phase.
    assert admin.trove.instances.get(saved["instance_id"]).status == "ACTIVE"
    assert admin.trove.backups.get(saved["backup_id"]).status == "COMPLETED"

    for phase, side in (("verify", "pre"), ("verify", "pre"), ("verify_noapi", "pre"),
                        ("verify", "post")):
        result = _phase(phase_cloud, state, phase, side)
        assert result.returncode == 0, f"{phase}@{side}:\n{result.stdout[-3000:]}"
        assert "1 passed" in result.stdout
    checks = json.loads(state.read_text())["checks"]
    assert checks == ["verify@pre", "verify_noapi@pre", "verify@post"]

    destroyed = _phase(phase_cloud, state, "destroy")
    assert destroyed.returncode == 0, destroyed.stdout[-3000:]
    assert not state.exists()
    listed = {i.id for i in admin.trove.mgmt_instances.list(deleted=False)}
    assert saved["instance_id"] not in listed
    assert saved["backup_id"] not in {b.id for b in admin.trove.backups.list()}
    flavors = [f.name for f in admin.conn.compute.flavors(is_public=None)
               if f.name.startswith(f"trove-it-{creator}-")]
    assert not flavors, f"the creating run's flavors are left: {flavors}"
    assert not (runs_root() / creator).exists(), "the creating run's record is left"


def test_verify_without_a_create_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider",
         f"--upgrade-state={tmp_path / 'none.json'}", "--upgrade-phase=verify"],
        cwd=REPO, capture_output=True, text=True, timeout=120)
    errors = [line for line in (result.stdout + result.stderr).splitlines()
              if line.startswith("ERROR: ")]
    assert result.returncode == 4 and len(errors) == 1, result.stdout + result.stderr
    assert "no saved upgrade state at" in errors[0]


def test_the_noapi_guard_fails_an_api_call() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(DATA / "noapi_call.py")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"})
    assert result.returncode == 1, result.stdout[-2000:]
    assert "verify_noapi made API calls: ['GET http://127.0.0.1:9/v1.0/x/instances']" \
        in result.stdout
