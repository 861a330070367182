"""Keystone v3's admin API for domains, projects, users and role assignments.

What tempest's dynamic credentials call to give each test class a project
of its own with an admin and a member user, and to remove them afterwards.
Reads are open to any authenticated caller (filtered to their own project
and user unless admin); writes need the admin role, as keystone's default
policy says.
"""

from __future__ import annotations

from typing import Any

import webob

from trove_it.localcloud import runtime
from trove_it.localcloud.directory import (
    DOMAIN_NAME,
    ROLE_NAMES,
    DirectoryError,
    Project,
    User,
    role_id,
    role_name,
)
from trove_it.localcloud.endpoints.callers import required_account
from trove_it.localcloud.endpoints.wsgi_json import (
    Forbidden,
    HttpError,
    Router,
    json_response,
    request_json,
)
from trove_it.localcloud.identity import DOMAIN, Account


class _Status(HttpError):
    def __init__(self, error: DirectoryError):
        super().__init__(error.message)
        self.status = error.status


def _admin(request: webob.Request) -> Account:
    account = required_account(request)
    if not account.is_admin:
        raise Forbidden("You are not authorized to perform the requested action.")
    return account


def _link(kind: str, ident: str) -> dict[str, str]:
    return {"self": f"{runtime.get().public_url}/identity/v3/{kind}/{ident}"}


def _project_ref(project: Project) -> dict[str, Any]:
    return {"id": project.id, "name": project.name, "domain_id": DOMAIN, "enabled": True,
            "is_domain": False, "parent_id": DOMAIN, "description": project.description,
            "tags": [], "options": {}, "links": _link("projects", project.id)}


def _user_ref(user: User) -> dict[str, Any]:
    directory = runtime.get().directory
    default = directory.project(user.default_project) if user.default_project else None
    return {"id": user.id, "name": user.name, "domain_id": DOMAIN, "enabled": True,
            "default_project_id": default.id if default else None,
            "password_expires_at": None, "options": {}, "links": _link("users", user.id)}


def _role_ref(name: str) -> dict[str, Any]:
    return {"id": role_id(name), "name": name, "domain_id": None, "description": None,
            "options": {}, "links": _link("roles", role_id(name))}


def _domain_ref() -> dict[str, Any]:
    return {"id": DOMAIN, "name": DOMAIN_NAME, "enabled": True, "description": "",
            "tags": [], "options": {}, "links": _link("domains", DOMAIN)}


def _by_name(refs: list[dict[str, Any]], request: webob.Request) -> list[dict[str, Any]]:
    name = request.params.get("name")
    return [r for r in refs if name is None or r["name"] == name]


def _directory_call(call: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return call(*args, **kwargs)
    except DirectoryError as exc:
        raise _Status(exc) from exc


# domains and roles: fixed -------------------------------------------------
def _domains(request: webob.Request) -> webob.Response:
    required_account(request)
    return json_response({"domains": _by_name([_domain_ref()], request)})


def _domain(request: webob.Request, ref: str) -> webob.Response:
    required_account(request)
    if ref not in (DOMAIN, DOMAIN_NAME):
        raise _Status(DirectoryError(404, f"Could not find domain: {ref}."))
    return json_response({"domain": _domain_ref()})


def _roles(request: webob.Request) -> webob.Response:
    required_account(request)
    return json_response({"roles": _by_name([_role_ref(n) for n in ROLE_NAMES], request)})


# projects -------------------------------------------------------------------
def _projects(request: webob.Request) -> webob.Response:
    account = required_account(request)
    directory = runtime.get().directory
    refs = [_project_ref(p) for p in list(directory.projects.values())
            if account.is_admin or p.id == account.project_id]
    return json_response({"projects": _by_name(refs, request)})


def _project(request: webob.Request, ref: str) -> webob.Response:
    account = required_account(request)
    project = runtime.get().directory.project(ref)
    if project is None or not (account.is_admin or project.id == account.project_id):
        raise _Status(DirectoryError(404, f"Could not find project: {ref}."))
    return json_response({"project": _project_ref(project)})


def _create_project(request: webob.Request) -> webob.Response:
    _admin(request)
    spec = request_json(request).get("project") or {}
    project = _directory_call(runtime.get().directory.create_project, spec.get("name", ""),
                              spec.get("description") or "", spec.get("domain_id") or DOMAIN)
    return json_response({"project": _project_ref(project)}, status=201)


def _delete_project(request: webob.Request, ref: str) -> webob.Response:
    _admin(request)
    _directory_call(runtime.get().directory.delete_project, ref)
    return webob.Response(status=204)


# users ------------------------------------------------------------------------
def _users(request: webob.Request) -> webob.Response:
    account = required_account(request)
    directory = runtime.get().directory
    refs = [_user_ref(u) for u in list(directory.users.values())
            if account.is_admin or u.id == account.user_id]
    return json_response({"users": _by_name(refs, request)})


def _user(request: webob.Request, ref: str) -> webob.Response:
    account = required_account(request)
    user = runtime.get().directory.user(ref)
    if user is None or not (account.is_admin or user.id == account.user_id):
        raise _Status(DirectoryError(404, f"Could not find user: {ref}."))
    return json_response({"user": _user_ref(user)})


def _create_user(request: webob.Request) -> webob.Response:
    _admin(request)
    spec = request_json(request).get("user") or {}
    directory = runtime.get().directory
    default = spec.get("default_project_id")
    if default and directory.project(default) is None:
        raise _Status(DirectoryError(404, f"Could not find project: {default}."))
    user = _directory_call(directory.create_user, spec.get("name", ""),
                           spec.get("password") or "", default, spec.get("domain_id") or DOMAIN)
    return json_response({"user": _user_ref(user)}, status=201)


def _delete_user(request: webob.Request, ref: str) -> webob.Response:
    _admin(request)
    _directory_call(runtime.get().directory.delete_user, ref)
    return webob.Response(status=204)


# role assignments on projects ---------------------------------------------
def _project_user_roles(request: webob.Request, pid: str, uid: str) -> webob.Response:
    _admin(request)
    directory = runtime.get().directory
    project, user = directory.project(pid), directory.user(uid)
    if project is None or user is None:
        raise _Status(DirectoryError(404, f"Could not find project or user: {pid}, {uid}."))
    return json_response({"roles": [_role_ref(n) for n in directory.roles_of(user, project)]})


def _grant(request: webob.Request, pid: str, uid: str, rid: str) -> webob.Response:
    _admin(request)
    _directory_call(runtime.get().directory.grant, pid, uid, rid)
    return webob.Response(status=204)


def _revoke(request: webob.Request, pid: str, uid: str, rid: str) -> webob.Response:
    _admin(request)
    _directory_call(runtime.get().directory.revoke, pid, uid, rid)
    return webob.Response(status=204)


def _check(request: webob.Request, pid: str, uid: str, rid: str) -> webob.Response:
    _admin(request)
    directory = runtime.get().directory
    project, user = directory.project(pid), directory.user(uid)
    held = directory.roles_of(user, project) if project and user else ()
    if _directory_call(role_name, rid) not in held:
        raise _Status(DirectoryError(404, "Could not find role assignment."))
    return webob.Response(status=204)


def add_routes(router: Router) -> None:
    """Mount the admin API on the identity app's router."""
    ident = "[^/]+"
    router.add("GET", "/v3/domains", _domains)
    router.add("GET", f"/v3/domains/(?P<ref>{ident})", _domain)
    router.add("GET", "/v3/roles", _roles)
    router.add("GET", "/v3/projects", _projects)
    router.add("POST", "/v3/projects", _create_project)
    router.add("GET", "/v3/auth/projects", _projects)
    router.add("GET", f"/v3/projects/(?P<ref>{ident})", _project)
    router.add("DELETE", f"/v3/projects/(?P<ref>{ident})", _delete_project)
    router.add("GET", "/v3/users", _users)
    router.add("POST", "/v3/users", _create_user)
    router.add("GET", f"/v3/users/(?P<ref>{ident})", _user)
    router.add("DELETE", f"/v3/users/(?P<ref>{ident})", _delete_user)
    assignments = f"/v3/projects/(?P<pid>{ident})/users/(?P<uid>{ident})/roles"
    router.add("GET", assignments, _project_user_roles)
    router.add("PUT", f"{assignments}/(?P<rid>{ident})", _grant)
    router.add("DELETE", f"{assignments}/(?P<rid>{ident})", _revoke)
    router.add("HEAD", f"{assignments}/(?P<rid>{ident})", _check)
