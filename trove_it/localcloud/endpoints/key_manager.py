"""Barbican's v1 key-manager API: secrets, their payloads and consumers.

What Trove's instance SSL uses (``trove/common/ssl.py``): it reads a PKCS#12
bundle and its password from secrets the user stored, and registers the
instance as a consumer of the bundle's secret (API microversion 1.1, which
version discovery must offer as ``max_version``). Secrets belong to the
project that stored them; payloads live in the server's memory only, as
this cloud's tokens do.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from typing import Any

import webob

from trove_it.localcloud import runtime
from trove_it.localcloud.drivers.secret_store import Secret, SecretStore
from trove_it.localcloud.endpoints.callers import required_account
from trove_it.localcloud.endpoints.wsgi_json import (
    BadRequest,
    NotFound,
    Router,
    json_response,
    request_json,
)
from trove_it.localcloud.identity import Account

MAX_VERSION = "1.1"
QUOTAS = {"secrets": -1, "orders": -1, "containers": -1, "consumers": -1, "cas": -1}


def store() -> SecretStore:
    return runtime.get().secrets


def _base() -> str:
    return f"{runtime.get().public_url}/key-manager"


def _ref(secret: Secret) -> str:
    return f"{_base()}/v1/secrets/{secret.id}"


def _secret_view(secret: Secret) -> dict[str, Any]:
    view: dict[str, Any] = {
        "secret_ref": _ref(secret), "name": secret.name, "status": "ACTIVE",
        "secret_type": secret.secret_type, "algorithm": secret.algorithm,
        "bit_length": secret.bit_length, "mode": secret.mode,
        "expiration": secret.expiration, "created": secret.created,
        "updated": secret.created, "creator_id": secret.creator_id,
        "consumers": list(secret.consumers)}
    if secret.content_type:
        view["content_types"] = {"default": secret.content_type}
    return view


def _find(request: webob.Request, secret_id: str) -> tuple[Secret, Account]:
    account = required_account(request)
    try:
        uuid.UUID(secret_id)
    except ValueError:
        raise NotFound("Not Found. Sorry but your secret is in another castle.") from None
    secret = store().secrets.get(secret_id)
    if secret is None or not (account.is_admin or secret.project_id == account.project_id):
        raise NotFound("Not Found. Sorry but your secret is in another castle.")
    return secret, account


def _decode_payload(spec: dict[str, Any]) -> tuple[bytes | None, str | None]:
    payload = spec.get("payload")
    if payload in (None, ""):
        return None, None
    content_type = spec.get("payload_content_type")
    if not content_type:
        raise BadRequest("Provided object does not match schema 'Secret': If 'payload' is "
                         "supplied, 'payload_content_type' must also be supplied.")
    encoding = spec.get("payload_content_encoding")
    if encoding == "base64":
        try:
            return base64.b64decode(str(payload), validate=True), content_type
        except (binascii.Error, ValueError) as exc:
            raise BadRequest("Problem decoding payload") from exc
    if encoding:
        raise BadRequest(f"Invalid payload_content_encoding {encoding!r}")
    return str(payload).encode(), content_type


# secrets --------------------------------------------------------------------------
def _create_secret(request: webob.Request) -> webob.Response:
    account = required_account(request)
    spec = request_json(request)
    if not isinstance(spec, dict):
        raise BadRequest("Provided object does not match schema 'Secret'")
    payload, content_type = _decode_payload(spec)
    bit_length = spec.get("bit_length")
    secret = Secret(
        id=str(uuid.uuid4()), project_id=account.project_id, creator_id=account.user_id,
        name=spec.get("name"), secret_type=spec.get("secret_type") or "opaque",
        payload=payload, content_type=content_type, algorithm=spec.get("algorithm"),
        bit_length=int(bit_length) if bit_length is not None else None,
        mode=spec.get("mode"), expiration=spec.get("expiration"))
    with store().lock:
        store().secrets[secret.id] = secret
    return json_response({"secret_ref": _ref(secret)}, status=201)


def _list_secrets(request: webob.Request) -> webob.Response:
    account = required_account(request)
    found = [s for s in list(store().secrets.values()) if s.project_id == account.project_id
             and request.params.get("name") in (None, s.name)]
    return json_response({"secrets": [_secret_view(s) for s in found], "total": len(found)})


def _show_secret(request: webob.Request, secret_id: str) -> webob.Response:
    secret, _ = _find(request, secret_id)
    return json_response(_secret_view(secret))


def _payload(request: webob.Request, secret_id: str) -> webob.Response:
    secret, _ = _find(request, secret_id)
    if secret.payload is None:
        raise NotFound("Not Found. Sorry but your payload is in another castle.")
    response = webob.Response(status=200)
    response.content_type = secret.content_type or "application/octet-stream"
    response.body = secret.payload
    return response


def _delete_secret(request: webob.Request, secret_id: str) -> webob.Response:
    secret, _ = _find(request, secret_id)
    with store().lock:
        store().secrets.pop(secret.id, None)
    return webob.Response(status=204)


# consumers (microversion 1.1) ---------------------------------------------------
def _consumer_spec(request: webob.Request) -> dict[str, str]:
    spec = request_json(request)
    missing = [k for k in ("service", "resource_type", "resource_id")
               if not isinstance(spec, dict) or not spec.get(k)]
    if missing:
        raise BadRequest(f"Provided object does not match schema 'Consumer': "
                         f"'{missing[0]}' is a required property")
    return {k: str(spec[k]) for k in ("service", "resource_type", "resource_id")}


def _add_consumer(request: webob.Request, secret_id: str) -> webob.Response:
    secret, _ = _find(request, secret_id)
    consumer = _consumer_spec(request)
    with store().lock:
        if consumer not in secret.consumers:
            secret.consumers.append(consumer)
    return json_response(_secret_view(secret))


def _remove_consumer(request: webob.Request, secret_id: str) -> webob.Response:
    secret, _ = _find(request, secret_id)
    consumer = _consumer_spec(request)
    with store().lock:
        if consumer not in secret.consumers:
            raise NotFound("Consumer not found.")
        secret.consumers.remove(consumer)
    return json_response(_secret_view(secret))


def _list_consumers(request: webob.Request, secret_id: str) -> webob.Response:
    secret, _ = _find(request, secret_id)
    consumers = [{**c, "created": secret.created, "updated": secret.created,
                  "status": "ACTIVE", "project_id": secret.project_id}
                 for c in secret.consumers]
    return json_response({"consumers": consumers, "total": len(consumers)})


# quotas ---------------------------------------------------------------------------
def _quotas(request: webob.Request) -> webob.Response:
    account = required_account(request)
    return json_response({"quotas": store().project_quotas.get(account.project_id, QUOTAS)})


def _project_quotas(request: webob.Request, project_id: str) -> webob.Response:
    account = required_account(request)
    if not account.is_admin:
        raise NotFound("Not Found.")
    if request.method == "PUT":
        quotas = (request_json(request) or {}).get("project_quotas") or {}
        store().project_quotas[project_id] = {**QUOTAS, **{k: int(v) for k, v in
                                                           quotas.items()}}
        return webob.Response(status=204)
    if request.method == "DELETE":
        store().project_quotas.pop(project_id, None)
        return webob.Response(status=204)
    if project_id not in store().project_quotas:
        raise NotFound("Not Found. Sorry but your quotas are in another castle.")
    return json_response({"project_quotas": store().project_quotas[project_id]})


# version discovery ----------------------------------------------------------------
def _version_doc() -> dict[str, Any]:
    return {"id": "v1", "status": "CURRENT", "min_version": "1.0",
            "max_version": MAX_VERSION, "links": [
                {"rel": "self", "href": f"{_base()}/v1/"},
                {"rel": "describedby", "type": "text/html",
                 "href": "https://docs.openstack.org/"}],
            "media-types": [{"base": "application/json",
                             "type": "application/vnd.openstack.key-manager-v1+json"}]}


def _versions(request: webob.Request) -> webob.Response:
    return json_response({"versions": {"values": [_version_doc()]}}, status=300)


def _version(request: webob.Request) -> webob.Response:
    return json_response({"version": _version_doc()})


def app_factory(global_config: dict[str, Any], **local_config: Any) -> Router:
    secret = "/v1/secrets/(?P<secret_id>[^/]+)"
    router = Router()
    router.add("GET", "", _versions)
    router.add("GET", "/v1", _version)
    router.add("GET", "/v1/secrets", _list_secrets)
    router.add("POST", "/v1/secrets", _create_secret)
    router.add("GET", secret, _show_secret)
    router.add("DELETE", secret, _delete_secret)
    router.add("GET", f"{secret}/payload", _payload)
    router.add("GET", f"{secret}/consumers", _list_consumers)
    router.add("POST", f"{secret}/consumers", _add_consumer)
    router.add("DELETE", f"{secret}/consumers", _remove_consumer)
    router.add("GET", "/v1/quotas", _quotas)
    for method in ("GET", "PUT", "DELETE"):
        router.add(method, "/v1/project-quotas/(?P<project_id>[^/]+)", _project_quotas)
    return router
