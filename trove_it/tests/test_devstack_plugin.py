"""The devstack plugin's extra phase, on a local cloud standing in for the
devstack services: ``plugin.sh stack extra`` with the few devstack functions
it calls defined here, and a guest image given by TROVE_IT_IMAGE_URL (so the
build is skipped). Afterwards the version is registered and active: a
project user sees it in ``openstack datastore version list``."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.launcher import LocalCloud
from trove_it.localcloud.lifecycle.layout import CloudDescriptor
from trove_it.tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[2]
DEVSTACK_FUNCTIONS = """
is_service_enabled() { [[ " $TROVE_IT_TEST_ENABLED " == *" $1 "* ]]; }
enable_service() { TROVE_IT_TEST_ENABLED="$TROVE_IT_TEST_ENABLED $*"; }
echo_summary() { echo "summary: $*"; }
pip_install() { echo "pip_install $*" >> "$TROVE_IT_TEST_PIP_LOG"; }
"""


@pytest.fixture
def standin_cloud() -> Iterator[CloudDescriptor]:
    require_engine("mariadb")
    cloud = LocalCloud(f"trove-it-devstack-{secrets.token_hex(3)}")
    descriptor = cloud.up(tie_to_parent=True)
    yield descriptor
    cloud.down()


def _run_phase(tmp_path: Path, cloud: CloudDescriptor, image: Path, version: str,
               *phase: str) -> subprocess.CompletedProcess[str]:
    stubs = tmp_path / "functions"
    stubs.write_text(DEVSTACK_FUNCTIONS)
    script = (f'set -eu; source "{stubs}"; source devstack/settings; '
              f'source devstack/plugin.sh {" ".join(phase)}')
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
           "DEST": str(tmp_path / "opt"), "DATA_DIR": str(tmp_path / "data"),
           "TROVE_IT_TEST_ENABLED": "", "TROVE_IT_TEST_PIP_LOG": str(tmp_path / "pip.log"),
           "TROVE_DATASTORE_TYPE": "mariadb", "TROVE_DATASTORE_VERSION": version,
           "TROVE_IT_IMAGE_URL": str(image),
           "TROVE_IT_OS_CLOUD": cloud_names(cloud.name)["admin"],
           "OS_CLIENT_CONFIG_FILE": cloud.clouds_yaml}
    env.pop("OS_CLOUD", None)
    return subprocess.run(["bash", "-c", script], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def test_extra_phase_registers_an_active_version(tmp_path: Path,
                                                 standin_cloud: CloudDescriptor) -> None:
    if shutil.which("qemu-img") is None:
        pytest.skip("needs qemu-img to make a small disk image")
    image = tmp_path / "guest.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(image), "64M"], check=True)
    version = "10.11-devstack"
    result = _run_phase(tmp_path, standin_cloud, image, version, "stack", "extra")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    assert f"summary: Giving mariadb {version} a guest image" in output
    assert not (tmp_path / "pip.log").exists(), "trove-it was installed again over itself"

    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=standin_cloud.clouds_yaml)
    env.pop("OS_CLOUD", None)
    listed = subprocess.run(
        [str(Path(sys.executable).parent / "openstack"), "--os-cloud",
         cloud_names(standin_cloud.name)["member"], "datastore", "version", "list", "mariadb",
         "-f", "json"], env=env, capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0, listed.stderr[-800:]
    names = {row["Name"] for row in json.loads(listed.stdout)}
    assert version in names, f"{version} is not listed for a project user: {sorted(names)}"


def test_other_phases_do_nothing(tmp_path: Path, standin_cloud: CloudDescriptor) -> None:
    result = _run_phase(tmp_path, standin_cloud, tmp_path / "unused.qcow2", "10.11",
                        "stack", "post-config")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "summary:" not in result.stdout
