"""A control-plane restart on a survivable local cloud, and ``trove-it cloud
upgrade-run``'s bad input.

The hand-over is what makes a real upgrade possible: the server stops, the
engines stay up (the same processes, serving the same rows), and the next
server adopts them. The Trove 25.1.0 -> 26.0.0 run itself is a CI stage of
its own (``.ci/run``), since it installs the older release.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it.clients import connect
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle import processes
from trove_it.localcloud.lifecycle.launcher import CloudError, LocalCloud
from trove_it.localcloud.lifecycle.layout import CloudDescriptor, default_state_root
from trove_it.localcloud.lifecycle.trove_env import venvs_root
from trove_it.tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[2]


def _phase(cloud: LocalCloud, state: Path, phase: str, side: str,
           target: str = "--os-cloud") -> subprocess.CompletedProcess[str]:
    """One phase as upgrade-run (and grenade) runs it: the cloud as an existing one."""
    env = {k: v for k, v in os.environ.items() if k not in ("TROVE_IT_RUN_ID",
                                                             "PYTEST_ADDOPTS", "OS_CLOUD")}
    env["OS_CLIENT_CONFIG_FILE"] = str(cloud.layout.clouds_yaml)
    name = cloud.name if target == "--local-cloud" else cloud_names(cloud.name)["member"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "--datastore=mysql,postgresql", f"{target}={name}",
         f"--upgrade-state={state}", f"--upgrade-phase={phase}", f"--upgrade-side={side}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)


def _engines(cloud: LocalCloud) -> dict[str, int]:
    """Engine pid by instance directory, for those alive."""
    found = {}
    for pidfile in cloud.layout.engine_pidfiles():
        pid = processes.read_pidfile(pidfile)
        if pid is not None and processes.alive(pid):
            found[pidfile.parent.name] = pid
    return found


@pytest.fixture
def survivable() -> Iterator[LocalCloud]:
    require_engine("mariadb")
    require_engine("postgresql")
    cloud = LocalCloud(f"trove-it-survivable-{secrets.token_hex(3)}", survivable=True)
    cloud.up()
    yield cloud
    cloud.down()


def test_hand_over_keeps_the_engines_and_resume_adopts_them(survivable: LocalCloud,
                                                            tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    for phase, side in (("create", "pre"), ("verify", "pre")):
        result = _phase(survivable, state, phase, side)
        assert result.returncode == 0, f"{phase}:\n{result.stdout[-3000:]}"
    before = _engines(survivable)
    assert len(before) == 2, f"one engine per datastore expected, found {before}"
    server = survivable.descriptor
    assert server is not None

    survivable.hand_over()
    assert not processes.alive(server.pid), "the server is still running"
    assert _engines(survivable) == before, "an engine stopped with the server"
    handed = survivable.layout.hand_over
    assert oct(handed.stat().st_mode & 0o777) == "0o600", "it holds guest secrets"
    assert len(json.loads(handed.read_text())["compute"]["servers"]) == 2
    noapi = _phase(survivable, state, "verify_noapi", "pre")
    assert noapi.returncode == 0, noapi.stdout[-3000:]
    # A run naming the cloud as its local cloud would start it afresh, which
    # wiped the instances under their running engines; it is refused instead.
    again = _phase(survivable, state, "verify_noapi", "pre", target="--local-cloud")
    assert again.returncode == 0, again.stdout[-3000:]
    assert _engines(survivable) == before and handed.exists()
    with pytest.raises(CloudError, match="is stopped for an upgrade with its engines running"):
        LocalCloud(survivable.name).up()
    assert _engines(survivable) == before and handed.exists()

    resumed = survivable.resume()
    assert resumed.pid != server.pid and resumed.url == server.url
    assert not handed.exists(), "a later start would replay the hand-over"
    assert _engines(survivable) == before, "the new server restarted the engines"
    assert any("Running required upgrade tasks" in line
               for line in survivable.db_sync_output())
    for directory in before:
        guest_log = survivable.layout.instance_dir(directory) / "log" / "guest.log"
        assert "resumed by a restarted control plane; engine running" in \
            guest_log.read_text()
    for phase, side in (("verify", "post"), ("destroy", "post")):
        result = _phase(survivable, state, phase, side)
        assert result.returncode == 0, f"{phase}:\n{result.stdout[-3000:]}"
    assert _engines(survivable) == {}
    member = connect(cloud_names(survivable.name)["member"], survivable.layout.clouds_yaml)
    assert list(member.trove.instances.list()) == []
    assert not any(processes.alive(pid) for pid in before.values())


def test_only_a_survivable_cloud_hands_over(selftest_cloud: CloudDescriptor) -> None:
    running = LocalCloud(selftest_cloud.name, state_dir=Path(selftest_cloud.state_dir))
    with pytest.raises(CloudError, match="was not started survivable"):
        running.hand_over()
    assert running.is_running()
    with pytest.raises(CloudError, match="no handed-over state"):
        running.resume()


@pytest.mark.parametrize("args, says", [
    (["--from", "trove==25", "--to", "bogus"],
     "--to takes trove==VERSION, pypi:VERSION, path:DIR or git:URL@REF, not 'bogus'"),
    (["--from", "trove==25.1.0", "--to", "trove==26.0.0", "--datastore", "redis"],
     "--datastore: redis has no guest agent in Trove"),
    (["--from", "trove==25.1.0", "--to", "trove==26.0.0", "--datastore", "oracle"],
     "--datastore: unknown datastore 'oracle'"),
    (["--from", "trove==0.0.1", "--to", "trove==26.0.0"],
     "--from: pip could not install it: "),
])
def test_bad_input_is_one_line_and_leaves_nothing(args: list[str], says: str) -> None:
    before_states = set(default_state_root().glob("trove-it-upgrade-*"))
    before_venvs = set(venvs_root().iterdir()) if venvs_root().is_dir() else set()
    result = subprocess.run([sys.executable, "-m", "trove_it.cli.main", "cloud",
                             "upgrade-run", *args], cwd=REPO, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0], result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
    assert set(default_state_root().glob("trove-it-upgrade-*")) == before_states
    after_venvs = set(venvs_root().iterdir()) if venvs_root().is_dir() else set()
    assert {p for p in after_venvs - before_venvs if not p.name.startswith(".")} == set()
