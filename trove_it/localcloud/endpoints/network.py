"""A read-only Neutron v2.0 endpoint: networks, subnets and ports.

Enough for a user (and the harness's ``--network`` check) to find the
networks an instance can be given by name or id, as with ``openstack
network list``, and for an admin to see the ports an instance left; creating
ports and security groups stays with Trove's own client.
"""

from __future__ import annotations

from typing import Any

import webob

from trove_it.localcloud import runtime
from trove_it.localcloud.endpoints.keystone import required_account
from trove_it.localcloud.endpoints.wsgi_json import NotFound, Router, json_response


def _authenticated(request: webob.Request) -> None:
    required_account(request)


def _matches(item: dict[str, Any], request: webob.Request) -> bool:
    return all(str(item.get(key)) == value for key, value in request.params.items()
               if key in ("id", "name", "shared", "status"))


def _list_networks(request: webob.Request) -> webob.Response:
    _authenticated(request)
    nets = [n.as_network() for n in runtime.get().network.networks()]
    return json_response({"networks": [n for n in nets if _matches(n, request)]})


def _show_network(request: webob.Request, network_id: str) -> webob.Response:
    _authenticated(request)
    for net in runtime.get().network.networks():
        if network_id == net.network_id:
            return json_response({"network": net.as_network()})
    raise NotFound(f"Network {network_id} could not be found.")


def _list_subnets(request: webob.Request) -> webob.Response:
    _authenticated(request)
    subnets = [n.as_subnet() for n in runtime.get().network.networks()]
    return json_response({"subnets": [s for s in subnets if _matches(s, request)]})


def _visible_ports(request: webob.Request) -> list[dict[str, Any]]:
    account = required_account(request)
    ports = list(runtime.get().network.ports.values())
    return [p for p in ports if account.is_admin or p.get("project_id") == account.project_id]


def _list_ports(request: webob.Request) -> webob.Response:
    ports = _visible_ports(request)
    return json_response({"ports": [p for p in ports if all(
        str(p.get(key)) == value for key, value in request.params.items()
        if key in ("id", "name", "device_id", "device_owner", "network_id"))]})


def _show_port(request: webob.Request, port_id: str) -> webob.Response:
    for port in _visible_ports(request):
        if port["id"] == port_id:
            return json_response({"port": port})
    raise NotFound(f"Port {port_id} could not be found.")


def _versions(request: webob.Request) -> webob.Response:
    return json_response({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": f"{runtime.get().public_url}/network/v2.0/"}]}]})


def app_factory(global_config: dict[str, Any], **local_config: Any) -> Router:
    router = Router()
    router.add("GET", "", _versions)
    router.add("GET", "/v2.0/networks", _list_networks)
    router.add("GET", "/v2.0/networks/(?P<network_id>[^/]+)", _show_network)
    router.add("GET", "/v2.0/subnets", _list_subnets)
    router.add("GET", "/v2.0/ports", _list_ports)
    router.add("GET", "/v2.0/ports/(?P<port_id>[^/]+)", _show_port)
    return router
