"""Create a local cloud's Trove database in one process.

Does what thirteen ``trove-manage`` runs would (schema, datastores, versions,
validation rules) in a few seconds instead of half a minute, and in the order
that works: ``datastore_version_update`` silently does nothing for a
datastore that does not exist yet. Validation rules are loaded from a copy
whose bounds are clamped to SQLite's signed 64-bit integers.

Usage: ``python -m trove_it.localcloud.lifecycle.bootstrap --config-file trove.conf``
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any

SQLITE_MAX = 2 ** 63 - 1
SQLITE_MIN = -(2 ** 63)
LOCAL_GUEST_CLASS = "trove_it.localcloud.guest.agent.GuestAPI"
LOCAL_REPLICATION = "trove_it.localcloud.guest.replication"


def clamp_rules(rules: dict[str, Any]) -> dict[str, Any]:
    """Clamp min/max bounds that SQLite cannot store (pure, unit-tested)."""
    clamped = json.loads(json.dumps(rules))
    for param in clamped.get("configuration-parameters", []):
        for key in ("min", "max"):
            value = param.get(key)
            if isinstance(value, int) and not isinstance(value, bool):
                param[key] = max(SQLITE_MIN, min(SQLITE_MAX, value))
    return clamped


def validation_rules_path(datastore: str) -> Path | None:
    import trove

    path = Path(trove.__file__).parent / "templates" / datastore / "validation-rules.json"
    return path if path.exists() else None


def bootstrap() -> None:
    import trove.cmd  # noqa: F401  (eventlet monkey patching, as every Trove command)
    from oslo_log import log as logging
    from trove.common import cfg

    cfg.parse_args(sys.argv)
    logging.setup(cfg.CONF, "trove")
    from trove.common.constants import REGISTRY_EXT_DEFAULTS
    from trove.configuration import models as config_models
    from trove.datastore import models as datastore_models
    from trove.db import get_db_api

    from trove_it.localcloud.datastores import LOCAL_IMAGE_ID, LOCAL_IMAGE_TAGS, SERVED

    get_db_api().db_sync(cfg.CONF)
    with tempfile.TemporaryDirectory(prefix="trove-it-rules-") as scratch:
        for ds in SERVED:
            datastore_models.update_datastore(ds.name, "")
            # Trove only knows a guest manager class for mysql, mariadb and
            # postgresql; the column is mandatory, so name the local guest.
            # Datastores without replication options get a name too, else
            # Trove looks up options their config group does not have.
            registry_ext = REGISTRY_EXT_DEFAULTS.get(ds.manager) or LOCAL_GUEST_CLASS
            group = cfg.CONF.get(ds.manager)
            repl_strategy = None if "replication_namespace" in group else LOCAL_REPLICATION
            for version in ds.versions:
                datastore_models.update_datastore_version(
                    ds.name, version, ds.manager, LOCAL_IMAGE_ID, list(LOCAL_IMAGE_TAGS), "", 1,
                    registry_ext=registry_ext, repl_strategy=repl_strategy)
            datastore_models.update_datastore(ds.name, ds.default_version)
            rules = validation_rules_path(ds.name)
            if rules is None:
                continue
            clamped = Path(scratch) / f"{ds.name}.json"
            clamped.write_text(json.dumps(clamp_rules(json.loads(rules.read_text()))))
            for version in ds.versions:
                config_models.load_datastore_configuration_parameters(
                    ds.name, version, str(clamped))
    _use_wal(cfg.CONF.database.connection)
    print("trove-it bootstrap complete")


def _use_wal(connection: str) -> None:
    """Readers must not block writers: Trove leaves read sessions open, and a
    blocked writer stalls the whole eventlet process in SQLite's busy wait."""
    import sqlite3

    path = connection.split("sqlite:///", 1)[1]
    with sqlite3.connect(path) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


if __name__ == "__main__":
    bootstrap()
    sys.exit(0)
