"""One target cloud and its three accounts."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trove_it.clients import CloudClients, connect
from trove_it.errors import UserError

ROLES = ("member", "admin", "alt")


@dataclass
class LocalControl:
    """The local cloud's ``/_trove_it`` endpoint, used with admin credentials."""

    url: str
    admin: CloudClients

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.admin.session.request(f"{self.url}/_trove_it{path}", method,
                                              raise_exc=False, **kwargs)
        if response.status_code >= 400:
            raise RuntimeError(f"local cloud control {method} {path} answered "
                               f"{response.status_code}: {response.text[:200]}")
        return response.json() if response.content else None

    def status(self) -> dict[str, Any]:
        return dict(self._call("GET", "/status"))

    def guest(self, instance_id: str) -> dict[str, Any]:
        return dict(self._call("GET", f"/guests/{instance_id}")["guest"])

    def fail_guest(self, instance_id: str) -> None:
        self._call("POST", f"/guests/{instance_id}/fail")

    def recover_guest(self, instance_id: str) -> None:
        self._call("POST", f"/guests/{instance_id}/recover")

    def fail_next_server_create(self, message: str | None = None, count: int = 1,
                                name: str | None = None) -> None:
        """The next server create (of the instance named ``name``, if given) goes to
        ERROR with ``message`` as its fault."""
        self._call("POST", "/faults/next-server-create",
                   json={"message": message, "count": count, "name": name})

    def hold_next_build(self, name: str | None = None) -> None:
        """The guest of the next instance (named ``name``, if given) stays silent from
        the start: the instance stays in BUILD until it is deleted."""
        self._call("POST", "/faults/next-build-hold", json={"name": name})

    def hold_backups(self, instance_id: str) -> None:
        """Backups of this instance stop once BUILDING until ``release_backups``."""
        self._call("POST", f"/guests/{instance_id}/hold-backups")

    def release_backups(self, instance_id: str) -> None:
        self._call("POST", f"/guests/{instance_id}/release-backups")

    def clear_faults(self) -> None:
        """Drop the queued faults (``set_transient_faults`` stays as set)."""
        self._call("DELETE", "/faults")

    def set_transient_faults(self, body: dict[str, Any]) -> dict[str, Any]:
        """Fail a share of Trove API requests from now on (``api_faults``)."""
        return dict(self._call("PUT", "/faults/transient", json=body)["transient"])

    def transient_faults(self) -> dict[str, Any]:
        return dict(self._call("GET", "/faults/transient")["transient"])

    def vm(self, ref: str, lines: int = 100) -> dict[str, Any] | None:
        """A vm cloud's QEMU guest of an instance or server (its boot stages,
        verdict, console and agent log), or None when there is none (any more)."""
        response = self.admin.session.request(f"{self.url}/_trove_it/vms/{ref}?lines={lines}",
                                              "GET", raise_exc=False)
        if response.status_code == 404:
            return None
        if response.status_code >= 400:
            raise RuntimeError(f"local cloud control GET /vms/{ref} answered "
                               f"{response.status_code}: {response.text[:200]}")
        return dict(response.json()["vm"])

    def vms(self) -> list[dict[str, Any]]:
        """Every guest a vm cloud booted: the stages of each boot, in seconds."""
        return list(self._call("GET", "/vms")["vms"])

    def server_log(self, lines: int = 100) -> list[str]:
        return list(self._call("GET", f"/logs/server?lines={lines}")["lines"])

    def guest_log(self, instance_id: str, lines: int = 100) -> list[str]:
        return list(self._call("GET", f"/guests/{instance_id}/log?lines={lines}")["lines"])


@dataclass
class Target:
    kind: str
    description: str
    clouds_yaml: Path | None
    cloud_names: dict[str, str | None]
    local_url: str | None = None
    _probed: bool = False
    _local_status: dict[str, Any] | None = None
    _clients: dict[str, CloudClients] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def is_local(self) -> bool:
        return self.kind == "local"

    def has(self, role: str) -> bool:
        return bool(self.cloud_names.get(role))

    def clients(self, role: str = "member") -> CloudClients:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        with self._lock:
            if role not in self._clients:
                name = self.cloud_names.get(role)
                if not name:
                    raise UserError(f"the {self.kind} target has no {role} credentials; "
                                    f"give --os-cloud-{'admin' if role == 'admin' else 'alt'}")
                self._clients[role] = connect(name, self.clouds_yaml)
            return self._clients[role]

    def clients_or_none(self, role: str) -> CloudClients | None:
        """The role's clients when the target has its credentials (admin, alt)."""
        return self.clients(role) if self.has(role) else None

    @property
    def control(self) -> LocalControl | None:
        """The control endpoint of a trove-it local cloud, also when it is reached as
        an existing cloud through clouds.yaml; None on any other cloud."""
        if self.local_url is None and not self._probed and self.has("admin"):
            self._probed = True
            root = self.clients("admin").trove_endpoint.split("/v1.0", 1)[0]
            try:
                answer = self.clients("admin").session.get(f"{root}/_trove_it/status",
                                                           raise_exc=False)
                if answer.status_code == 200 and "unavailable_engines" in answer.text:
                    self.local_url = root
            except Exception:  # noqa: BLE001 - not a trove-it cloud
                pass
        if not self.local_url:
            return None
        return LocalControl(self.local_url, self.clients("admin"))

    def local_status(self) -> dict[str, Any]:
        """A local cloud's status (read once: what it says does not change); empty
        for any other cloud."""
        if self._local_status is None:
            control = self.control
            self._local_status = control.status() if control is not None else {}
        return self._local_status

    @property
    def guest_network(self) -> str | None:
        """The namespace a vm local cloud's instances live in: their addresses are
        reached from inside it. None on every other cloud."""
        return self.local_status().get("namespace")

    @property
    def runs_real_guests(self) -> bool:
        """A vm local cloud: Trove's own agent in QEMU guests, not the stand-in."""
        return self.local_status().get("profile") == "vm"
