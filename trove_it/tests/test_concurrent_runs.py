"""Two whole ``pytest --datastore=mysql`` runs at once on one machine, as two
terminals or two CI jobs on one host would start them, with the default
options (one of them with ``-n 2``): both pass, neither stops the other's
cloud, and nothing of either is left afterwards (``provisioning/cloud_choice``,
``localcloud/lifecycle/address_ranges``)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

from trove_it.localcloud.lifecycle import address_ranges
from trove_it.localcloud.lifecycle.layout import default_state_root
from trove_it.run_state import runs_root
from trove_it.tests.conftest import require_engine
from trove_it.tests.process_scan import processes_mentioning

REPO = Path(__file__).resolve().parents[2]


def _start(log: Path, run_id: str, *extra: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("TROVE_IT_LOCAL_CLOUD", "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    return subprocess.Popen(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--datastore=mysql",
         f"--run-id={run_id}", *extra],
        cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def _leftovers(run_ids: list[str]) -> list[str]:
    found = [str(p) for p in default_state_root().iterdir()
             if any(run_id in p.name for run_id in run_ids)]
    found += [str(p) for p in runs_root().glob("*") if p.name in run_ids]
    for claim in address_ranges.claims_dir().glob("*.json"):
        if any(run_id in json.loads(claim.read_text())["state_dir"] for run_id in run_ids):
            found.append(str(claim))
    # A cloud's server and engines name its state directory in their argv.
    for run_id in run_ids:
        found += [f"process {pid}" for pid in processes_mentioning(f"trove-it-{run_id}")]
    return found


def test_two_default_runs_at_once_both_pass_and_leave_nothing(tmp_path: Path) -> None:
    require_engine("mariadb")
    run_ids = [f"twin-{secrets.token_hex(3)}", f"twin-{secrets.token_hex(3)}"]
    logs = [tmp_path / f"{run_id}.log" for run_id in run_ids]
    runs = [_start(logs[0], run_ids[0]), _start(logs[1], run_ids[1], "-n", "2")]
    for run in runs:
        run.wait(timeout=900)
    outputs = [log.read_text(errors="replace") for log in logs]
    for run_id, run, output in zip(run_ids, runs, outputs, strict=True):
        assert run.returncode == 0, f"run {run_id} failed:\n{output[-3000:]}"
        summary = re.findall(r"^(?:=+ )?(\d+ passed.*) in [\d.]+s", output, re.MULTILINE)
        assert summary and not re.search(r"\d+ (failed|errors?)\b", summary[-1]), \
            output[-1500:]
        assert f"trove-it-{run_id}" in output, "the run did not take a cloud of its own"
    assert not _leftovers(run_ids), _leftovers(run_ids)
