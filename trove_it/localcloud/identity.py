"""Users, projects and roles of a local cloud.

Three accounts, as a Trove test needs them: an admin, the project user who
owns the test resources, and a second non-admin user in another project for
cross-tenant checks. Passwords are random per cloud and only ever written to
files readable by the owner.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

import yaml

REGION = "RegionOne"
DOMAIN = "default"


def project_id(name: str) -> str:
    """Stable project id for a project name, so golden databases stay valid."""
    return hashlib.md5(f"trove-it-project:{name}".encode()).hexdigest()


def user_id(name: str) -> str:
    return hashlib.md5(f"trove-it-user:{name}".encode()).hexdigest()


@dataclass(frozen=True)
class Account:
    user: str
    password: str
    project: str
    roles: tuple[str, ...]

    @property
    def project_id(self) -> str:
        return project_id(self.project)

    @property
    def user_id(self) -> str:
        return user_id(self.user)

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles


@dataclass(frozen=True)
class Identity:
    admin: Account
    member: Account
    alt_member: Account

    @classmethod
    def generate(cls) -> Identity:
        return cls(
            admin=Account("admin", secrets.token_urlsafe(18), "admin", ("admin", "member")),
            member=Account("demo", secrets.token_urlsafe(18), "demo", ("member",)),
            alt_member=Account("alt_demo", secrets.token_urlsafe(18), "alt_demo", ("member",)),
        )

    def accounts(self) -> list[Account]:
        return [self.admin, self.member, self.alt_member]

    def find(self, user: str) -> Account | None:
        return next((a for a in self.accounts() if a.user == user), None)

    def save(self, path: Path) -> None:
        data = {k: asdict(v) for k, v in (("admin", self.admin), ("member", self.member),
                                           ("alt_member", self.alt_member))}
        _write_private(path, json.dumps(data, indent=2))

    @classmethod
    def load(cls, path: Path) -> Identity:
        data = json.loads(path.read_text())

        def account(key: str) -> Account:
            raw = data[key]
            return Account(raw["user"], raw["password"], raw["project"], tuple(raw["roles"]))

        return cls(account("admin"), account("member"), account("alt_member"))


def cloud_names(name: str) -> dict[str, str]:
    """clouds.yaml entry names: the member cloud is the cloud's own name."""
    return {"member": name, "admin": f"{name}-admin", "alt_member": f"{name}-alt"}


def write_clouds_yaml(path: Path, name: str, auth_url: str, identity: Identity) -> None:
    """Write a clouds.yaml that keystoneauth, openstacksdk and OSC all read."""
    names = cloud_names(name)
    clouds = {}
    for key, account in (("member", identity.member), ("admin", identity.admin),
                         ("alt_member", identity.alt_member)):
        clouds[names[key]] = {
            "auth": {
                "auth_url": auth_url,
                "username": account.user,
                "password": account.password,
                "project_name": account.project,
                "user_domain_name": "Default",
                "project_domain_name": "Default",
            },
            "region_name": REGION,
            "interface": "public",
            "identity_api_version": 3,
        }
    _write_private(path, yaml.safe_dump({"clouds": clouds}, sort_keys=False))


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
