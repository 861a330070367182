"""What nova's API shows of a server or flavor at each microversion.

A client that sends no version header gets 2.1, and clients such as
tempest validate that shape strictly: no ``tags`` before 2.26, the flavor as
``{id, links}`` before 2.47 and embedded after, the image with its links,
the admin-only ``OS-EXT-SRV-ATTR`` fields for admins only. The rules follow
nova's API reference (microversion history of the servers and flavors
resources) up to the maximum this endpoint announces.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trove_it.localcloud.endpoints.wsgi_json import HttpError

if TYPE_CHECKING:
    from trove_it.localcloud.drivers.compute import Flavor, Server

MIN_VERSION = (2, 1)
MAX_VERSION = (2, 96)
PROGRESS_STATUSES = ("ACTIVE", "BUILD", "REBUILD", "RESIZE", "VERIFY_RESIZE", "MIGRATING")
POWER_STATES = {"SHUTOFF": 4, "ERROR": 0, "BUILD": 0}
RUNNING = 1

Version = tuple[int, int]


class NotAcceptable(HttpError):
    status = 406


def text(version: Version) -> str:
    return f"{version[0]}.{version[1]}"


def requested(headers: Any) -> Version:
    """The microversion a request asks for (``OpenStack-API-Version: compute
    X.Y`` or the legacy header); 2.1 when it asks for none."""
    value = None
    for part in (headers.get("OpenStack-API-Version") or "").split(","):
        service, _, number = part.strip().partition(" ")
        if service.lower() == "compute" and number.strip():
            value = number.strip()
    if value is None:
        value = (headers.get("X-OpenStack-Nova-API-Version") or "").strip() or None
    if value is None:
        return MIN_VERSION
    if value.lower() == "latest":
        return MAX_VERSION
    try:
        major, minor = (int(x) for x in value.split("."))
    except ValueError:
        raise NotAcceptable(f"Invalid API version request string {value}.") from None
    if not MIN_VERSION <= (major, minor) <= MAX_VERSION:
        raise NotAcceptable(f"Version {value} is not supported by the API. Minimum is "
                            f"{text(MIN_VERSION)} and maximum is {text(MAX_VERSION)}.")
    return major, minor


def response_headers(version: Version) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {text(version)}",
            "X-OpenStack-Nova-API-Version": text(version),
            "Vary": "OpenStack-API-Version, X-OpenStack-Nova-API-Version"}


def links(base: str, kind: str, ident: str) -> list[dict[str, str]]:
    bookmark = base.replace("/compute/v2.1", "/compute")
    return [{"rel": "self", "href": f"{base}/{kind}/{ident}"},
            {"rel": "bookmark", "href": f"{bookmark}/{kind}/{ident}"}]


def flavor(item: Flavor, version: Version, base: str) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": item.id, "name": item.name, "ram": item.ram, "vcpus": item.vcpus,
        "disk": item.disk, "OS-FLV-EXT-DATA:ephemeral": item.ephemeral,
        "swap": (item.swap or 0) if version >= (2, 75) else (item.swap or ""),
        "rxtx_factor": item.rxtx_factor, "os-flavor-access:is_public": item.is_public,
        "OS-FLV-DISABLED:disabled": False, "links": links(base, "flavors", item.id)}
    if version >= (2, 55):
        view["description"] = item.description
    if version >= (2, 61):
        view["extra_specs"] = dict(item.extra_specs)
    if version >= (2, 75):
        del view["rxtx_factor"]
    return view


def server(item: Server, version: Version, base: str, admin: bool,
           volumes: list[str]) -> dict[str, Any]:
    """One server as ``GET /servers/{id}`` (and ``/servers/detail``) shows it."""
    image_id = item.image.get("id") if isinstance(item.image, dict) else None
    view: dict[str, Any] = {
        "id": item.id, "name": item.name, "status": item.status,
        "tenant_id": item.tenant_id, "user_id": item.user_id,
        "metadata": dict(item.metadata), "hostId": item.hostId,
        "image": {"id": image_id, "links": links(base, "images", image_id)[1:]}
        if image_id else "",
        "flavor": _server_flavor(item, version, base),
        "created": item.created, "updated": item.updated,
        "addresses": item.addresses, "accessIPv4": "", "accessIPv6": "",
        "links": links(base, "servers", item.id), "OS-DCF:diskConfig": "MANUAL",
        "key_name": item.key_name, "config_drive": "",
        "security_groups": [{"name": "default"}],
        "OS-EXT-AZ:availability_zone": getattr(item, "OS-EXT-AZ:availability_zone"),
        "OS-SRV-USG:launched_at": item.created if item.status != "BUILD" else None,
        "OS-SRV-USG:terminated_at": None,
        "OS-EXT-STS:task_state": None,
        "OS-EXT-STS:vm_state": item.status.lower(),
        "OS-EXT-STS:power_state": POWER_STATES.get(item.status, RUNNING),
        "os-extended-volumes:volumes_attached": [
            {"id": v, **({"delete_on_termination": False} if version >= (2, 3) else {})}
            for v in volumes],
    }
    if item.status in PROGRESS_STATUSES:
        view["progress"] = 100 if item.status == "ACTIVE" else 0
    if item.fault:
        view["fault"] = {k: item.fault[k] for k in ("code", "created", "message")
                         if k in item.fault}
    if admin:
        view.update({"OS-EXT-SRV-ATTR:host": "trove-it-local",
                     "OS-EXT-SRV-ATTR:instance_name": f"instance-{item.id[:8]}",
                     "OS-EXT-SRV-ATTR:hypervisor_hostname": "trove-it-local"})
        if version >= (2, 3):
            view.update({"OS-EXT-SRV-ATTR:reservation_id": f"r-{item.id[:8]}",
                         "OS-EXT-SRV-ATTR:launch_index": 0,
                         "OS-EXT-SRV-ATTR:kernel_id": "", "OS-EXT-SRV-ATTR:ramdisk_id": "",
                         "OS-EXT-SRV-ATTR:hostname": item.name,
                         "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
                         "OS-EXT-SRV-ATTR:user_data": None})
        if version >= (2, 16):
            view["host_status"] = "UP"
    if version >= (2, 9):
        view["locked"] = False
    if version >= (2, 19):
        view["description"] = None
    if version >= (2, 26):
        view["tags"] = list(item.tags)
    if version >= (2, 63):
        view["trusted_image_certificates"] = None
    if version >= (2, 71):
        view["server_groups"] = []
    if version >= (2, 73):
        view["locked_reason"] = None
    if version >= (2, 96):
        view["pinned_availability_zone"] = None
    return view


def _server_flavor(item: Server, version: Version, base: str) -> dict[str, Any]:
    if version >= (2, 47):
        return {k: v for k, v in item.flavor.items() if k != "id"}
    return {"id": item.flavor_id, "links": links(base, "flavors", item.flavor_id)[1:]}
