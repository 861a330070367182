"""Barbican's secrets as the key-manager endpoint keeps them: per project, in
the server's memory (a run's certificates are not worth keeping)."""

from __future__ import annotations

import datetime
import threading
from dataclasses import dataclass, field


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


@dataclass
class Secret:
    id: str
    project_id: str
    creator_id: str
    name: str | None
    secret_type: str
    payload: bytes | None
    content_type: str | None
    algorithm: str | None
    bit_length: int | None
    mode: str | None
    expiration: str | None
    created: str = field(default_factory=_now)
    consumers: list[dict[str, str]] = field(default_factory=list)


@dataclass
class SecretStore:
    secrets: dict[str, Secret] = field(default_factory=dict)
    project_quotas: dict[str, dict[str, int]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
