"""Which local cloud a run takes: its own by default, a ``cloud up`` cloud
shared, never one another live run owns; orphans of dead runs are swept."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trove_it.errors import UserError
from trove_it.localcloud.lifecycle.layout import CloudDescriptor, StateLayout
from trove_it.provisioning import cloud_choice
from trove_it.settings import build_settings


@pytest.fixture(autouse=True)
def state_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TROVE_IT_STATE_ROOT", str(tmp_path / "state"))
    monkeypatch.setenv("TROVE_IT_RANGE_CLAIMS", str(tmp_path / "claims"))
    return tmp_path / "state"


@pytest.fixture
def other_process() -> Iterator[int]:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def _settings(**values: str) -> Any:
    return build_settings(lambda spec: (values.get(spec.name, spec.default),
                                        spec.name in values))


def _pretend_running(root: Path, name: str, owner: int | None, server: int) -> Path:
    state_dir = root / name
    state_dir.mkdir(parents=True)
    CloudDescriptor(name=name, state_dir=str(state_dir), url="http://127.0.0.1:9", port=9,
                    pid=server, network_cidr="127.77.0.0/16", clouds_yaml="",
                    started_at=time.time(), owner_pid=owner).save(StateLayout(state_dir))
    return state_dir


def test_a_run_with_default_options_gets_a_cloud_of_its_own() -> None:
    settings = cloud_choice.choose(_settings(run_id="abc123"))
    assert settings.local_cloud == "trove-it-abc123"


def test_a_cloud_started_by_cloud_up_is_shared(state_root: Path) -> None:
    _pretend_running(state_root, "trove-it-local", owner=None, server=os.getpid())
    assert cloud_choice.choose(_settings(run_id="abc123")).local_cloud == "trove-it-local"


def test_another_runs_cloud_is_not_taken(state_root: Path, other_process: int) -> None:
    _pretend_running(state_root, "trove-it-local", owner=other_process, server=other_process)
    assert cloud_choice.choose(_settings(run_id="abc123")).local_cloud == "trove-it-abc123"
    with pytest.raises(UserError, match=f"belongs to another pytest run \\(pid "
                                        f"{other_process}\\)"):
        cloud_choice.choose(_settings(run_id="abc123", local_cloud="trove-it-local"))


def test_a_run_takes_the_cloud_its_parent_lends(state_root: Path, other_process: int,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """tempest_run owns its cloud and runs the scenario suite on it as a child,
    naming itself in TROVE_IT_CLOUD_LENT_BY; without that, or from any other
    process, the cloud stays the owner's."""
    _pretend_running(state_root, "trove-it-tempest", owner=os.getppid(), server=other_process)
    asking = _settings(run_id="abc123", local_cloud="trove-it-tempest")
    with pytest.raises(UserError, match="belongs to another pytest run"):
        cloud_choice.choose(asking)
    monkeypatch.setenv(cloud_choice.LENDER_ENV, str(other_process))  # not the parent
    with pytest.raises(UserError, match="belongs to another pytest run"):
        cloud_choice.choose(asking)
    monkeypatch.setenv(cloud_choice.LENDER_ENV, str(os.getppid()))
    assert cloud_choice.choose(asking).local_cloud == "trove-it-tempest"


def test_orphans_of_dead_runs_are_swept_and_shared_clouds_kept(state_root: Path) -> None:
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True).stdout)
    orphan = _pretend_running(state_root, "trove-it-deadrun", owner=dead, server=dead)
    shared = _pretend_running(state_root, "trove-it-local", owner=None, server=dead)
    assert cloud_choice.sweep_orphans() == ["trove-it-deadrun"]
    assert not orphan.exists()
    assert shared.exists()
