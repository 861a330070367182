"""Keystone's admin API on the local cloud, as keystone's API reference
documents it and as tempest's dynamic credentials use it: find the domain,
create a project and a user, grant roles, get a token scoped to the new
project, and remove them; and the refusals (403 for non-admins, 409 for a
duplicate name, 401 for a user with no role on the project)."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
import requests
import yaml

from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.layout import CloudDescriptor


def _token(auth_url: str, user: dict[str, Any], password: str,
           project: dict[str, Any]) -> requests.Response:
    body: dict[str, Any] = {"auth": {"identity": {"methods": ["password"], "password": {
        "user": {**user, "password": password}}}, "scope": {"project": project}}}
    return requests.post(f"{auth_url}/auth/tokens", json=body, timeout=30)


class _Identity:
    def __init__(self, cloud: CloudDescriptor, role: str):
        entry = yaml.safe_load(open(cloud.clouds_yaml))["clouds"][cloud_names(cloud.name)[role]]
        auth = entry["auth"]
        self.url = auth["auth_url"]
        response = _token(self.url, {"name": auth["username"], "domain": {"name": "Default"}},
                          auth["password"], {"name": auth["project_name"],
                                             "domain": {"name": "Default"}})
        assert response.status_code == 201, response.text
        self.headers = {"X-Auth-Token": response.headers["X-Subject-Token"]}

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}{path}", headers=self.headers,
                                timeout=30, **kwargs)


@pytest.fixture
def admin(selftest_cloud: CloudDescriptor) -> _Identity:
    return _Identity(selftest_cloud, "admin")


def test_dynamic_credentials_round_trip(admin: _Identity) -> None:
    domains = admin.call("GET", "/domains", params={"name": "Default"}).json()["domains"]
    assert [d["name"] for d in domains] == ["Default"]
    domain_id = domains[0]["id"]
    name = f"selftest-{secrets.token_hex(4)}"
    created = admin.call("POST", "/projects", json={"project": {
        "name": name, "description": "dynamic", "domain_id": domain_id}})
    assert created.status_code == 201, created.text
    project = created.json()["project"]
    assert admin.call("POST", "/projects", json={"project": {
        "name": name, "domain_id": domain_id}}).status_code == 409
    user_created = admin.call("POST", "/users", json={"user": {
        "name": f"{name}-member", "password": "s3cret-pw", "domain_id": domain_id}})
    assert user_created.status_code == 201, user_created.text
    user = user_created.json()["user"]
    # no role yet: keystone refuses a token scoped to the project
    assert _token(admin.url, {"id": user["id"]}, "s3cret-pw",
                  {"id": project["id"]}).status_code == 401
    roles = {r["name"].lower(): r["id"] for r in admin.call("GET", "/roles").json()["roles"]}
    grant = admin.call("PUT", f"/projects/{project['id']}/users/{user['id']}/roles/"
                              f"{roles['member']}")
    assert grant.status_code == 204, grant.text
    listed = admin.call("GET", f"/projects/{project['id']}/users/{user['id']}/roles")
    assert [r["name"] for r in listed.json()["roles"]] == ["member"]
    scoped = _token(admin.url, {"id": user["id"]}, "s3cret-pw", {"id": project["id"]})
    assert scoped.status_code == 201, scoped.text
    token = scoped.json()["token"]
    assert token["project"]["id"] == project["id"]
    assert [r["name"] for r in token["roles"]] == ["member"]
    # the new member's token works on the cloud's other services, as its own project
    member_headers = {"X-Auth-Token": scoped.headers["X-Subject-Token"]}
    database = next(s for s in token["catalog"] if s["type"] == "database")
    instances = requests.get(f"{database['endpoints'][0]['url']}/instances",
                             headers=member_headers, timeout=30)
    assert instances.status_code == 200 and instances.json() == {"instances": []}
    # and it is no admin
    forbidden = requests.post(f"{admin.url}/projects", headers=member_headers, timeout=30,
                              json={"project": {"name": f"{name}-2"}})
    assert forbidden.status_code == 403
    assert admin.call("DELETE", f"/users/{user['id']}").status_code == 204
    assert admin.call("GET", f"/users/{user['id']}").status_code == 404
    assert admin.call("DELETE", f"/projects/{project['id']}").status_code == 204
    names = [p["name"] for p in admin.call("GET", "/projects").json()["projects"]]
    assert name not in names


def test_members_see_only_their_own_project(selftest_cloud: CloudDescriptor) -> None:
    member = _Identity(selftest_cloud, "member")
    projects = member.call("GET", "/projects").json()["projects"]
    assert [p["name"] for p in projects] == ["demo"]
    assert member.call("DELETE", f"/projects/{projects[0]['id']}").status_code == 403
