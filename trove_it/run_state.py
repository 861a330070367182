"""State shared by every process of one run: a directory, a lock and a file.

Under pytest-xdist each worker is its own process with its own session
fixtures; provisioning (starting the local cloud, registering flavors and
datastore versions) must still happen once per run. The first worker to
need something does it under the run's file lock and records it here; the
others read it; the controller undoes it at the very end.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from filelock import FileLock


def runs_root() -> Path:
    return Path(os.environ.get("TROVE_IT_RUNS_ROOT") or
                Path(tempfile.gettempdir()) / f"trove-it-runs-{os.getuid()}")


class RunState:
    def __init__(self, run_id: str, root: Path | None = None):
        self.run_id = run_id
        self.dir = (root or runs_root()) / run_id
        self.dir.mkdir(parents=True, exist_ok=True)
        self._file = self.dir / "state.json"
        self._lock = FileLock(str(self.dir / "lock"))

    @contextmanager
    def locked(self) -> Iterator[dict[str, Any]]:
        """Read-modify-write the shared state under the run's lock."""
        with self._lock:
            data = self.read()
            try:
                yield data
            finally:
                # Written even when the block fails: what it recorded (a cloud it
                # started, say) must still be undone at the end.
                tmp = self._file.with_suffix(".tmp")
                tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
                tmp.replace(self._file)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[None]:
        """Hold a named lock of this run: for work two workers must not overlap
        on (changing one project's quota, say)."""
        with FileLock(str(self.dir / f"{name}.lock")):
            yield

    def read(self) -> dict[str, Any]:
        try:
            return dict(json.loads(self._file.read_text()))
        except (OSError, ValueError):
            return {}

    def remove(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
