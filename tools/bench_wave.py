"""Benchmark the scenario wave of issue 4 for one datastore and print:

- the wall time of the whole wave (target <= 90 s on a 2-core machine) and
  the number of instances it created,
- the wall time of one test rerun from cold: a fresh pytest process that
  starts its own local cloud (target <= 15 s).

Usage: python tools/bench_wave.py [--datastore mysql] [--test NODEID]
"""

from __future__ import annotations

import argparse
import secrets
import subprocess
import sys
import time
from pathlib import Path

from trove_it.clients import connect
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.launcher import LocalCloud

REPO = Path(__file__).resolve().parents[1]
WAVE = ["scenarios/test_api.py", "scenarios/test_instance_create.py",
        "scenarios/test_instance_actions.py", "scenarios/test_databases.py",
        "scenarios/test_users.py", "scenarios/test_root.py",
        "scenarios/test_instance_delete.py", "scenarios/test_instance_errors.py"]
WAVE_TARGET = 90.0
RERUN_TARGET = 15.0


def pytest(*args: str) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             *args], cwd=REPO, capture_output=True, text=True)
    return time.monotonic() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datastore", default="mysql")
    parser.add_argument("--test", default="scenarios/test_databases.py::test_pagination",
                        help="the test to rerun from cold")
    args = parser.parse_args()
    modules = [m for m in WAVE if (REPO / m).exists()]

    name = f"trove-it-wave-{secrets.token_hex(3)}"
    cloud = LocalCloud(name)
    desc = cloud.up()
    try:
        run_id = secrets.token_hex(4)
        elapsed, result = pytest(*modules, f"--datastore={args.datastore}",
                                 f"--local-cloud={name}", f"--run-id={run_id}")
        summary = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "?"
        admin = connect(cloud_names(name)["admin"], Path(desc.clouds_yaml))
        created = [i for i in admin.trove.mgmt_instances.list(deleted=True)
                   if i.name.startswith(f"trove-it-{run_id}-")]
        verdict = "OK" if elapsed <= WAVE_TARGET and result.returncode == 0 else "NOT MET"
        print(f"wave ({len(modules)} modules, --datastore={args.datastore}): {elapsed:.1f} s, "
              f"{len(created)} instances created; {summary} "
              f"(target <= {WAVE_TARGET:.0f} s) {verdict}")
    finally:
        cloud.down()

    test = f"{args.test}[{args.datastore}]"
    elapsed, result = pytest(test, f"--datastore={args.datastore}")
    verdict = "OK" if elapsed <= RERUN_TARGET and result.returncode == 0 else "NOT MET"
    print(f"one test from cold ({test}, starting its own local cloud): {elapsed:.1f} s "
          f"(target <= {RERUN_TARGET:.0f} s) {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
