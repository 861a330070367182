"""All guests of the cloud, keyed by Trove instance id."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trove_it.localcloud.guest.agent import GuestAPI
from trove_it.localcloud.guest.host import GuestHost
from trove_it.localcloud.guest.tls import GuestTLS
from trove_it.localcloud.guest.vm import GuestVM

if TYPE_CHECKING:
    from trove_it.localcloud.drivers.compute import Server


class GuestRegistry:
    """The guests, and what happens to them when nova acts on their servers."""

    def __init__(self, host: GuestHost):
        self.host = host
        self._vms: dict[str, GuestVM] = {}
        self._lock = threading.Lock()

    def vm(self, instance_id: str) -> GuestVM:
        with self._lock:
            vm = self._vms.get(instance_id)
            if vm is None:
                vm = self._vms[instance_id] = GuestVM(self.host, instance_id)
            return vm

    def api(self, context: Any, instance_id: str) -> GuestAPI:
        """The guest agent API Trove calls for this instance."""
        return GuestAPI(context, self.vm(instance_id))

    def find(self, instance_id: str) -> GuestVM | None:
        return self._vms.get(instance_id)

    def all(self) -> list[GuestVM]:
        return list(self._vms.values())

    def for_server(self, server: Server) -> GuestVM | None:
        instance_id = server.trove_instance_id
        return self._vms.get(instance_id) if instance_id else None

    def capture_server(self, server_id: str, target: Path) -> dict[str, Any]:
        """A volume snapshot's data: the engine of the guest on that server,
        dumped to ``target``; returns what the engine needs to load it."""
        vm = next((v for v in self.all() if v.server_id == server_id), None)
        if vm is None or vm.engine is None:
            raise RuntimeError(f"server {server_id} runs no database to snapshot")
        return vm.engine.backup(target)

    def boot(self, server: Server) -> None:
        """Nothing to start: a stand-in guest comes to life at Trove's prepare."""

    def power_off(self, server: Server) -> None:
        """Nothing to stop: nova's stop only marks the server SHUTOFF here."""

    def power_cycle(self, server: Server) -> None:
        vm = self.for_server(server)
        if vm is not None:
            vm.power_cycle()

    def destroy(self, server: Server) -> None:
        instance_id = server.trove_instance_id
        with self._lock:
            vm = self._vms.pop(instance_id, None) if instance_id else None
        if vm is not None:
            vm.destroy()
        shutil.rmtree(self.host.instance_dir(server.id), ignore_errors=True)

    def shutdown(self) -> None:
        for vm in self.all():
            vm.halt()

    # hand-over across a server restart (lifecycle/hand_over) -----------
    def snapshot(self) -> dict[str, Any]:
        return {vm.instance_id: vm.record() for vm in self.all() if vm.engine is not None}

    def adopt(self, snapshot: dict[str, Any]) -> list[str]:
        """Take over the previous server's guests; returns the instance ids
        whose guest could not be resumed, with the reason."""
        problems = []
        for instance_id, record in snapshot.items():
            try:
                vm = self.vm(instance_id)
                vm.adopt(record)
                GuestTLS(vm, vm.ensure_engine()).resume()
            except Exception as exc:  # noqa: BLE001 - one lost guest must not stop the cloud
                problems.append(f"{instance_id}: {type(exc).__name__}: {exc}")
        return problems
