"""A PostgreSQL replica seeded while its source keeps checkpointing still
catches up: the source keeps enough WAL (its segments are 1 MB here, and every
replica snapshot forces a checkpoint) for a replica that starts streaming late.
Under -n 2 a second replica's snapshot once recycled the WAL the first still
needed, and the first never received another row."""

from __future__ import annotations

import time
from pathlib import Path

from trove_it.localcloud.engines.base import EngineContext, ReplicationSource
from trove_it.localcloud.engines.host import engine_templates, unprivileged_user
from trove_it.tests.conftest import require_engine


def _context(root: Path, name: str, address: str, server_id: int) -> EngineContext:
    (root / name).mkdir()
    return EngineContext(instance_id=name, root=root / name, address=address,
                         templates=engine_templates(), run_as=unprivileged_user(),
                         server_id=server_id)


def test_replica_started_after_source_checkpoints_catches_up(engine_root: Path) -> None:
    require_engine("postgresql")
    from trove_it.localcloud.engines.postgresql import PostgreSQLEngine

    source = PostgreSQLEngine(_context(engine_root, "source", "127.94.2.1", 1))
    replica = PostgreSQLEngine(_context(engine_root, "replica", "127.94.2.2", 2))
    try:
        source.initialize()
        source.start()
        user, password = source.replication_credentials()
        origin = ReplicationSource("127.94.2.1", source.port, user, password)
        replica.initialize()
        replica.seed_from(origin, None, {})
        replica.stop()  # the snapshot is taken; streaming starts later
        source.query("CREATE TABLE late (id int)")
        for round_ in range(12):  # 12 segments and checkpoints, as other snapshots force
            source.query(f"INSERT INTO late VALUES ({round_})")
            source.query("SELECT pg_switch_wal()")
            source.query("CHECKPOINT")
        replica.start()
        deadline = time.monotonic() + 30
        rows = 0
        while time.monotonic() < deadline:
            try:
                rows = int(replica.query("SELECT count(*) FROM late")[0][0])
            except Exception:  # noqa: BLE001 - the table has not arrived yet
                rows = 0
            if rows == 12:
                break
            time.sleep(0.2)
        assert rows == 12, f"the replica has {rows} of 12 rows written before it streamed"
    finally:
        replica.destroy()
        source.destroy()
