"""What every engine behind the guest offers, in plain values.

The guest turns Trove's serialized models into these values and back; an
engine knows only its server. Real engines run one server process per
instance, bound to the instance's loopback address on the datastore's
standard port, with their own data directory under the instance directory.
"""

from __future__ import annotations

import abc
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class EngineError(RuntimeError):
    """An engine operation failed; the message is what the guest reports."""


class NotSupported(EngineError):
    """The datastore does not offer this operation."""


@dataclass
class Database:
    name: str
    character_set: str | None = None
    collate: str | None = None


@dataclass
class User:
    name: str
    host: str | None = None
    password: str | None = None
    databases: list[str] = field(default_factory=list)


@dataclass
class ReplicationSource:
    """What a replica needs to follow its source."""

    host: str
    port: int
    user: str
    password: str
    position: dict[str, Any] = field(default_factory=dict)
    tls: bool = False
    """The source serves TLS and the replica holds the same CA: connect over it."""
    verify_tls: bool = False
    """Check the source's certificate too (Trove's mariadb strategy does; its
    mysql one only asks for TLS)."""


TLS_MODES = ("basic", "enforced", "mtls")


@dataclass
class TlsSettings:
    """An engine's TLS as Trove's guest configures it (``guest/tls``).

    ``files`` maps Trove's keys (private_key, certificate, ca) to PEM text.
    ``mode``: basic (TLS offered), enforced (TLS required), mtls (a client
    certificate required). ``require_secure_transport``: plain TCP refused in
    every mode (Trove's MySQL guest sets it; its MariaDB guest does not).
    """

    files: dict[str, str]
    mode: str
    require_secure_transport: bool = False


@dataclass
class EngineContext:
    """Where an instance's engine lives and how to reach it."""

    instance_id: str
    root: Path
    """The instance's directory: data, sockets, logs and pidfile live here."""
    address: str
    templates: Path
    """Cloud-wide cache of initialised data directories."""
    run_as: str | None
    """Unprivileged user for engines that refuse to run as root."""
    server_id: int = 1
    overrides: dict[str, Any] = field(default_factory=dict)
    outlives_server: bool = False
    """The engine process is not killed when the cloud's server dies: the
    server of a survivable cloud hands it over to its successor."""

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_dir(self) -> Path:
        return self.root / "log"

    @property
    def run_dir(self) -> Path:
        return self.root / "s"

    @property
    def pidfile(self) -> Path:
        return self.root / "engine.pid"


class Engine(abc.ABC):
    """One datastore server for one instance."""

    kind: str = "abstract"
    port: int = 0
    #: Names the guest hides from user and database listings.
    internal_users: frozenset[str] = frozenset()
    internal_databases: frozenset[str] = frozenset()

    def __init__(self, ctx: EngineContext):
        self.ctx = ctx

    # lifecycle -------------------------------------------------------
    @abc.abstractmethod
    def initialize(self) -> None:
        """Create an empty data directory for this instance."""

    @abc.abstractmethod
    def start(self) -> None:
        """Start the server and return once it accepts connections."""

    @abc.abstractmethod
    def stop(self) -> None:
        """Stop the server; a no-op when it is not running."""

    @abc.abstractmethod
    def is_running(self) -> bool:
        """True when the server process is alive and answers."""

    def restart(self) -> None:
        self.stop()
        self.start()

    def kill(self) -> None:
        """Stop at once, without a clean shutdown: the data is about to go."""
        self.stop()

    def destroy(self) -> None:
        """Stop the server and remove everything the instance owned."""
        self.kill()
        shutil.rmtree(self.ctx.root, ignore_errors=True)

    @property
    def real(self) -> bool:
        """False for the in-memory engine, which has no server to probe."""
        return True

    @abc.abstractmethod
    def version(self) -> str:
        """The server's own version string."""

    def disk_used_bytes(self) -> int:
        """Bytes in the data directory (Trove asks on every instance show)."""
        return _tree_size(str(self.ctx.data_dir))

    # databases -------------------------------------------------------
    def create_database(self, database: Database) -> None:
        raise NotSupported(f"{self.kind} has no databases")

    def delete_database(self, name: str) -> None:
        raise NotSupported(f"{self.kind} has no databases")

    def list_databases(self) -> list[Database]:
        raise NotSupported(f"{self.kind} has no databases")

    # users -----------------------------------------------------------
    def create_user(self, user: User) -> None:
        raise NotSupported(f"{self.kind} has no users")

    def delete_user(self, name: str, host: str | None) -> None:
        raise NotSupported(f"{self.kind} has no users")

    def list_users(self) -> list[User]:
        raise NotSupported(f"{self.kind} has no users")

    def update_user(self, name: str, host: str | None, new_name: str | None,
                    new_host: str | None, new_password: str | None) -> None:
        raise NotSupported(f"{self.kind} has no users")

    def grant(self, name: str, host: str | None, databases: list[str]) -> None:
        raise NotSupported(f"{self.kind} has no users")

    def revoke(self, name: str, host: str | None, database: str) -> None:
        raise NotSupported(f"{self.kind} has no users")

    # root ------------------------------------------------------------
    def enable_root(self, password: str) -> str:
        """Enable the superuser for remote login; returns its name."""
        raise NotSupported(f"{self.kind} has no root user")

    def disable_root(self) -> None:
        raise NotSupported(f"{self.kind} cannot disable root")

    # configuration ---------------------------------------------------
    def apply_live(self, values: dict[str, Any]) -> None:  # noqa: B027 - optional hook
        """Apply dynamic values to the running server."""

    def read_setting(self, name: str) -> str | None:
        return None

    # TLS ---------------------------------------------------------------
    def enable_tls(self, settings: TlsSettings) -> bool:
        """Install the certificates and the access mode; True when the server
        must restart to serve them."""
        raise NotSupported(f"{self.kind} has no TLS support here")

    def disable_tls(self) -> bool:
        """Stop offering TLS; True when the server must restart for it."""
        raise NotSupported(f"{self.kind} has no TLS support here")

    def tls_status(self) -> tuple[bool, str | None]:
        """Whether the running server serves TLS, and its certificate (PEM)."""
        return False, None

    # backup ----------------------------------------------------------
    @abc.abstractmethod
    def backup(self, target: Path) -> dict[str, Any]:
        """Write a full backup to ``target``; returns metadata to keep with it."""

    @abc.abstractmethod
    def restore(self, source: Path, metadata: dict[str, Any]) -> None:
        """Load a backup into this (fresh, running) instance."""

    # replication -----------------------------------------------------
    def replication_credentials(self) -> tuple[str, str]:
        raise NotSupported(f"{self.kind} does not replicate")

    def replication_password(self) -> str:
        """The password of this source's replication account, made once and kept:
        a replica that joins later must not lock out the ones already following."""
        path = self.ctx.root / "replication-password"
        try:
            return path.read_text().strip()
        except OSError:
            import secrets

            password = secrets.token_urlsafe(16)
            path.write_text(password)
            path.chmod(0o600)
            return password

    def replication_position(self) -> dict[str, Any]:
        raise NotSupported(f"{self.kind} does not replicate")

    def seed_from(self, source: ReplicationSource, snapshot: Path | None,
                  metadata: dict[str, Any]) -> None:
        """Make this fresh instance a copy of the source (before following it)."""
        raise NotSupported(f"{self.kind} does not replicate")

    def follow(self, source: ReplicationSource) -> None:
        raise NotSupported(f"{self.kind} does not replicate")

    def unfollow(self) -> None:
        raise NotSupported(f"{self.kind} does not replicate")

    def set_read_only(self, read_only: bool) -> None:
        raise NotSupported(f"{self.kind} does not replicate")

    def last_transaction(self) -> str | None:
        return None

    def wait_for_transaction(self, txn: str, timeout: float) -> None:  # noqa: B027
        """Block until this replica has applied ``txn``."""

    # logs ------------------------------------------------------------
    def log_files(self) -> dict[str, Path]:
        """Guest log name -> file the engine writes it to."""
        return {}

    def enable_log(self, name: str, enabled: bool) -> bool:
        """Switch a user log on or off; True when a restart is needed."""
        return False


def _tree_size(path: str) -> int:
    total = 0
    try:
        entries = list(os.scandir(path))
    except OSError:
        return 0
    for entry in entries:
        try:
            if entry.is_dir(follow_symlinks=False):
                total += _tree_size(entry.path)
            elif entry.is_file(follow_symlinks=False):
                total += entry.stat(follow_symlinks=False).st_size
        except OSError:
            continue
    return total
