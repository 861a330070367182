"""What the upgrade-survival phases hand each other across invocations.

Grenade (or ``trove-it cloud upgrade-run``) calls the phases in separate
processes, before and after upgrading the cloud: ``create`` makes resources
and records them here, ``verify`` and ``verify_noapi`` check them (on either
side of the upgrade), ``destroy`` removes them and this file. The file holds
the helper user's password, so it is readable by its owner only.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from filelock import FileLock

from trove_it.errors import UserError

PHASES = ("create", "verify", "verify_noapi", "destroy")
SIDES = ("pre", "post")


def default_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trove-it" / "upgrade-state.json"


@dataclass
class SavedDatastore:
    """One datastore's resources made by ``create``."""

    datastore: str
    version: str
    instance_id: str
    instance_name: str
    address: str
    user: str | None
    password: str | None
    database: str | None
    data: str
    """The DATA_SETS label of the rows written before the upgrade."""
    backup_id: str | None = None
    configuration_id: str | None = None
    configuration_values: dict[str, Any] = field(default_factory=dict)


@dataclass
class UpgradeState:
    run_id: str
    datastores: dict[str, SavedDatastore] = field(default_factory=dict)
    checks: list[str] = field(default_factory=list)
    """Each phase that passed, as ``phase@side``."""


def _lock(path: Path) -> FileLock:
    path.parent.mkdir(parents=True, exist_ok=True)
    return FileLock(str(path.with_suffix(".lock")))


def load(path: Path, phase: str) -> UpgradeState:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"--upgrade-phase {phase}: no saved upgrade state at {path}; run "
                        f"--upgrade-phase create first") from None
    except (OSError, ValueError) as exc:
        raise UserError(f"--upgrade-phase {phase}: cannot read the upgrade state at {path}: "
                        f"{exc}") from None
    saved = {name: SavedDatastore(**entry) for name, entry in data["datastores"].items()}
    return UpgradeState(data["run_id"], saved, list(data.get("checks", [])))


def _write(state: UpgradeState, path: Path) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        json.dump(asdict(state), out, indent=2)
    tmp.replace(path)


def record(path: Path, run_id: str, saved: SavedDatastore) -> None:
    """Add (or replace) one datastore's resources; xdist workers may write at once."""
    with _lock(path):
        try:
            state = load(path, "create")
        except UserError:
            state = UpgradeState(run_id)
        if state.run_id != run_id:
            state = UpgradeState(run_id)  # a new create starts over
        state.datastores[saved.datastore] = saved
        _write(state, path)


def note_check(path: Path, check: str) -> None:
    with _lock(path):
        state = load(path, check)
        if check not in state.checks:
            state.checks.append(check)
            _write(state, path)


def forget(path: Path, datastore: str) -> bool:
    """Drop one datastore's entry; the file goes with the last one (then True)."""
    with _lock(path):
        try:
            state = load(path, "destroy")
        except UserError:
            return False
        state.datastores.pop(datastore, None)
        if state.datastores:
            _write(state, path)
            return False
        path.unlink(missing_ok=True)
        return True
