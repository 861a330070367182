"""Every scenario test can run alone: a sample of test ids, each in a fresh
pytest process against an empty local cloud, must pass by itself.

The sample is the first and the last test of each scenario module (the
ones most likely to lean on a neighbour), for mysql, and for the cluster
module, whose tests need a datastore with clusters, for mariadb.
"""

from __future__ import annotations

import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it.localcloud.lifecycle.launcher import LocalCloud
from trove_it.tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[2]
MODULES = ("test_api", "test_instance_create", "test_instance_actions", "test_databases",
           "test_users", "test_root", "test_instance_delete", "test_instance_errors",
           "test_backups", "test_configuration", "test_guest_logs", "test_replication",
           "test_modules", "test_instance_upgrade")
CLUSTER_MODULE = "test_clusters"


def _collect(modules: tuple[str, ...], datastore: str) -> list[str]:
    paths = [f"scenarios/{m}.py" for m in modules if (REPO / "scenarios" / f"{m}.py").exists()]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         f"--datastore={datastore}", *paths], cwd=REPO, capture_output=True, text=True,
        timeout=120)
    return [line for line in result.stdout.splitlines() if "::" in line]


def _sample(ids: list[str]) -> list[str]:
    by_module: dict[str, list[str]] = {}
    for test_id in ids:
        by_module.setdefault(test_id.split("::")[0], []).append(test_id)
    sample: list[str] = []
    for tests in by_module.values():
        sample.extend(dict.fromkeys([tests[0], tests[-1]]))
    return sample


def _datastore_of(test_id: str) -> str:
    """'...::test_x[mariadb-case]' -> 'mariadb'; a test of no datastore runs with mysql."""
    if not test_id.endswith("]"):
        return "mysql"
    return test_id.rsplit("[", 1)[1].rstrip("]").split("-")[0]


SAMPLE = [*_sample(_collect(MODULES, "mysql")),
          *_sample(_collect((CLUSTER_MODULE,), "mariadb"))]


@pytest.fixture(scope="module")
def empty_cloud() -> Iterator[str]:
    require_engine("mariadb")
    name = f"trove-it-alone-{secrets.token_hex(3)}"
    cloud = LocalCloud(name)
    cloud.up(tie_to_parent=True)
    yield name
    cloud.down()


@pytest.mark.parametrize("test_id", SAMPLE)
def test_runs_alone(empty_cloud: str, test_id: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--datastore={_datastore_of(test_id)}",
         f"--local-cloud={empty_cloud}", test_id],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    tail = "\n".join(result.stdout.splitlines()[-15:])
    assert result.returncode == 0, f"{test_id} does not pass alone:\n{tail}"
    assert " passed" in tail or " xfailed" in tail, tail
