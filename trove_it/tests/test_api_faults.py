"""Transient API failures (``--api-faults``): the local cloud injects them,
reads ride them out through keystoneauth's retries, writes are never retried,
and a run that meets one it cannot ride out reports the request."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it import api_faults, api_retries
from trove_it.clients import CloudClients
from trove_it.localcloud.faults import TransientFaults
from trove_it.localcloud.lifecycle.layout import CloudDescriptor
from trove_it.targets.base import LocalControl
from trove_it.tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[2]


# ------------------------------------------------------------ pure logic
@pytest.mark.parametrize("spec, expected", [
    ("0.1", api_faults.ApiFaults(0.1)),
    ("1:post:503", api_faults.ApiFaults(1.0, ("POST",), ("503",))),
    ("0.25:GET,DELETE:drop,503", api_faults.ApiFaults(0.25, ("GET", "DELETE"),
                                                       ("drop", "503"))),
])
def test_spec_parses(spec: str, expected: api_faults.ApiFaults) -> None:
    assert api_faults.parse(spec) == expected


@pytest.mark.parametrize("spec", ["", "0", "1.5", "ten", "0.1:FETCH", "0.1:GET:timeout",
                                  "0.1:GET:503:x"])
def test_bad_spec_is_one_line(spec: str) -> None:
    with pytest.raises(api_faults.ApiFaultsError, match="--api-faults takes RATE"):
        api_faults.parse(spec)


def test_share_and_methods_are_respected() -> None:
    faults = TransientFaults()
    faults.configure(0.1, ["GET"], None, seed=7)
    picked = [faults.pick("GET") for _ in range(5000)]
    share = sum(p is not None for p in picked) / len(picked)
    assert 0.08 < share < 0.12, share
    assert {p for p in picked if p} == {"503", "drop"}
    assert all(faults.pick(method) is None for method in ("POST", "DELETE", "PATCH"))


# ------------------------------------------------- against the local cloud
@pytest.fixture
def control(selftest_cloud: CloudDescriptor, selftest_admin: CloudClients
            ) -> Iterator[LocalControl]:
    control = LocalControl(selftest_cloud.url, selftest_admin)
    yield control
    control.set_transient_faults({"rate": 0.0})


def test_reads_are_retried_until_they_succeed(control: LocalControl,
                                              selftest_member: CloudClients) -> None:
    control.set_transient_faults({"rate": 0.5, "methods": ["GET"], "seed": 3})
    start = time.time()
    for _ in range(12):
        selftest_member.trove.flavors.list()  # fails half the time at the API
    seen = control.transient_faults()
    assert sum(seen["injected"].values()) > 0, seen
    assert set(seen["injected"]) == {"503", "drop"}, seen
    retries = api_retries.RETRY_LOG.since(start)
    assert any("Retriable status code 503" in r for r in retries), retries
    assert any("Unable to establish connection" in r or "Connection aborted" in r
               or "RemoteDisconnected" in r for r in retries), retries


def test_writes_are_not_retried(control: LocalControl, selftest_member: CloudClients) -> None:
    from troveclient.apiclient import exceptions as api_exc

    control.set_transient_faults({"rate": 1.0, "methods": ["POST"], "kinds": ["503"]})
    with pytest.raises(api_exc.HttpError) as raised:
        selftest_member.trove.instances.create("trove-it-never", "no-flavor")
    assert raised.value.http_status == 503
    assert control.transient_faults()["requests_seen"] == 1, "the POST was sent again"
    lines = api_retries.failed_request_lines(raised.value, 0.0)
    assert re.search(r"^POST http\S+/instances -> HTTP 503", lines[1]), lines
    assert "not retried" in "\n".join(lines)


# ----------------------------------------------------------- whole runs
def _run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--datastore=mysql",
         *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)


def test_mysql_suite_passes_with_a_tenth_of_reads_failing() -> None:
    require_engine("mariadb")
    result = _run("--api-faults=0.1")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    injected = re.search(r"api faults: .* of (\d+) such requests, injected: (.*)", output)
    assert injected, output[-2000:]
    assert "503" in injected.group(2) and "dropped" in injected.group(2), injected.group(0)


def test_a_failed_create_is_reported_with_its_request() -> None:
    require_engine("mariadb")
    result = _run("--api-faults=1:POST:503", "scenarios/test_databases.py::test_create_databases")
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert re.search(r"POST http\S+/instances -> HTTP 503", output), output[-3000:]
    assert "injected transient failure" in output
