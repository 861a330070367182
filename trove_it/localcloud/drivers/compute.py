"""Compute driver: nova servers and flavors as Trove's task manager sees them.

A server is the instance's "VM": creating one gives it a port (its loopback
address) and attaches its volume; deleting it stops the engine process that
lives "on" it. The API-level checks a real nova makes before booting
(unknown flavor, image or availability zone, a flavor disk smaller than the
image needs, a RAM quota) fail here with nova's own messages, so error-path
scenarios see what they would see on a real cloud.
"""

from __future__ import annotations

import builtins
import datetime
import threading
import uuid
from typing import Any, Protocol

from novaclient import api_versions
from novaclient import exceptions as nova_exc

from trove_it.localcloud.drivers.image import ImageStore
from trove_it.localcloud.drivers.network import NetworkDriver
from trove_it.localcloud.drivers.volume import ROOT_DEVICE, VolumeDriver
from trove_it.localcloud.faults import Faults

API_VERSION = "2.60"
RAM_QUOTA_MB = 51200
INSTANCE_QUOTA = 50
GB = 1024 ** 3
# nova deletes a server asynchronously: the VM stops at once, but the server
# lingers (task_state "deleting") for a moment, and so does the Trove instance
# waiting for it. Clients that look an instance up between their delete and
# its end (tempest's force-delete clean-up does, within ~0.1 s) rely on that
# window; every instance delete waits it out, so it is kept short.
DELETE_SECONDS = 0.5


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Flavor:
    def __init__(self, flavor_id: str, name: str, ram: int, vcpus: int, disk: int,
                 ephemeral: int = 0, swap: int = 0, is_public: bool = True,
                 extra_specs: dict[str, str] | None = None):
        self.id = str(flavor_id)
        self.name = name
        self.ram = int(ram)
        self.vcpus = int(vcpus)
        self.disk = int(disk)
        self.ephemeral = int(ephemeral)
        self.swap = swap or ""
        self.is_public = is_public
        self.rxtx_factor = 1.0
        self.extra_specs = dict(extra_specs or {})
        self.description = None

    def get_keys(self) -> dict[str, str]:
        return dict(self.extra_specs)

    def embedded(self) -> dict[str, Any]:
        """How a server shows its flavor from microversion 2.47 on."""
        return {"id": self.id, "original_name": self.name, "ram": self.ram,
                "vcpus": self.vcpus, "disk": self.disk, "ephemeral": self.ephemeral,
                "swap": self.swap or 0, "extra_specs": dict(self.extra_specs)}


# Flavors every local cloud starts with: devstack's defaults, so that the
# trove-tempest-plugin style ids (d2, d3) and m1.* names exist too.
DEFAULT_FLAVORS = (
    Flavor("1", "m1.tiny", 512, 1, 1),
    Flavor("2", "m1.small", 2048, 1, 20),
    Flavor("3", "m1.medium", 4096, 2, 40),
    Flavor("d1", "ds512M", 512, 1, 5),
    Flavor("d2", "ds1G", 1024, 1, 10),
    Flavor("d3", "ds2G", 2048, 2, 10),
    Flavor("d4", "ds4G", 4096, 4, 20),
)


class Server:
    """A nova server as novaclient's resource objects present it."""

    def __init__(self, driver: ComputeDriver, name: str, image_id: str, flavor: Flavor,
                 project_id: str, user_id: str, metadata: dict[str, str], tags: list[str],
                 availability_zone: str | None, userdata: Any, key_name: str | None):
        self._driver = driver
        self.id = str(uuid.uuid4())
        self.name = name
        # Nova shows "" for the image of a server booted from a volume.
        self.image: dict[str, str] | str = {"id": image_id} if image_id else ""
        self._flavor = flavor
        self._old_flavor: Flavor | None = None
        self.status = "BUILD"
        self.tenant_id = project_id
        self.user_id = user_id
        self.metadata = dict(metadata or {})
        self.tags = list(tags or [])
        self.key_name = key_name
        self.userdata = userdata
        self.created = _now()
        self.updated = self.created
        self.fault: dict[str, Any] | None = None
        self.hostId = "trove-it-local"
        self.networks: dict[str, list[str]] = {}
        setattr(self, "OS-EXT-AZ:availability_zone", availability_zone or "nova")
        setattr(self, "OS-EXT-SRV-ATTR:host", "trove-it-local")
        setattr(self, "OS-EXT-STS:task_state", None)

    # attributes derived from driver state ------------------------------
    @property
    def flavor(self) -> dict[str, Any]:
        return self._flavor.embedded()

    @property
    def flavor_id(self) -> str:
        return self._flavor.id

    @property
    def addresses(self) -> dict[str, list[dict[str, Any]]]:
        network = self._driver.network
        by_network: dict[str, list[dict[str, Any]]] = {}
        for port in network.ports_of(self.id):
            name = network.find(port["network_id"]).name
            for fixed in port["fixed_ips"]:
                by_network.setdefault(name, []).append(
                    {"addr": fixed["ip_address"], "version": 4, "OS-EXT-IPS:type": "fixed",
                     "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]})
        return by_network

    @property
    def trove_instance_id(self) -> str | None:
        return self.metadata.get("trove_instance_id")

    # hand-over across a server restart (lifecycle/hand_over) -----------
    def record(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items()
                if k not in ("_driver", "_flavor", "_old_flavor", "userdata")}
        data["flavor_id"] = self._flavor.id
        data["old_flavor_id"] = self._old_flavor.id if self._old_flavor else None
        return data

    @classmethod
    def from_record(cls, driver: ComputeDriver, record: dict[str, Any]) -> Server:
        server = cls.__new__(cls)
        data = dict(record)
        flavor_id, old_flavor_id = data.pop("flavor_id"), data.pop("old_flavor_id")
        server.__dict__.update(data)
        server._driver = driver
        server._flavor = driver.find_flavor(flavor_id)
        server._old_flavor = driver.find_flavor(old_flavor_id) if old_flavor_id else None
        server.userdata = None
        return server

    def _touch(self, status: str | None = None) -> None:
        if status:
            self.status = status
        self.updated = _now()

    # actions Trove calls ----------------------------------------------
    def get(self) -> Server:
        return self

    def delete(self) -> None:
        self._driver.delete(self.id)

    def reboot(self, reboot_type: str = "SOFT") -> None:
        self._require("ACTIVE", "SHUTOFF", action="reboot")
        self._touch("REBOOT")
        self._driver.events.power_cycle(self)
        self._touch("ACTIVE")

    def resize(self, flavor: Any, **_: Any) -> None:
        self._require("ACTIVE", "SHUTOFF", action="resize")
        new = self._driver.find_flavor(getattr(flavor, "id", flavor))
        self._touch("RESIZE")
        self._old_flavor, self._flavor = self._flavor, new
        self._driver.events.power_cycle(self)
        self._touch("VERIFY_RESIZE")

    def confirm_resize(self) -> None:
        self._require("VERIFY_RESIZE", action="confirmResize")
        self._old_flavor = None
        self._touch("ACTIVE")

    def revert_resize(self) -> None:
        self._require("VERIFY_RESIZE", action="revertResize")
        if self._old_flavor:
            self._flavor, self._old_flavor = self._old_flavor, None
        self._driver.events.power_cycle(self)
        self._touch("ACTIVE")

    def migrate(self, host: str | None = None) -> None:
        self._require("ACTIVE", "SHUTOFF", action="migrate")
        self._old_flavor = self._flavor
        self._driver.events.power_cycle(self)
        self._touch("VERIFY_RESIZE")

    def rebuild(self, image: Any, **_: Any) -> Server:
        image_id = getattr(image, "id", image)
        self._driver.images.get(image_id)
        self.image = {"id": image_id}
        self._touch("REBUILD")
        self._driver.events.power_cycle(self)
        self._touch("ACTIVE")
        return self

    def stop(self) -> None:
        self._driver.events.power_off(self)
        self._touch("SHUTOFF")

    def start(self) -> None:
        self._driver.events.power_cycle(self)
        self._touch("ACTIVE")

    def _require(self, *states: str, action: str) -> None:
        if self.status not in states:
            raise nova_exc.Conflict(
                409, f"Cannot '{action}' instance {self.id} while it is in vm_state "
                     f"{self.status.lower()}")


class ServerGroup:
    def __init__(self, name: str, policies: list[str], project_id: str):
        self.id = str(uuid.uuid4())
        self.name = name
        self.policies = list(policies)
        self.policy = self.policies[0] if self.policies else None
        self.members: list[str] = []
        self.project_id = project_id
        self.metadata: dict[str, str] = {}


class ServerEvents(Protocol):
    """What happens "inside" a server when nova acts on it: the stand-in guests,
    or (vm profile) a QEMU guest per server."""

    def boot(self, server: Server) -> None:
        """Start the server's guest; an exception is the server's fault."""

    def power_off(self, server: Server) -> None: ...

    def power_cycle(self, server: Server) -> None: ...

    def destroy(self, server: Server) -> None: ...


class ComputeDriver:
    """Servers, flavors and server groups of the local cloud."""

    def __init__(self, network: NetworkDriver, volumes: VolumeDriver, images: ImageStore,
                 faults: Faults, events: ServerEvents, availability_zone: str = "nova",
                 ram_quota_mb: int = RAM_QUOTA_MB):
        self.availability_zones = (availability_zone,)
        self.ram_quota_mb = ram_quota_mb
        """-1: unlimited, as on many real clouds."""
        self.network = network
        self.volumes = volumes
        self.images = images
        self.faults = faults
        self.events = events
        self.servers: dict[str, Server] = {}
        self.flavors: dict[str, Flavor] = {f.id: f for f in DEFAULT_FLAVORS}
        self.server_groups: dict[str, ServerGroup] = {}
        self._lock = threading.RLock()

    # hand-over across a server restart (lifecycle/hand_over) -----------
    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"flavors": [dict(vars(f)) for f in self.flavors.values()],
                    "servers": [s.record() for s in self.servers.values()],
                    "server_groups": [dict(vars(g)) for g in self.server_groups.values()]}

    def restore(self, snapshot: dict[str, Any]) -> None:
        with self._lock:
            self.flavors = {}
            for record in snapshot["flavors"]:
                flavor = Flavor.__new__(Flavor)
                flavor.__dict__.update(record)
                self.flavors[flavor.id] = flavor
            self.servers = {r["id"]: Server.from_record(self, r) for r in snapshot["servers"]}
            self.server_groups = {}
            for record in snapshot["server_groups"]:
                group = ServerGroup.__new__(ServerGroup)
                group.__dict__.update(record)
                self.server_groups[group.id] = group

    # flavors ----------------------------------------------------------
    def find_flavor(self, flavor_id: str) -> Flavor:
        flavor = self.flavors.get(str(flavor_id))
        if flavor is None:
            raise nova_exc.NotFound(404, f"Flavor {flavor_id} could not be found.")
        return flavor

    def add_flavor(self, flavor: Flavor) -> Flavor:
        with self._lock:
            if flavor.id in self.flavors:
                raise nova_exc.Conflict(409, f"Flavor with ID {flavor.id} already exists.")
            if any(f.name == flavor.name for f in self.flavors.values()):
                raise nova_exc.Conflict(409, f"Flavor with name {flavor.name} already exists.")
            self.flavors[flavor.id] = flavor
        return flavor

    def delete_flavor(self, flavor_id: str) -> None:
        with self._lock:
            if self.flavors.pop(str(flavor_id), None) is None:
                raise nova_exc.NotFound(404, f"Flavor {flavor_id} could not be found.")

    # servers ----------------------------------------------------------
    def get(self, server_id: str) -> Server:
        server = self.servers.get(getattr(server_id, "id", server_id))
        if server is None:
            # Trove compares the message text itself.
            raise nova_exc.NotFound(404, "Not found")
        return server

    def _check_quota(self, project_id: str, flavor: Flavor) -> None:
        owned = [s for s in self.servers.values() if s.tenant_id == project_id]
        if len(owned) >= INSTANCE_QUOTA:
            raise nova_exc.Forbidden(
                403, f"Quota exceeded for instances: Requested 1, but already used "
                     f"{len(owned)} of {INSTANCE_QUOTA} instances")
        used = sum(s._flavor.ram for s in owned)
        if self.ram_quota_mb >= 0 and used + flavor.ram > self.ram_quota_mb:
            raise nova_exc.Forbidden(
                403, f"Quota exceeded for ram: Requested {flavor.ram}, but already used "
                     f"{used} of {self.ram_quota_mb} ram")

    def create(self, project_id: str, user_id: str, name: str, image: Any, flavor: Any,
               nics: Any = None, block_device_mapping_v2: list[dict[str, Any]] | None = None,
               meta: dict[str, str] | None = None, tags: list[str] | None = None,
               availability_zone: str | None = None, userdata: Any = None,
               key_name: str | None = None, scheduler_hints: dict[str, Any] | None = None,
               **_: Any) -> Server:
        flavor_obj = self.find_flavor(getattr(flavor, "id", flavor))
        if availability_zone and availability_zone not in self.availability_zones:
            raise nova_exc.BadRequest(400, "The requested availability zone is not available")
        root = self._root_volume(block_device_mapping_v2)
        image_id = str(getattr(image, "id", image) or (
            root.volume_image_metadata.get("image_id", "") if root is not None else ""))
        try:
            image_info = self.images.get(image_id)
        except Exception as exc:
            raise nova_exc.BadRequest(400, f"Image {image_id} could not be found.") from exc
        min_disk = int(image_info.get("min_disk") or 0)
        if root is not None:
            # Booted from a volume: the volume, not the flavor's disk, holds the image.
            if root.size < min_disk:
                raise nova_exc.BadRequest(
                    400, f"Volume is smaller than the minimum size specified in image "
                         f"metadata. Volume size is {root.size * GB} bytes, minimum size is "
                         f"{min_disk * GB} bytes.")
        elif flavor_obj.disk and flavor_obj.disk < min_disk:
            raise nova_exc.BadRequest(
                400, f"Flavor's disk is too small for requested image. Flavor disk is "
                     f"{flavor_obj.disk * GB} bytes, minimum required by image is "
                     f"{min_disk * GB} bytes.")
        needed = int(image_info.get("virtual_size") or image_info.get("size") or 0)
        if root is None and flavor_obj.disk and flavor_obj.disk * GB < needed:
            raise nova_exc.BadRequest(
                400, f"Flavor's disk is too small for requested image. Flavor disk is "
                     f"{flavor_obj.disk * GB} bytes, image is {needed} bytes.")
        with self._lock:
            self._check_quota(project_id, flavor_obj)
            server = Server(self, name, "" if root is not None else image_id, flavor_obj,
                            project_id, user_id, meta or {}, tags or [],
                            availability_zone or self.availability_zones[0], userdata,
                            key_name)
            self.servers[server.id] = server
        group_id = (scheduler_hints or {}).get("group")
        if group_id and group_id in self.server_groups:
            self.server_groups[group_id].members.append(server.id)
        self._plug_ports(server, nics, project_id)
        for bdm in block_device_mapping_v2 or []:
            if bdm.get("source_type") == "volume" and bdm.get("uuid"):
                device = ROOT_DEVICE if str(bdm.get("boot_index")) == "0" else (
                    bdm.get("device_name") or "/dev/vdb")
                self.volumes.attach(bdm["uuid"], server.id, device)
        injected = self.faults.take_server_create_failure(name)
        if injected:
            server.fault = {"code": 500, "message": injected, "created": _now(),
                            "details": "Injected by trove-it fault injection "
                                       "(POST /_trove_it/faults/next-server-create)."}
            server._touch("ERROR")
            return server
        try:
            self.events.boot(server)
        except Exception as exc:  # noqa: BLE001 - nova records any spawn failure as the fault
            server.fault = {"code": 500, "message": str(exc)[:255], "created": _now(),
                            "details": f"{type(exc).__name__}: {exc}"}
            server._touch("ERROR")
            return server
        server._touch("ACTIVE")
        return server

    def _root_volume(self, mappings: list[dict[str, Any]] | None) -> Any:
        """The volume a server boots from (``boot_index`` 0), if it boots from one."""
        for bdm in mappings or []:
            if str(bdm.get("boot_index")) == "0" and bdm.get("source_type") == "volume":
                try:
                    return self.volumes.get(bdm["uuid"])
                except Exception as exc:
                    raise nova_exc.BadRequest(
                        400, f"Block Device Mapping is Invalid: failed to get volume "
                             f"{bdm.get('uuid')}.") from exc
        return None

    def _plug_ports(self, server: Server, nics: Any, project_id: str) -> None:
        network = self.network
        requested = nics if isinstance(nics, list) else []
        plugged = False
        for nic in requested:
            port_id = nic.get("port-id") or nic.get("port_id")
            if port_id:
                port = network.ports.get(port_id)
                if port is None:
                    raise nova_exc.BadRequest(400, f"Port {port_id} could not be found.")
                port["device_id"] = server.id
                port["device_owner"] = "compute:nova"
                plugged = True
            elif nic.get("net-id") or nic.get("net_id"):
                network.create_port(name="", device_id=server.id, project_id=project_id,
                                    network_id=nic.get("net-id") or nic.get("net_id"),
                                    device_owner="compute:nova")
                plugged = True
        if not plugged:
            # Like nova's auto-allocated network when no NIC is asked for.
            network.create_port(name="", device_id=server.id, project_id=project_id,
                                device_owner="compute:nova")

    def delete(self, server_id: str, wait: float = DELETE_SECONDS) -> None:
        """Start deleting a server; it goes ``wait`` seconds later."""
        with self._lock:
            server = self.servers.get(getattr(server_id, "id", server_id))
            if server is None:
                raise nova_exc.NotFound(404, "Not found")
            if getattr(server, "OS-EXT-STS:task_state") == "deleting":
                return
            setattr(server, "OS-EXT-STS:task_state", "deleting")
        # The VM goes down now: Trove deletes the instance's ports right after
        # asking, and a new server may get their addresses at once.
        self.events.destroy(server)
        if wait <= 0:
            self._remove(server)
            return
        timer = threading.Timer(wait, self._remove, args=(server,))
        timer.daemon = True
        timer.start()

    def _remove(self, server: Server) -> None:
        with self._lock:
            if self.servers.pop(server.id, None) is None:
                return
        server._touch("DELETED")
        self.network.release_device(server.id)
        for volume in list(self.volumes.volumes.values()):
            if any(a["server_id"] == server.id for a in volume.attachments):
                self.volumes.detach(volume.id)
                self.volumes.delete(volume.id)
        for group in self.server_groups.values():
            if server.id in group.members:
                group.members.remove(server.id)

    def list(self, search_opts: dict[str, Any] | None = None) -> list[Server]:
        servers = list(self.servers.values())
        opts = dict(search_opts or {})
        tags_any = opts.pop("tags-any", None)
        if tags_any:
            wanted = set(str(tags_any).split(","))
            servers = [s for s in servers if wanted.intersection(s.tags)]
        name = opts.pop("name", None)
        if name:
            servers = [s for s in servers if s.name == name]
        return servers


class _Servers:
    def __init__(self, driver: ComputeDriver, project_id: str, user_id: str):
        self._driver = driver
        self._project_id = project_id
        self._user_id = user_id

    def create(self, name: str, image: Any, flavor: Any, **kwargs: Any) -> Server:
        return self._driver.create(self._project_id, self._user_id, name, image, flavor, **kwargs)

    def get(self, server: Any) -> Server:
        return self._driver.get(server)

    def list(self, detailed: bool = True, search_opts: dict[str, Any] | None = None,
             limit: int | None = None, **_: Any) -> builtins.list[Server]:
        return self._driver.list(search_opts)

    def delete(self, server: Any) -> None:
        self._driver.delete(server)

    def set_tags(self, server: Any, tags: builtins.list[str]) -> builtins.list[str]:
        target = self._driver.get(server)
        target.tags = list(tags)
        return target.tags

    def resize(self, server: Any, flavor: Any, **kwargs: Any) -> None:
        self._driver.get(server).resize(flavor, **kwargs)

    def confirm_resize(self, server: Any) -> None:
        self._driver.get(server).confirm_resize()

    def revert_resize(self, server: Any) -> None:
        self._driver.get(server).revert_resize()

    def reboot(self, server: Any, reboot_type: str = "SOFT") -> None:
        self._driver.get(server).reboot(reboot_type)

    def rebuild(self, server: Any, image: Any, **kwargs: Any) -> Server:
        return self._driver.get(server).rebuild(image, **kwargs)

    def migrate(self, server: Any, host: str | None = None) -> None:
        self._driver.get(server).migrate(host)

    def stop(self, server: Any) -> None:
        self._driver.get(server).stop()

    def start(self, server: Any) -> None:
        self._driver.get(server).start()


class _Flavors:
    def __init__(self, driver: ComputeDriver):
        self._driver = driver

    def get(self, flavor: Any) -> Flavor:
        return self._driver.find_flavor(getattr(flavor, "id", flavor))

    def list(self, detailed: bool = True, is_public: bool | None = True, **_: Any
             ) -> list[Flavor]:
        return list(self._driver.flavors.values())

    def find(self, name: str | None = None, **_: Any) -> Flavor:
        for flavor in self._driver.flavors.values():
            if flavor.name == name:
                return flavor
        raise nova_exc.NotFound(404, f"Flavor {name} could not be found.")


class _ServerGroups:
    def __init__(self, driver: ComputeDriver, project_id: str):
        self._driver = driver
        self._project_id = project_id

    def list(self, all_projects: bool = False, **_: Any) -> builtins.list[ServerGroup]:
        return list(self._driver.server_groups.values())

    def get(self, group_id: str) -> ServerGroup:
        group = self._driver.server_groups.get(group_id)
        if group is None:
            raise nova_exc.NotFound(404, f"Server group {group_id} could not be found.")
        return group

    def create(self, name: str, policies: builtins.list[str] | None = None,
               policy: str | None = None, **_: Any) -> ServerGroup:
        group = ServerGroup(name, policies or ([policy] if policy else []), self._project_id)
        self._driver.server_groups[group.id] = group
        return group

    def delete(self, group_id: Any) -> None:
        if self._driver.server_groups.pop(getattr(group_id, "id", group_id), None) is None:
            raise nova_exc.NotFound(404, f"Server group {group_id} could not be found.")


class _ServerVolumes:
    def __init__(self, driver: ComputeDriver):
        self._driver = driver

    def create_server_volume(self, server_id: str, volume_id: str, device: str | None = None,
                             **_: Any) -> None:
        self._driver.get(server_id)
        self._driver.volumes.attach(volume_id, server_id, device or "/dev/vdb")

    def delete_server_volume(self, server_id: str, volume_id: str, **_: Any) -> None:
        self._driver.volumes.detach(volume_id)


class NovaClient:
    def __init__(self, driver: ComputeDriver, project_id: str, user_id: str):
        self.api_version = api_versions.APIVersion(API_VERSION)
        self.servers = _Servers(driver, project_id, user_id)
        self.flavors = _Flavors(driver)
        self.server_groups = _ServerGroups(driver, project_id)
        self.volumes = _ServerVolumes(driver)

