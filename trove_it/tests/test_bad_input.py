"""Bad input: one clear line, a non-zero exit, no traceback, nothing left behind.

Each case runs the scenario suite in a child pytest, as a user would, and
checks its exit code and output, then that no local cloud, engine or state
of the run remains. The table is the one in the README.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.launcher import LocalCloud
from trove_it.localcloud.lifecycle.layout import default_state_dir
from trove_it.run_state import runs_root
from trove_it.tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Case:
    id: str
    args: tuple[str, ...]
    message: str
    env: tuple[tuple[str, str], ...] = ()


def _clouds_yaml(tmp_path: Path, auth_url: str, password: str = "secret-pw-1") -> Path:
    path = tmp_path / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": {"broken": {
        "auth": {"auth_url": auth_url, "username": "demo", "password": password,
                 "project_name": "demo", "user_domain_name": "Default",
                 "project_domain_name": "Default"},
        "region_name": "RegionOne", "identity_api_version": 3}}}))
    return path


def _run(args: tuple[str, ...], env: dict[str, str], local_cloud: str
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "scenarios/test_api.py", "-p", "no:cacheprovider",
         f"--local-cloud={local_cloud}", *args],
        cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], message: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode not in (0, 1), f"exit {result.returncode}:\n{output[-2000:]}"
    assert "Traceback" not in output and "INTERNALERROR" not in output, output[-3000:]
    errors = [line for line in output.splitlines() if line.startswith("ERROR: ")]
    assert len(errors) == 1, f"expected one error line, got:\n{output[-2000:]}"
    assert message in errors[0], f"{message!r} not in {errors[0]!r}"
    for secret in ("secret-pw-1", "wrong-pw-9"):
        assert secret not in output


@pytest.fixture
def cloud_name() -> Iterator[str]:
    name = f"trove-it-badinput-{secrets.token_hex(3)}"
    yield name
    assert not default_state_dir(name).exists(), f"the run left its local cloud {name}"


USAGE_CASES = [
    Case("unknown datastore", ("--datastore=oracle",), "unknown datastore 'oracle'"),
    Case("negative timeout scale", ("--timeout-scale=-2",),
         "--timeout-scale must be a number greater than 0"),
    Case("unknown cloud kind", ("--cloud=openstack",), "--cloud must be one of"),
    Case("bad volume size", ("--volume-size=0",), "--volume-size must be a whole number"),
    Case("local cloud name with a slash", ("--local-cloud=bad/name",),
         "--local-cloud: a local cloud's name must be a plain word"),
    Case("unknown local profile", ("--local-profile=staging",),
         "--local-profile: unknown local cloud profile 'staging'; choose from default, "
         "production"),
    Case("api faults off the local cloud", ("--os-cloud=x", "--api-faults=0.1"),
         "--api-faults needs the local cloud"),
    Case("bad api faults", ("--api-faults=0.1:FETCH",), "--api-faults takes RATE"),
    Case("unknown upgrade phase", ("--upgrade-phase=upgrade",),
         "--upgrade-phase must be one of create, verify, verify_noapi, destroy"),
    Case("bad trove spec", ("--trove=26.0.0",),
         "--trove takes pypi:VERSION, path:DIR or git:URL@REF"),
]


PLACEMENT_CASES = [
    Case("unknown network", ("--network=nowhere-net",),
         "--network nowhere-net: no such network; known: trove-it-private"),
    Case("unknown zone", ("--availability-zone=nowhere",),
         "--availability-zone nowhere: no such zone; known: nova"),
    Case("unknown volume type", ("--volume-type=nope-type",),
         "--volume-type nope-type: not offered for mysql 8.0; offered: trove-it-local, "
         "trove-it-ssd"),
]


@pytest.mark.parametrize("case", PLACEMENT_CASES, ids=[c.id for c in PLACEMENT_CASES])
def test_placement_errors(case: Case, cloud_name: str) -> None:
    require_engine("mariadb")
    _assert_one_clear_line(_run(("--datastore=mysql", *case.args), {}, cloud_name),
                           case.message)


def test_cloud_up_with_an_unknown_profile() -> None:
    result = subprocess.run([sys.executable, "-m", "trove_it.cli.main", "cloud", "up",
                             "--name", "trove-it-never", "--profile", "staging"],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output, output
    assert "--profile: unknown local cloud profile 'staging'" in output
    assert not default_state_dir("trove-it-never").exists()


@pytest.mark.parametrize("case", USAGE_CASES, ids=[c.id for c in USAGE_CASES])
def test_option_errors(case: Case, cloud_name: str) -> None:
    _assert_one_clear_line(_run(case.args, {}, cloud_name), case.message)


def test_unknown_version(cloud_name: str) -> None:
    require_engine("mariadb")
    result = _run(("--datastore=mysql", "--datastore-version=9.9"), {}, cloud_name)
    _assert_one_clear_line(result, "unknown version '9.9' of datastore mysql")


def test_missing_engine(cloud_name: str) -> None:
    result = _run(("--datastore=mysql",), {"TROVE_IT_ENGINE_PATH": "/nonexistent"},
                  cloud_name)
    _assert_one_clear_line(result, "mariadb engine unavailable: mariadbd")
    assert "apt-get install" in result.stdout + result.stderr


def test_unknown_cloud_name(cloud_name: str, tmp_path: Path) -> None:
    env = {"OS_CLIENT_CONFIG_FILE": str(_clouds_yaml(tmp_path, "http://127.0.0.1:9/v3"))}
    result = _run(("--os-cloud=nosuchcloud",), env, cloud_name)
    _assert_one_clear_line(result, "cloud 'nosuchcloud' not found")


def test_malformed_clouds_yaml(cloud_name: str, tmp_path: Path) -> None:
    path = tmp_path / "clouds.yaml"
    path.write_text("clouds:\n  broken: [unclosed\n")
    result = _run(("--os-cloud=broken",), {"OS_CLIENT_CONFIG_FILE": str(path)}, cloud_name)
    _assert_one_clear_line(result, "cannot read")


def test_unreadable_clouds_yaml(cloud_name: str, tmp_path: Path) -> None:
    directory = tmp_path / "clouds.yaml"
    directory.mkdir()
    result = _run(("--os-cloud=broken",), {"OS_CLIENT_CONFIG_FILE": str(directory)},
                  cloud_name)
    _assert_one_clear_line(result, "cannot read")


def test_unreachable_endpoint(cloud_name: str, tmp_path: Path) -> None:
    env = {"OS_CLIENT_CONFIG_FILE": str(_clouds_yaml(tmp_path, "http://127.0.0.1:9/v3"))}
    result = _run(("--os-cloud=broken",), env, cloud_name)
    _assert_one_clear_line(result, "cannot reach cloud 'broken' at http://127.0.0.1:9/v3")


def test_wrong_password(cloud_name: str, tmp_path: Path) -> None:
    require_engine("mariadb")
    cloud = LocalCloud(cloud_name)
    desc = cloud.up(tie_to_parent=True)
    try:
        clouds = yaml.safe_load(Path(desc.clouds_yaml).read_text())["clouds"]
        entry = clouds[cloud_names(cloud_name)["member"]]
        entry["auth"]["password"] = "wrong-pw-9"
        path = tmp_path / "clouds.yaml"
        path.write_text(yaml.safe_dump({"clouds": {"broken": entry}}))
        result = _run(("--os-cloud=broken",), {"OS_CLIENT_CONFIG_FILE": str(path)},
                      f"{cloud_name}-unused")
        _assert_one_clear_line(result, "authentication to cloud 'broken' failed for user "
                                       "'demo'")
    finally:
        cloud.down()


def test_cloud_of_another_run(cloud_name: str) -> None:
    """A cloud another live run started (here: this process) is that run's to stop."""
    require_engine("mariadb")
    cloud = LocalCloud(cloud_name)
    cloud.up(tie_to_parent=True, run_owned=True)
    try:
        result = _run(("--datastore=mysql",), {}, cloud_name)
        _assert_one_clear_line(result, f"the local cloud {cloud_name} belongs to another "
                                       f"pytest run (pid {os.getpid()})")
        assert cloud.is_running(), "the refused run stopped the other run's cloud"
    finally:
        cloud.down()


def test_unknown_reused_instance(cloud_name: str) -> None:
    require_engine("mariadb")
    result = _run(("--datastore=mysql", "--reuse-instance=0a0b0c0d-no-such-instance"), {},
                  cloud_name)
    _assert_one_clear_line(result, "--reuse-instance 0a0b0c0d-no-such-instance: no such "
                                   "instance in the test project")


def test_failed_runs_leave_no_run_state() -> None:
    leftovers = [p for p in runs_root().glob("*") if (p / "state.json").exists()
                 and "badinput" in (p / "state.json").read_text()]
    assert not leftovers, f"run state left behind: {leftovers}"
