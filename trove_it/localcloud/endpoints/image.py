"""A Glance v2 endpoint over the image store: create, upload, show, list,
download, update (JSON patch), tags and delete, as openstacksdk and the
``openstack image`` commands use them.
"""

from __future__ import annotations

from typing import Any

import webob
from glanceclient import exc as glance_exc

from trove_it.localcloud import runtime
from trove_it.localcloud.endpoints.callers import required_account
from trove_it.localcloud.endpoints.wsgi_json import (
    BadRequest,
    Conflict,
    Forbidden,
    HttpError,
    NotFound,
    Router,
    json_response,
    request_json,
)
from trove_it.localcloud.identity import Account

SETTABLE = ("name", "disk_format", "container_format", "visibility", "min_disk", "min_ram",
            "protected", "tags", "id")


def _account(request: webob.Request) -> Account:
    return required_account(request)


def _translate(exc: Exception) -> HttpError:
    if isinstance(exc, glance_exc.HTTPNotFound):
        return NotFound(str(exc))
    if isinstance(exc, glance_exc.HTTPConflict):
        return Conflict(str(exc))
    if isinstance(exc, glance_exc.HTTPForbidden):
        return Forbidden(str(exc))
    return BadRequest(str(exc))


def _view(image: dict[str, Any]) -> dict[str, Any]:
    base = f"{runtime.get().public_url}/image"
    return {**image, "self": f"/v2/images/{image['id']}",
            "file": f"/v2/images/{image['id']}/file", "schema": "/v2/schemas/image",
            "direct_url": f"{base}/v2/images/{image['id']}/file"}


def _visible(account: Account, image: dict[str, Any]) -> bool:
    return account.is_admin or image["owner"] == account.project_id or \
        image["visibility"] in ("public", "community")


def _load(account: Account, image_id: str) -> dict[str, Any]:
    try:
        image = runtime.get().images.get(image_id)
    except Exception as exc:  # noqa: BLE001 - glance errors map to HTTP
        raise _translate(exc) from exc
    if not _visible(account, image):
        raise NotFound(f"No image found with ID {image_id}")
    return image


def _owned(account: Account, image_id: str) -> dict[str, Any]:
    image = _load(account, image_id)
    if not (account.is_admin or image["owner"] == account.project_id):
        raise Forbidden(f"You are not permitted to modify image {image_id}.")
    return image


def _versions(request: webob.Request) -> webob.Response:
    base = f"{runtime.get().public_url}/image"
    return json_response({"versions": [{"id": "v2.16", "status": "CURRENT",
                                        "links": [{"rel": "self", "href": f"{base}/v2/"}]}]},
                         status=300)


def _list(request: webob.Request) -> webob.Response:
    account = _account(request)
    tags = request.params.getall("tag")
    filters = {k: request.params[k] for k in ("name", "status", "visibility", "owner")
               if k in request.params}
    images = [i for i in runtime.get().images.list(tags=tags, **filters) if _visible(account, i)]
    return json_response({"images": [_view(i) for i in images], "schema": "/v2/schemas/images",
                          "first": "/v2/images"})


def _create(request: webob.Request) -> webob.Response:
    account = _account(request)
    spec = request_json(request)
    known = {k: spec[k] for k in SETTABLE if k in spec}
    extra = {k: v for k, v in spec.items() if k not in SETTABLE}
    if "visibility" in known and known["visibility"] == "public" and not account.is_admin:
        raise Forbidden("Only an administrator can publish images.")
    try:
        image = runtime.get().images.create(
            name=known.get("name"), owner=account.project_id, image_id=known.get("id"),
            disk_format=known.get("disk_format"),
            container_format=known.get("container_format"), tags=known.get("tags", []),
            visibility=known.get("visibility", "shared"), min_disk=known.get("min_disk", 0),
            min_ram=known.get("min_ram", 0), protected=known.get("protected", False), **extra)
    except Exception as exc:  # noqa: BLE001
        raise _translate(exc) from exc
    return json_response(_view(image), status=201)


def _show(request: webob.Request, image_id: str) -> webob.Response:
    return json_response(_view(_load(_account(request), image_id)))


def _upload(request: webob.Request, image_id: str) -> webob.Response:
    account = _account(request)
    _owned(account, image_id)

    def chunks() -> Any:
        stream = request.body_file
        while True:
            data = stream.read(1024 * 1024)
            if not data:
                return
            yield data

    try:
        runtime.get().images.upload(image_id, chunks())
    except Exception as exc:  # noqa: BLE001
        raise _translate(exc) from exc
    return webob.Response(status=204)


def _download(request: webob.Request, image_id: str) -> webob.Response:
    image = _load(_account(request), image_id)
    if image["status"] != "active":
        return webob.Response(status=204)
    response = webob.Response(status=200, content_type="application/octet-stream")
    response.app_iter = runtime.get().images.read(image_id)
    response.content_length = image["size"]
    response.headers["Content-MD5"] = image["checksum"]
    return response


def _patch(request: webob.Request, image_id: str) -> webob.Response:
    account = _account(request)
    image = _owned(account, image_id)
    operations = request_json(request)
    if not isinstance(operations, list):
        raise BadRequest("Expected a JSON patch document (a list of operations).")
    changes: dict[str, Any] = {}
    for op in operations:
        path = str(op.get("path", "")).lstrip("/")
        if op.get("op") in ("add", "replace"):
            changes[path] = op.get("value")
        elif op.get("op") == "remove":
            changes[path] = [] if path == "tags" else None
        else:
            raise BadRequest(f"Unsupported patch operation {op.get('op')!r}.")
    try:
        image = runtime.get().images.update(image_id, **changes)
    except Exception as exc:  # noqa: BLE001
        raise _translate(exc) from exc
    return json_response(_view(image))


def _tag(request: webob.Request, image_id: str, tag: str) -> webob.Response:
    account = _account(request)
    image = _owned(account, image_id)
    tags = set(image["tags"])
    (tags.add if request.method == "PUT" else tags.discard)(tag)
    runtime.get().images.update(image_id, tags=sorted(tags))
    return webob.Response(status=204)


def _delete(request: webob.Request, image_id: str) -> webob.Response:
    account = _account(request)
    _owned(account, image_id)
    try:
        runtime.get().images.delete(image_id)
    except Exception as exc:  # noqa: BLE001
        raise _translate(exc) from exc
    return webob.Response(status=204)


def _schema(request: webob.Request, kind: str) -> webob.Response:
    properties = {key: {"type": ["null", "string", "integer", "boolean", "array"]}
                  for key in ImageSchemaKeys}
    return json_response({"name": kind.rstrip("s"), "properties": properties,
                          "additionalProperties": {"type": "string"}})


ImageSchemaKeys = ("id", "name", "status", "tags", "disk_format", "container_format", "size",
                   "virtual_size", "checksum", "os_hash_algo", "os_hash_value", "min_disk",
                   "min_ram", "visibility", "owner", "protected", "created_at", "updated_at",
                   "self", "file", "schema", "direct_url")


def app_factory(global_config: dict[str, Any], **local_config: Any) -> Router:
    router = Router()
    router.add("GET", "", _versions)
    router.add("GET", "/versions", _versions)
    router.add("GET", "/v2/schemas/(?P<kind>images?)", _schema)
    router.add("GET", "/v2/images", _list)
    router.add("POST", "/v2/images", _create)
    router.add("GET", "/v2/images/(?P<image_id>[^/]+)", _show)
    router.add("PATCH", "/v2/images/(?P<image_id>[^/]+)", _patch)
    router.add("DELETE", "/v2/images/(?P<image_id>[^/]+)", _delete)
    router.add("PUT", "/v2/images/(?P<image_id>[^/]+)/file", _upload)
    router.add("GET", "/v2/images/(?P<image_id>[^/]+)/file", _download)
    router.add("PUT", "/v2/images/(?P<image_id>[^/]+)/tags/(?P<tag>[^/]+)", _tag)
    router.add("DELETE", "/v2/images/(?P<image_id>[^/]+)/tags/(?P<tag>[^/]+)", _tag)
    return router
