"""A small keystone v3 endpoint and the token filter in front of Trove.

Enough of identity v3 for keystoneauth, openstacksdk, python-troveclient and
the ``openstack`` CLI: version discovery, password and token authentication
scoped to a project, token validation; the admin API for projects, users
and roles is in ``keystone_admin``.
The filter turns a token into the headers keystonemiddleware would set, so
Trove's own context and policy code runs unchanged.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import webob
import webob.dec

from trove_it.localcloud import runtime
from trove_it.localcloud.directory import DirectoryError
from trove_it.localcloud.endpoints import keystone_admin
from trove_it.localcloud.endpoints.callers import authenticated_account, required_account
from trove_it.localcloud.endpoints.tokens import Token
from trove_it.localcloud.endpoints.wsgi_json import (
    NotFound,
    Router,
    Unauthorized,
    error_response,
    json_response,
    request_json,
)
from trove_it.localcloud.identity import DOMAIN, REGION, Account

API_VERSION = "v3.14"
DOMAIN_REF = {"id": DOMAIN, "name": "Default"}


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def service_catalog(account: Account) -> list[dict[str, Any]]:
    """The v3 catalog: every endpoint this one process serves."""
    base = runtime.get().public_url
    pid = account.project_id
    services = [
        ("identity", "keystone", f"{base}/identity"),
        ("database", "trove", f"{base}/v1.0/{pid}"),
        ("compute", "nova", f"{base}/compute/v2.1"),
        ("network", "neutron", f"{base}/network"),
        ("block-storage", "cinder", f"{base}/volume/v3/{pid}"),
        ("image", "glance", f"{base}/image"),
        ("object-store", "swift", f"{base}/object-store/v1/AUTH_{pid}"),
        ("key-manager", "barbican", f"{base}/key-manager"),
    ]
    catalog = []
    for kind, name, url in services:
        endpoints = [
            {"id": f"{name}-{iface}", "interface": iface, "region": REGION,
             "region_id": REGION, "url": url}
            for iface in ("public", "internal", "admin")
        ]
        catalog.append({"id": name, "type": kind, "name": name, "endpoints": endpoints})
    return catalog


def v2_catalog(account: Account) -> list[dict[str, Any]]:
    """The same catalog in the v2 shape Trove reads from X-Service-Catalog."""
    result = []
    for service in service_catalog(account):
        url = service["endpoints"][0]["url"]
        result.append({
            "type": service["type"], "name": service["name"],
            "endpoints": [{"region": REGION, "publicURL": url, "internalURL": url,
                           "adminURL": url}],
        })
    return result


def _token_body(token: Token, methods: list[str]) -> dict[str, Any]:
    account = token.account
    return {"token": {
        "methods": methods,
        "user": {"id": account.user_id, "name": account.user, "domain": DOMAIN_REF,
                 "password_expires_at": None},
        "audit_ids": [token.audit_id],
        "issued_at": _iso(token.issued_at),
        "expires_at": _iso(token.expires_at),
        "project": {"id": account.project_id, "name": account.project, "domain": DOMAIN_REF},
        "is_domain": False,
        "roles": [{"id": role, "name": role} for role in account.roles],
        "catalog": service_catalog(account),
    }}


def _version_doc(base: str) -> dict[str, Any]:
    return {
        "id": API_VERSION, "status": "stable", "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base}/identity/v3/"}],
        "media-types": [{"base": "application/json",
                         "type": "application/vnd.openstack.identity-v3+json"}],
    }


def _authenticate(body: dict[str, Any], store_token: Token | None) -> tuple[Account, list[str]]:
    directory = runtime.get().directory
    auth = body.get("auth") or {}
    methods = (auth.get("identity") or {}).get("methods") or []
    scope = (auth.get("scope") or {}).get("project") or {}
    project = None
    if scope:
        project = directory.project(scope.get("id") or scope.get("name", ""))
        if project is None:
            raise Unauthorized("The request you have made requires authentication.")
    if "password" in methods:
        wanted = (auth["identity"].get("password") or {}).get("user") or {}
        user = directory.user(wanted.get("id") or wanted.get("name", ""))
        if user is None or user.password != wanted.get("password"):
            raise Unauthorized("The request you have made requires authentication.")
    elif "token" in methods:
        token_id = (auth["identity"].get("token") or {}).get("id")
        token = runtime.get().tokens.validate(token_id) or store_token
        user = directory.user(token.account.user_id) if token else None
        if token is None or user is None:
            raise Unauthorized("The token is not valid.")
        if not scope:
            return token.account, methods
    else:
        raise Unauthorized("Unsupported authentication method.")
    try:
        return directory.account(user, project), methods
    except DirectoryError as exc:
        raise Unauthorized(exc.message) from exc


def _issue(request: webob.Request) -> webob.Response:
    account, methods = _authenticate(request_json(request), None)
    token = runtime.get().tokens.issue(account)
    return json_response(_token_body(token, methods), status=201,
                         headers={"X-Subject-Token": token.id})


def _validate(request: webob.Request) -> webob.Response:
    required_account(request)
    subject = runtime.get().tokens.validate(request.headers.get("X-Subject-Token"))
    if subject is None:
        raise NotFound("Could not find token.")
    return json_response(_token_body(subject, ["password"]))


def _revoke(request: webob.Request) -> webob.Response:
    required_account(request)
    runtime.get().tokens.revoke(request.headers.get("X-Subject-Token", ""))
    return webob.Response(status=204)


def _versions(request: webob.Request) -> webob.Response:
    base = runtime.get().public_url
    return json_response({"versions": {"values": [_version_doc(base)]}}, status=300)


def _version(request: webob.Request) -> webob.Response:
    return json_response({"version": _version_doc(runtime.get().public_url)})


def identity_app_factory(global_config: dict[str, Any], **local_config: Any) -> Router:
    router = Router()
    router.add("GET", "", _versions)
    router.add("GET", "/v3", _version)
    router.add("POST", "/v3/auth/tokens", _issue)
    router.add("GET", "/v3/auth/tokens", _validate)
    router.add("DELETE", "/v3/auth/tokens", _revoke)
    keystone_admin.add_routes(router)
    return router


class TokenFilter:
    """Sets the identity headers keystonemiddleware would, from a local token."""

    def __init__(self, app: Any):
        self.app = app

    @webob.dec.wsgify
    def __call__(self, request: webob.Request) -> Any:
        for header in ("X-Tenant-Id", "X-Project-Id", "X-User-Id", "X-Roles", "X-Role",
                       "X-Service-Catalog", "X-Identity-Status"):
            request.headers.pop(header, None)
        account = authenticated_account(request)
        if account is None:
            response = error_response(401, "The request you have made requires authentication.")
            response.headers["WWW-Authenticate"] = (
                f"Keystone uri='{runtime.get().public_url}/identity'")
            return response
        roles = ",".join(account.roles)
        request.headers.update({
            "X-Identity-Status": "Confirmed",
            "X-Tenant-Id": account.project_id,
            "X-Project-Id": account.project_id,
            "X-Project-Name": account.project,
            "X-User-Id": account.user_id,
            "X-User-Name": account.user,
            "X-Roles": roles,
            "X-Role": roles,
            "X-Service-Catalog": json.dumps(v2_catalog(account)),
        })
        return request.get_response(self.app)


def filter_factory(global_config: dict[str, Any], **local_config: Any) -> Any:
    return TokenFilter
