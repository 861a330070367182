"""A small nova v2.1 endpoint over the compute driver's state.

Flavors can be listed, shown, created and deleted (the harness registers its
test flavors through openstacksdk, as on a real cloud); servers are read-only,
for leak checks and ``openstack server list``.
"""

from __future__ import annotations

from typing import Any

import webob
from novaclient import exceptions as nova_exc

from trove_it.localcloud import runtime
from trove_it.localcloud.drivers.compute import Flavor, Server
from trove_it.localcloud.endpoints import compute_views as views
from trove_it.localcloud.endpoints.callers import required_account
from trove_it.localcloud.endpoints.wsgi_json import (
    BadRequest,
    Conflict,
    Forbidden,
    NotFound,
    Router,
    json_response,
    request_json,
)
from trove_it.localcloud.identity import Account


def _account(request: webob.Request) -> Account:
    return required_account(request)


def _base() -> str:
    return f"{runtime.get().public_url}/compute/v2.1"


def _respond(version: views.Version, body: Any, status: int = 200) -> webob.Response:
    """A JSON answer at the request's microversion, with nova's version headers."""
    return json_response(body, status, headers=views.response_headers(version))


def _server_view(version: views.Version, account: Account, server: Server) -> dict[str, Any]:
    attached = [v.id for v in runtime.get().compute.volumes.volumes.values()
                if any(a["server_id"] == server.id for a in v.attachments)]
    return views.server(server, version, _base(), account.is_admin, attached)


def _version_doc() -> dict[str, Any]:
    return {"id": "v2.1", "status": "CURRENT", "version": views.text(views.MAX_VERSION),
            "min_version": views.text(views.MIN_VERSION), "updated": "2013-07-23T11:33:21Z",
            "links": [{"rel": "self", "href": f"{_base()}/"}]}


def _versions(request: webob.Request) -> webob.Response:
    return json_response({"versions": [_version_doc()]})


def _version(request: webob.Request) -> webob.Response:
    return json_response({"version": _version_doc()})


def _list_flavors(request: webob.Request, detail: str | None = None) -> webob.Response:
    _account(request)
    version = views.requested(request.headers)
    flavors = list(runtime.get().compute.flavors.values())
    if detail:
        return _respond(version, {"flavors": [views.flavor(f, version, _base())
                                              for f in flavors]})
    return _respond(version, {"flavors": [
        {"id": f.id, "name": f.name, "links": views.links(_base(), "flavors", f.id)}
        for f in flavors]})


def _get_flavor(request: webob.Request, flavor_id: str) -> webob.Response:
    _account(request)
    try:
        flavor = runtime.get().compute.find_flavor(flavor_id)
    except nova_exc.NotFound as exc:
        raise NotFound(str(exc.message)) from exc
    version = views.requested(request.headers)
    return _respond(version, {"flavor": views.flavor(flavor, version, _base())})


def _create_flavor(request: webob.Request) -> webob.Response:
    if not _account(request).is_admin:
        raise Forbidden("Policy doesn't allow os_compute_api:os-flavor-manage:create "
                        "to be performed.")
    spec = request_json(request).get("flavor") or {}
    try:
        flavor = Flavor(
            spec.get("id") or spec["name"], spec["name"], int(spec["ram"]), int(spec["vcpus"]),
            int(spec.get("disk", 0)), int(spec.get("OS-FLV-EXT-DATA:ephemeral", 0) or 0),
            spec.get("swap") or 0, bool(spec.get("os-flavor-access:is_public", True)))
    except (KeyError, TypeError, ValueError) as exc:
        raise BadRequest(f"Invalid flavor definition: {exc}") from exc
    flavor.description = spec.get("description")
    try:
        runtime.get().compute.add_flavor(flavor)
    except nova_exc.Conflict as exc:
        raise Conflict(str(exc.message)) from exc
    version = views.requested(request.headers)
    return _respond(version, {"flavor": views.flavor(flavor, version, _base())})


def _delete_flavor(request: webob.Request, flavor_id: str) -> webob.Response:
    if not _account(request).is_admin:
        raise Forbidden("Policy doesn't allow os_compute_api:os-flavor-manage:delete "
                        "to be performed.")
    try:
        runtime.get().compute.delete_flavor(flavor_id)
    except nova_exc.NotFound as exc:
        raise NotFound(str(exc.message)) from exc
    return webob.Response(status=202)


def _extra_specs(request: webob.Request, flavor_id: str) -> webob.Response:
    _account(request)
    try:
        flavor = runtime.get().compute.find_flavor(flavor_id)
    except nova_exc.NotFound as exc:
        raise NotFound(str(exc.message)) from exc
    if request.method == "POST":
        flavor.extra_specs.update(request_json(request).get("extra_specs") or {})
    return json_response({"extra_specs": dict(flavor.extra_specs)})


def _visible_servers(account: Account) -> list[Server]:
    servers = runtime.get().compute.list()
    if account.is_admin:
        return servers
    return [s for s in servers if s.tenant_id == account.project_id]


def _list_servers(request: webob.Request, detail: str | None = None) -> webob.Response:
    account = _account(request)
    version = views.requested(request.headers)
    servers = _visible_servers(account)
    name = request.params.get("name")
    if name:
        servers = [s for s in servers if name in s.name]
    if detail:
        return _respond(version, {"servers": [_server_view(version, account, s)
                                              for s in servers]})
    return _respond(version, {"servers": [
        {"id": s.id, "name": s.name, "links": views.links(_base(), "servers", s.id)}
        for s in servers]})


def _get_server(request: webob.Request, server_id: str) -> webob.Response:
    account = _account(request)
    version = views.requested(request.headers)
    for server in _visible_servers(account):
        if server.id == server_id:
            return _respond(version, {"server": _server_view(version, account, server)})
    raise NotFound(f"Instance {server_id} could not be found.")


def _limits(request: webob.Request) -> webob.Response:
    from trove_it.localcloud.drivers.compute import INSTANCE_QUOTA

    account = _account(request)
    compute = runtime.get().compute
    owned = [s for s in compute.list() if s.tenant_id == account.project_id]
    return json_response({"limits": {"rate": [], "absolute": {
        "maxTotalInstances": INSTANCE_QUOTA, "maxTotalRAMSize": compute.ram_quota_mb,
        "maxTotalCores": -1, "totalInstancesUsed": len(owned),
        "totalRAMUsed": sum(s.flavor["ram"] for s in owned), "totalCoresUsed": 0}}})


def _availability_zones(request: webob.Request) -> webob.Response:
    _account(request)
    return json_response({"availabilityZoneInfo": [
        {"zoneName": zone, "zoneState": {"available": True}, "hosts": None}
        for zone in runtime.get().compute.availability_zones]})


def app_factory(global_config: dict[str, Any], **local_config: Any) -> Router:
    router = Router()
    router.add("GET", "", _versions)
    router.add("GET", "/v2.1", _version)
    router.add("GET", "/v2.1/flavors(?P<detail>/detail)?", _list_flavors)
    router.add("POST", "/v2.1/flavors", _create_flavor)
    router.add("GET", "/v2.1/flavors/(?P<flavor_id>[^/]+)", _get_flavor)
    router.add("DELETE", "/v2.1/flavors/(?P<flavor_id>[^/]+)", _delete_flavor)
    router.add("GET", "/v2.1/flavors/(?P<flavor_id>[^/]+)/os-extra_specs", _extra_specs)
    router.add("POST", "/v2.1/flavors/(?P<flavor_id>[^/]+)/os-extra_specs", _extra_specs)
    router.add("GET", "/v2.1/servers(?P<detail>/detail)?", _list_servers)
    router.add("GET", "/v2.1/servers/(?P<server_id>[^/]+)", _get_server)
    router.add("GET", "/v2.1/limits", _limits)
    router.add("GET", "/v2.1/os-availability-zone", _availability_zones)
    return router
