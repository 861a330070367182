"""A Swift v1 endpoint over the object store: accounts, containers, objects.

Published guest logs and backups are read back through here by
python-troveclient, swiftclient and the harness's leak check. A project may
reach only its own ``AUTH_<project id>`` account; an admin may reach any.
"""

from __future__ import annotations

from typing import Any

import webob
from swiftclient import exceptions as swift_exc

from trove_it.localcloud import runtime
from trove_it.localcloud.drivers.objectstore import account_for
from trove_it.localcloud.endpoints.callers import authenticated_account
from trove_it.localcloud.endpoints.wsgi_json import (
    Forbidden,
    HttpError,
    Router,
    Unauthorized,
    json_response,
)


def _authorize(request: webob.Request, account: str) -> None:
    caller = authenticated_account(request)
    if caller is None:
        raise Unauthorized("The request you have made requires authentication.")
    if not caller.is_admin and account != account_for(caller.project_id):
        raise Forbidden(f"Access to account {account} is not allowed.")


def _translate(exc: swift_exc.ClientException) -> HttpError:
    error = HttpError(exc.msg if hasattr(exc, "msg") else str(exc))
    error.status = exc.http_status or 500
    return error


def _listing(request: webob.Request, entries: list[dict[str, Any]], key: str,
             headers: dict[str, str]) -> webob.Response:
    fmt = request.params.get("format", "")
    if fmt == "json" or "json" in (request.accept.header_value or ""):
        response = json_response(entries, headers=headers)
    else:
        names = [e.get(key) or e.get("subdir", "") for e in entries]
        response = webob.Response(status=200 if names else 204, content_type="text/plain",
                                  charset="utf-8")
        response.text = "".join(f"{n}\n" for n in names)
        for header, value in headers.items():
            response.headers[header] = value
    if request.method == "HEAD":
        response.body = b""
    return response


def _account(request: webob.Request, account: str) -> webob.Response:
    _authorize(request, account)
    store = runtime.get().objects
    if request.method == "DELETE":
        # swift's keystoneauth lets only a reseller admin delete an account;
        # the reaper then removes what it held, done here at once
        caller = authenticated_account(request)
        if caller is None or not ({"ResellerAdmin", "admin"} & set(caller.roles)):
            raise Forbidden(f"Deleting account {account} needs the ResellerAdmin role.")
        store.delete_account(account)
        return webob.Response(status=204)
    entries = store.list_containers(account, request.params.get("prefix"))
    return _listing(request, entries, "name", store.account_headers(account))


def _container(request: webob.Request, account: str, container: str) -> webob.Response:
    _authorize(request, account)
    store = runtime.get().objects
    try:
        if request.method in ("PUT", "POST"):
            existed = store.container_exists(account, container)
            store.put_container(account, container, dict(request.headers))
            return webob.Response(status=202 if existed else 201)
        if request.method == "DELETE":
            store.delete_container(account, container)
            return webob.Response(status=204)
        limit = request.params.get("limit")
        entries = store.list_objects(account, container, prefix=request.params.get("prefix"),
                                     marker=request.params.get("marker"),
                                     limit=int(limit) if limit else None,
                                     delimiter=request.params.get("delimiter"))
        return _listing(request, entries, "name", store.container_headers(account, container))
    except swift_exc.ClientException as exc:
        raise _translate(exc) from exc


def _object(request: webob.Request, account: str, container: str, name: str) -> webob.Response:
    _authorize(request, account)
    store = runtime.get().objects
    try:
        if request.method == "PUT" and request.headers.get("X-Copy-From"):
            etag = store.copy_object(account, container, name, request.headers["X-Copy-From"],
                                     headers=dict(request.headers))
            response = webob.Response(status=201)
            response.headers["Etag"] = etag
            return response
        if request.method == "PUT" and request.params.get("multipart-manifest") == "put":
            etag = store.put_manifest(account, container, name, request.body,
                                      headers=dict(request.headers))
            response = webob.Response(status=201)
            response.headers["Etag"] = f'"{etag}"'
            return response
        if request.method == "PUT":
            # swiftclient streams a file-like body in chunked transfer encoding
            # (Trove's backup program does), which carries no Content-Length:
            # read the server's input to its end then.
            chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
            source = request.environ["wsgi.input"] if chunked else request.body_file

            def chunks() -> Any:
                while data := source.read(1024 * 1024):
                    yield data

            etag = store.put_object(account, container, name, chunks(),
                                    content_type=request.content_type or None,
                                    headers=dict(request.headers))
            response = webob.Response(status=201)
            response.headers["Etag"] = etag
            return response
        if request.method == "POST":
            store.post_object(account, container, name, dict(request.headers))
            return webob.Response(status=202)
        if request.method == "DELETE":
            store.delete_object(account, container, name, with_segments=request.params.get(
                "multipart-manifest") == "delete")
            return webob.Response(status=204)
        if request.params.get("multipart-manifest") == "get":
            segments = store.manifest_of(account, container, name)
            if segments is not None:
                return json_response(segments)
        headers = store.object_headers(account, container, name)
        response = webob.Response(status=200, content_type=headers["content-type"])
        for key, value in headers.items():
            if key not in ("content-type", "content-length"):
                response.headers[key] = value
        response.content_length = int(headers["content-length"])
        if request.method != "HEAD":
            response.app_iter = store.read_object(account, container, name)
        return response
    except swift_exc.ClientException as exc:
        raise _translate(exc) from exc


def app_factory(global_config: dict[str, Any], **local_config: Any) -> Router:
    router = Router()
    acct = "/v1/(?P<account>AUTH_[^/]+)"
    for method in ("GET", "HEAD", "DELETE"):
        router.add(method, acct, _account)
    for method in ("GET", "HEAD", "PUT", "POST", "DELETE"):
        router.add(method, acct + "/(?P<container>[^/]+)", _container)
        router.add(method, acct + "/(?P<container>[^/]+)/(?P<name>.+)", _object)
    return router
