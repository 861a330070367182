"""A scenario run with ``--image``: the datastore version under test boots that
image for the run (the instance's server shows it), a fault flavor too small
for the image fails its build as on nova, and afterwards the version points
at its former image again and the run's upload is gone from Glance.

The image is a small empty qcow2 (its virtual size is what nova and this
cloud's compute compare with a flavor's disk); what a real guest image holds
is the image suite's business (``-m image``).
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from trove_it.clients import CloudClients
from trove_it.images import registry
from trove_it.localcloud.lifecycle.layout import CloudDescriptor
from trove_it.tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[2]
TESTS = ("scenarios/test_instance_create.py::test_show_fields_for_admin",
         "scenarios/test_instance_errors.py::test_build_fails_with_fault")


@pytest.fixture
def small_image(tmp_path: Path) -> Path:
    if shutil.which("qemu-img") is None:
        pytest.skip("needs qemu-img (apt-get install qemu-utils)")
    path = tmp_path / "guest-under-test.qcow2"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", str(path), "1536M"], check=True)
    return path


def test_scenarios_boot_the_given_image(selftest_cloud: CloudDescriptor,
                                        selftest_admin: CloudClients,
                                        small_image: Path) -> None:
    require_engine("mariadb")
    before = registry.find_version(selftest_admin, "mariadb", "10.11")
    assert before is not None
    run_id = secrets.token_hex(4)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--datastore=mariadb",
         f"--local-cloud={selftest_cloud.name}", f"--run-id={run_id}",
         f"--image={small_image}", *TESTS],
        cwd=REPO, capture_output=True, text=True, timeout=600, env=dict(os.environ))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout, result.stdout[-2000:]
    assert "leak check" not in result.stdout, result.stdout[-2000:]

    after = registry.find_version(selftest_admin, "mariadb", "10.11")
    assert after is not None
    assert (after.get("image"), after.get("image_tags"), after.get("active")) == \
        (before.get("image"), before.get("image_tags"), before.get("active")), \
        f"the version is not as it was before the run: {before} -> {after}"
    leftovers = [i.name for i in selftest_admin.conn.image.images()
                 if (i.name or "").startswith(f"trove-it-{run_id}-")]
    assert not leftovers, f"the run's image upload is still in Glance: {leftovers}"


def test_missing_image_is_one_line(selftest_cloud: CloudDescriptor, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--datastore=mariadb",
         f"--local-cloud={selftest_cloud.name}", f"--image={tmp_path / 'nope.qcow2'}",
         TESTS[0]],
        cwd=REPO, capture_output=True, text=True, timeout=300, env=dict(os.environ))
    assert result.returncode != 0
    assert "no such file" in result.stderr, result.stderr[-1000:]
    assert "Traceback" not in result.stdout + result.stderr
