"""``pytest --cloud=devstack --provision``: deploy the devstack, then test it.

The ``local.conf`` of ``devstack_conf`` goes into ``--devstack-dir`` (an
existing one is kept as ``local.conf.before-trove-it``), then that
checkout's ``stack.sh`` runs with its progress streamed to the terminal. A
failure is one line with stack.sh's exit status and its last words.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import deque
from pathlib import Path
from typing import TextIO

from trove_it import catalogue
from trove_it.errors import UserError
from trove_it.provisioning import devstack_conf
from trove_it.settings import Settings

# The versions Trove's own devstack jobs deploy.
DEFAULT_VERSIONS = {"mysql": "8.4", "mariadb": "11.4", "postgresql": "18"}


def render_into(settings: Settings, directory: Path) -> Path:
    name = settings.datastores[0]
    if not catalogue.get(name).guest_agent:
        raise UserError(f"datastore {name} has no guest agent in Trove 26, so a devstack "
                        f"Trove cannot run it")
    version = settings.datastore_version or DEFAULT_VERSIONS[name]
    image = Path(settings.image) if settings.image and Path(settings.image).is_file() else None
    target = directory / "local.conf"
    if target.exists():
        shutil.copy2(target, directory / "local.conf.before-trove-it")
    target.write_text(devstack_conf.render(devstack_conf.DevstackRequest(name, version, image)))
    target.chmod(0o600)  # it holds the admin password
    return target


def stack(settings: Settings, out: TextIO | None = None) -> None:
    """Render local.conf and run stack.sh, streaming it; one line on failure."""
    directory = settings.devstack_dir
    assert directory is not None
    render_into(settings, directory)
    stream = out or sys.stdout
    tail: deque[str] = deque(maxlen=5)
    process = subprocess.Popen(["./stack.sh"], cwd=directory, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, bufsize=1)
    assert process.stdout is not None
    for line in process.stdout:
        tail.append(line.rstrip())
        print(f"stack.sh: {line.rstrip()}", file=stream, flush=True)
    status = process.wait()
    if status != 0:
        last = next((line for line in reversed(tail) if line.strip()), "no output")
        raise UserError(f"stack.sh in {directory} failed with status {status}: {last[:200]}")
