"""Small JSON helpers shared by the local cloud's own HTTP endpoints."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import webob
import webob.dec
import webob.exc

Handler = Callable[..., webob.Response]


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None
                  ) -> webob.Response:
    response = webob.Response(status=status, content_type="application/json", charset="utf-8")
    response.text = json.dumps(body)
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def error_response(status: int, message: str) -> webob.Response:
    title = webob.exc.status_map.get(status, webob.exc.HTTPError).title
    return json_response({"error": {"code": status, "title": title, "message": message}}, status)


def request_json(request: webob.Request) -> Any:
    if not request.body:
        return {}
    try:
        return json.loads(request.body)
    except ValueError as exc:
        raise BadRequest(f"malformed JSON body: {exc}") from exc


class HttpError(Exception):
    status = 500

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class BadRequest(HttpError):
    status = 400


class Unauthorized(HttpError):
    status = 401


class Forbidden(HttpError):
    status = 403


class NotFound(HttpError):
    status = 404


class Conflict(HttpError):
    status = 409


class Router:
    """Method + regex routing, just enough for the small local endpoints."""

    def __init__(self) -> None:
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        self._routes.append((method, re.compile(f"^{pattern}/?$"), handler))

    @webob.dec.wsgify
    def __call__(self, request: webob.Request) -> webob.Response:
        path = request.path_info or "/"
        allowed = False
        for method, regex, handler in self._routes:
            match = regex.match(path)
            if not match:
                continue
            allowed = True
            if method != request.method and not (method == "GET" and request.method == "HEAD"):
                continue
            try:
                return handler(request, **match.groupdict())
            except HttpError as exc:
                return error_response(exc.status, exc.message)
        if allowed:
            return error_response(405, f"{request.method} not allowed on {path}")
        return error_response(404, f"no such resource: {path}")
