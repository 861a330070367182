"""Redis engine: serves the redis datastore.

One ``redis-server`` per instance on its address and port 6379. The guest
administers it over the instance's unix socket; enabling root sets
``requirepass``, so clients of the instance's address must then authenticate
as they would against Trove's Redis guest. Backups are RDB snapshots;
replicas follow their source with ``REPLICAOF``.
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import redis

from trove_it.localcloud.engines import binaries
from trove_it.localcloud.engines.base import (
    Engine,
    EngineError,
    ReplicationSource,
)
from trove_it.localcloud.engines.server_process import ServerProcess

STATE_FILE = "redis-state.json"
CLUSTER_SLOTS = 16384


def _arg(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


class RedisEngine(Engine):
    kind = "redis"
    port = 6379

    def __init__(self, ctx: Any):
        super().__init__(ctx)
        self.process = ServerProcess(ctx, "redis-server")
        self.password: str | None = None
        self.master_password: str | None = None
        self.cluster_enabled = False
        """A member of a Redis cluster (set before the server first starts)."""
        self._client: redis.Redis | None = None
        self._load_state()

    @property
    def socket(self) -> Path:
        return self.ctx.run_dir / "redis.sock"

    def _load_state(self) -> None:
        try:
            state = json.loads((self.ctx.root / STATE_FILE).read_text())
        except (OSError, ValueError):
            return
        self.password = state.get("password")
        self.master_password = state.get("master_password")
        self.cluster_enabled = bool(state.get("cluster_enabled"))

    def _save_state(self) -> None:
        path = self.ctx.root / STATE_FILE
        path.write_text(json.dumps({"password": self.password,
                                    "master_password": self.master_password,
                                    "cluster_enabled": self.cluster_enabled}))
        path.chmod(0o600)

    # lifecycle -------------------------------------------------------
    def initialize(self) -> None:
        self.ctx.data_dir.mkdir(parents=True, exist_ok=True)

    def _argv(self) -> list[str]:
        ctx = self.ctx
        argv = [binaries.require("redis", "redis-server"),
                "--bind", ctx.address, "--port", str(self.port), "--dir", str(ctx.data_dir),
                "--dbfilename", "dump.rdb", "--unixsocket", str(self.socket),
                "--unixsocketperm", "700", "--daemonize", "no", "--save", "",
                "--appendonly", "no", "--protected-mode", "no",
                # A source starts a replica's full sync at once, not after the
                # default 5 s wait for more replicas to batch with.
                "--repl-diskless-sync-delay", "0",
                "--logfile", str(ctx.log_dir / "redis.log"),
                "--pidfile", str(ctx.run_dir / "redis.pid")]
        if self.cluster_enabled:
            # The cluster bus listens on port + 10000 of the same address. Every
            # member shares one machine, so it announces its own loopback address
            # and dials others from it (else peers see 127.0.0.1 and call back there).
            argv += ["--cluster-enabled", "yes", "--cluster-config-file",
                     str(ctx.data_dir / "nodes.conf"), "--cluster-node-timeout", "5000",
                     "--cluster-announce-ip", ctx.address, "--bind-source-addr", ctx.address]
        if self.password:
            argv += ["--requirepass", self.password]
        if self.master_password:
            argv += ["--masterauth", self.master_password]
        for key, value in sorted(ctx.overrides.items()):
            argv += [f"--{key}", _arg(value)]
        return argv

    def start(self) -> None:
        self.process.start(self._argv(), ready=self._ping, timeout=60)

    def stop(self) -> None:
        if self.process.alive():
            try:
                # Save on the way down, as a Trove Redis guest (RDB save points
                # in its config) does: a restart or resize keeps the data.
                self.client().shutdown(save=True)
            except (redis.RedisError, OSError):
                pass
        self.process.stop()
        if self._client is not None:
            self._client.close()
            self._client = None

    def kill(self) -> None:
        self.process.kill()
        if self._client is not None:
            self._client.close()
            self._client = None

    def is_running(self) -> bool:
        if not self.process.alive():
            return False
        try:
            return self._ping()
        except (redis.RedisError, OSError):
            return False

    def _ping(self) -> bool:
        return bool(self.client().ping())

    def client(self) -> redis.Redis:
        """One client (with its own connection pool) while the password holds."""
        current = self._client
        if current is None or current.connection_pool.connection_kwargs.get("password") \
                != self.password:
            if current is not None:
                current.close()
            current = self._client = redis.Redis(
                unix_socket_path=str(self.socket), password=self.password, socket_timeout=10,
                decode_responses=True)
        return current

    def version(self) -> str:
        return str(self.client().info("server")["redis_version"])

    # root ------------------------------------------------------------
    def enable_root(self, password: str) -> str:
        self.client().config_set("requirepass", password)
        self.password = password
        self._save_state()
        return "-"

    def disable_root(self) -> None:
        self.client().config_set("requirepass", "")
        self.password = None
        self._save_state()

    # configuration ---------------------------------------------------
    def apply_live(self, values: dict[str, Any]) -> None:
        for key, value in values.items():
            self.client().config_set(key, _arg(value))

    def read_setting(self, name: str) -> str | None:
        values = self.client().config_get(name)
        return None if name not in values else str(values[name])

    # backup ----------------------------------------------------------
    def backup(self, target: Path) -> dict[str, Any]:
        self.client().save()
        shutil.copyfile(self.ctx.data_dir / "dump.rdb", target)
        return {"root_password_set": bool(self.password)}

    def restore(self, source: Path, metadata: dict[str, Any]) -> None:
        self.stop()
        shutil.copyfile(source, self.ctx.data_dir / "dump.rdb")
        self.start()

    # replication -----------------------------------------------------
    def replication_credentials(self) -> tuple[str, str]:
        return "", self.password or ""

    def replication_position(self) -> dict[str, Any]:
        info = self.client().info("replication")
        return {"offset": int(info.get("master_repl_offset", 0))}

    def seed_from(self, source: ReplicationSource, snapshot: Path | None,
                  metadata: dict[str, Any]) -> None:
        """Redis replicas resynchronise in full on their own when they follow."""

    def follow(self, source: ReplicationSource) -> None:
        self.master_password = source.password or None
        self._save_state()
        client = self.client()
        client.config_set("masterauth", source.password or "")
        client.replicaof(source.host, source.port)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            info = client.info("replication")
            if info.get("master_link_status") == "up":
                return
            time.sleep(0.2)
        raise EngineError(f"redis replica did not sync with {source.host} within 30s")

    def unfollow(self) -> None:
        self.client().replicaof("NO", "ONE")
        self.master_password = None
        self._save_state()

    def set_read_only(self, read_only: bool) -> None:
        self.client().config_set("replica-read-only", "yes" if read_only else "no")

    def last_transaction(self) -> str | None:
        return str(self.replication_position()["offset"])

    def wait_for_transaction(self, txn: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            info = self.client().info("replication")
            if int(info.get("slave_repl_offset", info.get("master_repl_offset", 0))) >= int(txn):
                return
            time.sleep(0.2)
        raise EngineError(f"redis replica did not reach offset {txn} within {timeout}s")

    # cluster ---------------------------------------------------------
    def enable_cluster(self) -> None:
        """Make this server a cluster member from its first start on."""
        self.cluster_enabled = True
        self._save_state()

    def cluster_node_id(self) -> str:
        return str(self.client().execute_command("CLUSTER", "MYID"))

    def cluster_meet(self, host: str, port: int) -> None:
        self.client().execute_command("CLUSTER", "MEET", host, int(port))

    def cluster_addslots(self, first: int, last: int) -> None:
        self.client().execute_command("CLUSTER", "ADDSLOTSRANGE", first, last)

    def cluster_own_slots(self) -> int:
        """How many hash slots this member serves."""
        for line in str(self.client().execute_command("CLUSTER", "NODES")).splitlines():
            fields = line.split()
            if len(fields) > 2 and "myself" in fields[2].split(","):
                return sum(_slot_count(spec) for spec in fields[8:])
        return 0

    def cluster_forget(self, node_id: str) -> None:
        self.client().execute_command("CLUSTER", "FORGET", node_id)

    def cluster_info(self) -> dict[str, str]:
        text = str(self.client().execute_command("CLUSTER", "INFO"))
        return dict(line.split(":", 1) for line in text.splitlines() if ":" in line)

    # logs ------------------------------------------------------------
    def log_files(self) -> dict[str, Path]:
        return {"redis": self.ctx.log_dir / "redis.log"}


def _slot_count(spec: str) -> int:
    """'0-8191' -> 8192, '42' -> 1; migrating/importing markers ('[...]') count 0."""
    if spec.startswith("["):
        return 0
    first, _, last = spec.partition("-")
    return int(last or first) - int(first) + 1
