"""``pytest --cloud=devstack --provision --devstack-dir DIR``: the rendered
local.conf lands in DIR, stack.sh runs with its progress streamed, and its
failure is one line. A real stack.sh needs OpenStack's git repositories,
which this machine cannot reach, so DIR holds a stand-in stack.sh that checks
the local.conf it was given and fails the way a broken deployment does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
STAND_IN = """#!/bin/bash
echo "stand-in devstack: reading local.conf"
grep -q '^TROVE_DATASTORE_TYPE=mysql$' local.conf || { echo "local.conf names no mysql"; exit 3; }
grep -q '^enable_plugin trove-it ' local.conf || { echo "local.conf lacks trove-it"; exit 3; }
echo "stand-in devstack: cannot clone OpenStack repositories here"
exit 1
"""


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--datastore=mysql",
         "--cloud=devstack", "scenarios/test_api.py", *args],
        cwd=REPO, capture_output=True, text=True, timeout=300)


def test_provision_renders_local_conf_and_streams_stack_sh(tmp_path: Path) -> None:
    stack = tmp_path / "stack.sh"
    stack.write_text(STAND_IN)
    stack.chmod(0o755)
    (tmp_path / "local.conf").write_text("[[local|localrc]]\nOLD=1\n")
    result = _run("--provision", f"--devstack-dir={tmp_path}")
    output = result.stdout + result.stderr
    assert result.returncode not in (0, 1) and "Traceback" not in output, output[-3000:]
    assert "stack.sh: stand-in devstack: reading local.conf" in output
    errors = [line for line in output.splitlines() if line.startswith("ERROR: ")]
    assert errors == [f"ERROR: stack.sh in {tmp_path} failed with status 1: stand-in "
                      f"devstack: cannot clone OpenStack repositories here"], output[-2000:]
    conf = tmp_path / "local.conf"
    assert "TROVE_DATASTORE_VERSION=8.4" in conf.read_text()
    assert oct(conf.stat().st_mode & 0o777) == "0o600"
    assert (tmp_path / "local.conf.before-trove-it").read_text() == "[[local|localrc]]\nOLD=1\n"


def test_provision_without_a_devstack_dir_is_one_line(tmp_path: Path) -> None:
    result = _run("--provision", f"--devstack-dir={tmp_path / 'nowhere'}")
    errors = [line for line in (result.stdout + result.stderr).splitlines()
              if line.startswith("ERROR: ")]
    assert result.returncode == 4 and len(errors) == 1
    assert "--provision needs --devstack-dir, a devstack checkout with stack.sh" in errors[0]
