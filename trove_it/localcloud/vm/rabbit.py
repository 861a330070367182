"""The message bus of a ``vm`` cloud: a RabbitMQ node of its own.

Trove's control plane and its guest agents talk over oslo.messaging's rabbit
driver. Each cloud runs its own node (from Debian's rabbitmq-server), on
ports of its own, with its own Erlang port mapper, so nothing is shared with
another cloud or with a RabbitMQ the machine may run. Its user and vhost
come from a definitions file read at boot (RabbitMQ's ``guest`` user only
logs in over loopback, and guests are not on it). Every process is the
server's child and dies with it; their pidfiles let ``cloud down`` reap
them after a crash.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from trove_it.localcloud.lifecycle import processes

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
START_TIMEOUT = 60.0
USER = "trove-it"
VHOST = "trove"


class BusError(RuntimeError):
    """The node did not start; the message says why and where its log is."""


@dataclass(frozen=True)
class BusSettings:
    port: int
    epmd_port: int
    dist_port: int
    password: str

    def url(self, host: str, port: int | None = None) -> str:
        return f"rabbit://{USER}:{self.password}@{host}:{port or self.port}/{VHOST}"


def missing() -> str | None:
    """Why this machine cannot run the bus, or None."""
    if not SERVER.exists() or shutil.which("epmd") is None:
        return "rabbitmq-server (apt-get install rabbitmq-server)"
    return None


def _password_hash(password: str) -> str:
    """RabbitMQ's stored form: base64(salt + sha256(salt + password))."""
    salt = os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


class MessageBus:
    def __init__(self, root: Path, settings: BusSettings):
        self.root = root
        self.settings = settings

    @property
    def log(self) -> Path:
        return self.root / "rabbit.log"

    def _write_config(self) -> dict[str, str]:
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        defs = self.root / "definitions.json"
        defs.write_text(json.dumps({
            "users": [{"name": USER, "password_hash": _password_hash(self.settings.password),
                       "hashing_algorithm": "rabbit_password_hashing_sha256", "tags": ""}],
            "vhosts": [{"name": VHOST}],
            "permissions": [{"user": USER, "vhost": VHOST, "configure": ".*",
                             "write": ".*", "read": ".*"}]}))
        defs.chmod(0o600)
        (self.root / "rabbitmq.conf").write_text(
            f"listeners.tcp.1 = 127.0.0.1:{self.settings.port}\n"
            f"definitions.import_backend = local_filesystem\n"
            f"definitions.local.path = {defs}\n"
            f"log.console = false\n"
            f"log.file = {self.log}\n")
        (self.root / "enabled_plugins").write_text("[].\n")
        s = self.settings
        return {
            "HOME": str(self.root), "ERL_EPMD_PORT": str(s.epmd_port),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODENAME": f"trove-it-{s.port}@localhost",
            "RABBITMQ_CONFIG_FILE": str(self.root / "rabbitmq"),
            "RABBITMQ_MNESIA_BASE": str(self.root / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.root), "RABBITMQ_LOGS": str(self.log),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.root / "enabled_plugins"),
            "RABBITMQ_DIST_PORT": str(s.dist_port),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
            "RABBITMQ_PID_FILE": str(self.root / "rabbit.erl.pid"),
            # In the foreground the start script execs the node (the same pid,
            # which dies with the server); otherwise it forks it and waits.
            "RUNNING_UNDER_SYSTEMD": "true",
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "LANG": "C.UTF-8",
        }

    def start(self) -> None:
        env = self._write_config()
        processes.spawn(["epmd", "-port", str(self.settings.epmd_port), "-address",
                         "127.0.0.1"], log=self.root / "epmd.out",
                        pidfile=self.root / "epmd.pid", env=env)
        server = processes.spawn([str(SERVER)], log=self.root / "rabbit.out",
                                 pidfile=self.root / "rabbit.pid", env=env, cwd=self.root)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise BusError(f"RabbitMQ exited ({server.returncode}) at start-up; see "
                               f"{self.root / 'rabbit.out'} and {self.log}")
            if self._accepts():
                return
            time.sleep(0.2)
        raise BusError(f"RabbitMQ did not listen on 127.0.0.1:{self.settings.port} within "
                       f"{START_TIMEOUT:.0f} s; see {self.log}")

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.settings.port), timeout=1):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        reap(self.root)


def reap(root: Path) -> None:
    """Stop the node and its port mapper by pidfile (also what a crashed server left)."""
    for name in ("rabbit.pid", "epmd.pid"):
        processes.reap_pidfile(root / name)
