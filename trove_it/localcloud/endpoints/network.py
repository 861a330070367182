"""Neutron's v2.0 REST API over the local network driver.

Networks, subnets and routers are the cloud's own (read-only here, as on a
devstack where the admin made them); ports, floating IPs and security
groups can be listed, shown, created and deleted by their project, as
tempest, the SDK and the ``openstack`` CLI do. Non-admins see their own
project's resources and the shared ones, as neutron's policy has it. The
filter semantics are the dict client's (``drivers/neutron_client``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import webob
from neutronclient.common import exceptions as neutron_exc

from trove_it.localcloud import runtime
from trove_it.localcloud.drivers.neutron_client import NeutronClient, matches
from trove_it.localcloud.endpoints.callers import required_account
from trove_it.localcloud.endpoints.wsgi_json import (
    BadRequest,
    Conflict,
    HttpError,
    NotFound,
    Router,
    json_response,
    request_json,
)
from trove_it.localcloud.identity import Account

EXTENSIONS = ("project-id", "router", "external-net", "security-group", "port-security",
              "standard-attr-description", "extra_dhcp_opt")


def _client(request: webob.Request) -> tuple[NeutronClient, Account]:
    account = required_account(request)
    return NeutronClient(runtime.get().network, account.project_id), account


def _filters(request: webob.Request) -> dict[str, Any]:
    """Query parameters as neutron reads them: a repeated key is any-of,
    except ``fixed_ips``, whose repeats must all match."""
    result: dict[str, Any] = {}
    for key in request.params:
        values = request.params.getall(key)
        if key == "fixed_ips":
            result[key] = values
        else:
            result[key] = values if len(values) > 1 else values[0]
    for key, value in list(result.items()):
        if value in ("True", "true", "False", "false"):
            result[key] = value.lower() == "true"
    return result


def _visible(account: Account, item: dict[str, Any]) -> bool:
    owner = item.get("project_id") or item.get("tenant_id")
    return account.is_admin or not owner or owner == account.project_id


def _listing(kind: str, fetch: Callable[[NeutronClient], list[dict[str, Any]]]
             ) -> Callable[[webob.Request], webob.Response]:
    def handler(request: webob.Request) -> webob.Response:
        client, account = _client(request)
        filters = _filters(request)
        items = [i for i in fetch(client) if _visible(account, i) and matches(i, filters)]
        return json_response({kind: items})
    return handler


def _neutron_call(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except neutron_exc.NotFound as exc:
        raise NotFound(str(exc)) from exc
    except (neutron_exc.Conflict, neutron_exc.IpAddressInUseClient) as exc:
        raise Conflict(str(exc)) from exc
    except neutron_exc.BadRequest as exc:
        raise BadRequest(str(exc)) from exc
    except neutron_exc.NeutronClientException as exc:
        error = HttpError(str(exc))
        error.status = exc.status_code or 500
        raise error from exc


def _owned(account: Account, item: dict[str, Any], what: str, ident: str) -> dict[str, Any]:
    if not _visible(account, item):
        raise NotFound(f"{what} {ident} could not be found.")
    return item


# networks, subnets, routers ----------------------------------------------------
def _show_network(request: webob.Request, ident: str) -> webob.Response:
    client, _ = _client(request)
    return json_response(_neutron_call(lambda: client.show_network(ident)))


def _show_subnet(request: webob.Request, ident: str) -> webob.Response:
    client, _ = _client(request)
    return json_response(_neutron_call(lambda: client.show_subnet(ident)))


def _show_router(request: webob.Request, ident: str) -> webob.Response:
    _, account = _client(request)
    router = runtime.get().network.routers.get(ident)
    if router is None:
        raise NotFound(f"Router {ident} could not be found")
    return json_response({"router": _owned(account, router, "Router", ident)})


# project-owned resources: ports, floating IPs, security groups --------------------
@dataclass(frozen=True)
class _Owned:
    """A resource a project owns: its body key, its name in messages, and the
    dict client's calls that show and delete one."""

    key: str
    what: str
    show: Callable[[NeutronClient, str], dict[str, Any]]
    delete: Callable[[NeutronClient, str], None]

    def fetch(self, request: webob.Request, ident: str) -> tuple[NeutronClient, dict[str, Any]]:
        """The caller's client and the resource, 404 when it is not theirs to see."""
        client, account = _client(request)
        item = _neutron_call(lambda: self.show(client, ident))[self.key]
        return client, _owned(account, item, self.what, ident)

    def show_handler(self, request: webob.Request, ident: str) -> webob.Response:
        return json_response({self.key: self.fetch(request, ident)[1]})

    def delete_handler(self, request: webob.Request, ident: str) -> webob.Response:
        client, _ = self.fetch(request, ident)
        _neutron_call(lambda: self.delete(client, ident))
        return webob.Response(status=204)


PORTS = _Owned("port", "Port", NeutronClient.show_port, NeutronClient.delete_port)
FLOATING_IPS = _Owned("floatingip", "Floating IP", NeutronClient.show_floatingip,
                      NeutronClient.delete_floatingip)
SECURITY_GROUPS = _Owned("security_group", "Security group",
                         NeutronClient.show_security_group,
                         NeutronClient.delete_security_group)


def _create_fip(request: webob.Request) -> webob.Response:
    client, account = _client(request)
    spec = dict(request_json(request).get("floatingip") or {})
    if not account.is_admin:
        spec.pop("project_id", None)
        spec.pop("tenant_id", None)
    if spec.get("port_id"):
        PORTS.fetch(request, spec["port_id"])
    body = _neutron_call(lambda: client.create_floatingip({"floatingip": spec}))
    return json_response(body, status=201)


def _update_fip(request: webob.Request, ident: str) -> webob.Response:
    client, _ = FLOATING_IPS.fetch(request, ident)
    body = request_json(request)
    return json_response(_neutron_call(lambda: client.update_floatingip(ident, body)))


# extensions and versions ------------------------------------------------------------
def _extension_ref(alias: str) -> dict[str, Any]:
    return {"alias": alias, "name": alias, "description": "", "updated": "2026-01-01T00:00:00Z",
            "links": []}


def _list_extensions(request: webob.Request) -> webob.Response:
    required_account(request)
    return json_response({"extensions": [_extension_ref(a) for a in EXTENSIONS]})


def _show_extension(request: webob.Request, alias: str) -> webob.Response:
    required_account(request)
    if alias not in EXTENSIONS:
        raise NotFound(f"Extension with alias {alias} does not exist")
    return json_response({"extension": _extension_ref(alias)})


def _versions(request: webob.Request) -> webob.Response:
    return json_response({"versions": [{"id": "v2.0", "status": "CURRENT", "links": [
        {"rel": "self", "href": f"{runtime.get().public_url}/network/v2.0/"}]}]})


def app_factory(global_config: dict[str, Any], **local_config: Any) -> Router:
    ident = "(?P<ident>[^/]+)"
    router = Router()
    router.add("GET", "", _versions)
    router.add("GET", "/v2.0/extensions", _list_extensions)
    router.add("GET", "/v2.0/extensions/(?P<alias>[^/]+)", _show_extension)
    router.add("GET", "/v2.0/networks", _listing(
        "networks", lambda c: c.list_networks()["networks"]))
    router.add("GET", f"/v2.0/networks/{ident}", _show_network)
    router.add("GET", "/v2.0/subnets", _listing(
        "subnets", lambda c: c.list_subnets()["subnets"]))
    router.add("GET", f"/v2.0/subnets/{ident}", _show_subnet)
    router.add("GET", "/v2.0/routers", _listing(
        "routers", lambda c: c.list_routers()["routers"]))
    router.add("GET", f"/v2.0/routers/{ident}", _show_router)
    router.add("GET", "/v2.0/ports", _listing("ports", lambda c: c.list_ports()["ports"]))
    router.add("GET", f"/v2.0/ports/{ident}", PORTS.show_handler)
    router.add("DELETE", f"/v2.0/ports/{ident}", PORTS.delete_handler)
    router.add("GET", "/v2.0/floatingips", _listing(
        "floatingips", lambda c: c.list_floatingips()["floatingips"]))
    router.add("POST", "/v2.0/floatingips", _create_fip)
    router.add("GET", f"/v2.0/floatingips/{ident}", FLOATING_IPS.show_handler)
    router.add("PUT", f"/v2.0/floatingips/{ident}", _update_fip)
    router.add("DELETE", f"/v2.0/floatingips/{ident}", FLOATING_IPS.delete_handler)
    router.add("GET", "/v2.0/security-groups", _listing(
        "security_groups", lambda c: c.list_security_groups()["security_groups"]))
    router.add("GET", f"/v2.0/security-groups/{ident}", SECURITY_GROUPS.show_handler)
    router.add("DELETE", f"/v2.0/security-groups/{ident}", SECURITY_GROUPS.delete_handler)
    router.add("GET", "/v2.0/security-group-rules", _listing(
        "security_group_rules", lambda c: c.list_security_group_rules()["security_group_rules"]))
    return router
