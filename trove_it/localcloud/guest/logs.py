"""Guest logs: list, enable, disable, publish and discard, as Trove's guest does.

Publishing writes the new part of the log file to the instance tenant's
``database_logs`` container under ``<instance>/<manager>-<log>/`` with an
``x-object-meta-lines`` header on every part, which is what python-
troveclient's log reader needs, plus the metafile beside the prefix. The
status rules (Disabled, Enabled, Ready, Partial, Published, Rotated) follow
Trove's own guest log, which never shows a log as "Restart Required": an
engine that must restart to log marks the instance instead.
"""

from __future__ import annotations

import datetime
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trove_it.localcloud.drivers.objectstore import SwiftConnection

SYS = "SYS"
USER = "USER"
CONTAINER = "database_logs"
CHUNK_LIMIT = 1_000_000
EXPIRY = "2592000"


@dataclass(frozen=True)
class LogDef:
    name: str
    type: str
    restart_to_toggle: bool = False


def log_defs(manager: str) -> list[LogDef]:
    """The logs each datastore's guest defines (Trove 26 defines mysql,
    mariadb and postgresql; the others get the guest's own log, plus the
    ``system`` log Trove exposes for cassandra by default)."""
    defs = [LogDef("guest", SYS)]
    if manager in ("mysql", "mariadb", "percona", "pxc"):
        defs += [LogDef("general", USER), LogDef("slow_query", USER), LogDef("error", SYS)]
    elif manager == "postgresql":
        defs += [LogDef("general", USER, restart_to_toggle=True)]
    elif manager == "cassandra":
        defs += [LogDef("system", USER)]
    return defs


class LogNotDefined(LookupError):
    pass


class GuestLog:
    def __init__(self, definition: LogDef, file: Path, instance_id: str, manager: str):
        self.defn = definition
        self.file = file
        self.instance_id = instance_id
        self.manager = manager
        self.enabled = definition.type == SYS
        self.status = "Enabled" if definition.type == SYS else "Disabled"
        self.published = 0
        self.header_digest = ""

    @property
    def prefix(self) -> str:
        return f"{self.instance_id}/{self.manager}-{self.defn.name}/"

    @property
    def metafile(self) -> str:
        return self.prefix.rstrip("/") + "_metafile"

    def _size(self) -> int:
        try:
            return self.file.stat().st_size
        except OSError:
            return 0

    def _digest(self) -> str:
        try:
            with self.file.open("rb") as handle:
                return hashlib.md5(handle.readline()).hexdigest()
        except OSError:
            return ""

    def refresh(self) -> None:
        size = self._size()
        if self.status == "Disabled":
            return
        rotated = self.published > 0 and (size < self.published or
                                          self.header_digest != self._digest())
        if rotated:
            self.status = "Rotated"
        elif size > self.published:
            self.status = "Partial" if self.published else "Ready"
        else:
            self.status = "Published" if self.published else "Enabled"

    def show(self) -> dict[str, Any]:
        self.refresh()
        size = self._size()
        pending = size if self.status == "Rotated" else max(0, size - self.published)
        return {
            "name": self.defn.name, "type": self.defn.type, "status": self.status,
            "published": self.published, "pending": pending,
            "container": CONTAINER if self.published else "None",
            "prefix": self.prefix if self.published else "None",
            "metafile": self.metafile,
        }

    # swift --------------------------------------------------------------
    def _ensure_container(self, swift: SwiftConnection) -> None:
        swift.put_container(CONTAINER, headers={"X-Container-Meta-Trove": "guest-logs"})

    def publish(self, swift: SwiftConnection) -> None:
        self._ensure_container(swift)
        if self.published and (self._size() < self.published or
                               self.header_digest != self._digest()):
            self.discard(swift)
        if not self.file.exists():
            raise RuntimeError(f"Cannot publish log file '{self.file}' as it does not exist.")
        with self.file.open("r", errors="replace") as handle:
            handle.seek(self.published)
            text = handle.read()
        parts: list[str] = []
        current: list[str] = []
        length = 0
        for line in text.splitlines():
            if current and length + len(line) + 1 > CHUNK_LIMIT:
                parts.append("\n".join(current) + "\n")
                current, length = [], 0
            current.append(line)
            length += len(line) + 1
        if current:
            parts.append("\n".join(current) + "\n")
        for part in parts:
            stamp = str(datetime.datetime.now(datetime.UTC).replace(tzinfo=None)).replace(" ", "T")
            swift.put_object(CONTAINER, f"{self.prefix}log-{stamp}", part,
                             headers={"x-object-meta-lines": str(part.count("\n")),
                                      "X-Delete-After": EXPIRY})
        self.published += len(text.encode(errors="replace")) if parts else 0
        self.published = min(self.published, self._size())
        self.header_digest = self._digest()
        swift.put_object(CONTAINER, self.metafile, json.dumps({
            "log_name": self.defn.name, "log_type": self.defn.type, "log_file": str(self.file),
            "log_size": self.published, "log_header_digest": self.header_digest}),
            headers={"X-Delete-After": EXPIRY})

    def discard(self, swift: SwiftConnection) -> None:
        self._ensure_container(swift)
        _, objects = swift.get_container(CONTAINER, prefix=self.prefix)
        for obj in objects:
            swift.delete_object(CONTAINER, obj["name"])
        try:
            swift.delete_object(CONTAINER, self.metafile)
        except Exception:  # noqa: BLE001 - no metafile yet
            pass
        self.published = 0
