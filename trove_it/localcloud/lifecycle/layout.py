"""Where a local cloud keeps its files.

One state directory holds everything a cloud owns, so that ``cloud down``
can remove it all and two clouds never share a file.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

DEFAULT_NAME = "trove-it-local"
CLOUD_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


def cloud_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a local cloud (it names a directory and the
    clouds.yaml entries), or None when it can."""
    if CLOUD_NAME.match(name):
        return None
    return (f"a local cloud's name must be a plain word of letters, digits, '-' or '_' "
            f"(at most 63, starting with a letter or digit), not {name!r}")


def default_state_root() -> Path:
    """Root under which named clouds live unless ``--state-dir`` is given.

    It is world-traversable on purpose: PostgreSQL refuses to run as root, so
    its engine processes run as an unprivileged user who must reach its
    data directory.
    """
    override = os.environ.get("TROVE_IT_STATE_ROOT")
    if override:
        return Path(override)
    return Path(tempfile.gettempdir()) / f"trove-it-{os.getuid()}"


def default_state_dir(name: str) -> Path:
    return default_state_root() / name


@dataclass(frozen=True)
class StateLayout:
    """Paths inside one cloud's state directory."""

    root: Path

    @property
    def descriptor(self) -> Path:
        return self.root / "cloud.json"

    @property
    def trove_conf(self) -> Path:
        return self.root / "trove.conf"

    @property
    def paste_ini(self) -> Path:
        return self.root / "api-paste.ini"

    @property
    def database(self) -> Path:
        return self.root / "trove.sqlite"

    @property
    def server_log(self) -> Path:
        return self.root / "server.log"

    @property
    def server_pidfile(self) -> Path:
        return self.root / "server.pid"

    @property
    def hand_over(self) -> Path:
        """A survivable cloud's driver and guest state, left for the next server."""
        return self.root / "hand-over.json"

    @property
    def hand_over_request(self) -> Path:
        """Present while the launcher asks the server to hand over at its stop."""
        return self.root / "hand-over.request"

    @property
    def db_sync_output(self) -> Path:
        """What the last resume's ``trove-manage db_sync`` printed."""
        return self.root / "db-sync.out"

    @property
    def clouds_yaml(self) -> Path:
        return self.root / "clouds.yaml"

    @property
    def identity(self) -> Path:
        return self.root / "identity.json"

    @property
    def objects(self) -> Path:
        return self.root / "objects"

    @property
    def images(self) -> Path:
        return self.root / "images"

    @property
    def instances(self) -> Path:
        return self.root / "instances"

    def instance_dir(self, server_id: str) -> Path:
        return self.instances / server_id

    def engine_pidfiles(self) -> list[Path]:
        if not self.instances.is_dir():
            return []
        return sorted(self.instances.glob("*/engine.pid"))


@dataclass
class CloudDescriptor:
    """What a running cloud tells its clients: written by the launcher."""

    name: str
    state_dir: str
    url: str
    port: int
    pid: int
    network_cidr: str
    clouds_yaml: str
    started_at: float
    # The pytest run that started the cloud and stops it when it ends; None
    # for one started otherwise (``trove-it cloud up``), which runs may share.
    owner_pid: int | None = None
    profile: str = "default"
    trove: str = ""
    trove_spec: str = "installed"
    """The Trove it runs: its version, or a checkout's commit (``--trove``)."""

    def save(self, layout: StateLayout) -> None:
        layout.descriptor.write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, layout: StateLayout) -> CloudDescriptor | None:
        try:
            data = json.loads(layout.descriptor.read_text())
        except (OSError, ValueError):
            return None
        return cls(**data)
