"""Keystone's directory: projects, users, roles and who holds which role where.

The cloud's three accounts (``identity.Identity``) are seeded into it at
start; an admin can then add projects and users and grant them roles through
the identity admin API, as tempest's dynamic credentials do for each test
class. What is added lives as long as the server process: a test run's
throwaway users are not worth persisting.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field

from trove_it.localcloud.identity import DOMAIN, Account, Identity, project_id, user_id

DOMAIN_NAME = "Default"
ROLE_NAMES = ("admin", "member", "reader", "service", "ResellerAdmin")


def role_id(name: str) -> str:
    return hashlib.md5(f"trove-it-role:{name}".encode()).hexdigest()


class DirectoryError(Exception):
    """What keystone answers with a 4xx: the status and its message."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Project:
    name: str
    description: str = ""

    @property
    def id(self) -> str:
        return project_id(self.name)


@dataclass
class User:
    name: str
    password: str
    default_project: str | None = None

    @property
    def id(self) -> str:
        return user_id(self.name)


@dataclass
class Directory:
    """Thread-safe: the API and tempest's parallel classes write to it at once."""

    projects: dict[str, Project] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    # (user id, project id) -> role names
    grants: dict[tuple[str, str], set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def seeded(cls, identity: Identity) -> Directory:
        directory = cls()
        for account in identity.accounts():
            directory.projects[account.project_id] = Project(account.project)
            directory.users[account.user_id] = User(account.user, account.password,
                                                    account.project)
            directory.grants[(account.user_id, account.project_id)] = set(account.roles)
        return directory

    # lookups -----------------------------------------------------------
    def user(self, ref: str) -> User | None:
        """A user by id or name."""
        with self._lock:
            return self.users.get(ref) or next(
                (u for u in self.users.values() if u.name == ref), None)

    def project(self, ref: str) -> Project | None:
        with self._lock:
            return self.projects.get(ref) or next(
                (p for p in self.projects.values() if p.name == ref), None)

    def roles_of(self, user: User, project: Project) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self.grants.get((user.id, project.id), ())))

    def account(self, user: User, project: Project | None) -> Account:
        """The account a token scoped to ``project`` (or the user's default
        project) stands for; 401 when the user holds no role there."""
        project = project or (self.project(user.default_project)
                              if user.default_project else None)
        if project is None:
            raise DirectoryError(401, f"User {user.name} has no default project; "
                                      "scope the token to a project.")
        roles = self.roles_of(user, project)
        if not roles:
            raise DirectoryError(401, f"User {user.name} has no access to project "
                                      f"{project.name}.")
        return Account(user.name, user.password, project.name, roles)

    # admin writes --------------------------------------------------------
    def create_project(self, name: str, description: str = "", domain_id: str = DOMAIN
                       ) -> Project:
        _check_domain(domain_id)
        if not name:
            raise DirectoryError(400, "Invalid input for field 'name': a project needs a name.")
        with self._lock:
            if any(p.name == name for p in self.projects.values()):
                raise DirectoryError(409, f"Conflict occurred attempting to store project "
                                          f"- it is not permitted to have two projects with "
                                          f"the same name in the same domain : {name}.")
            project = Project(name, description)
            self.projects[project.id] = project
            return project

    def create_user(self, name: str, password: str, default_project: str | None = None,
                    domain_id: str = DOMAIN) -> User:
        _check_domain(domain_id)
        if not name:
            raise DirectoryError(400, "Invalid input for field 'name': a user needs a name.")
        with self._lock:
            if any(u.name == name for u in self.users.values()):
                raise DirectoryError(409, f"Conflict occurred attempting to store user - "
                                          f"Duplicate entry found with name {name} at domain ID "
                                          f"{DOMAIN}.")
            user = User(name, password, default_project)
            self.users[user.id] = user
            return user

    def grant(self, project_ref: str, user_ref: str, role_ref: str) -> None:
        project, user = self._require_project(project_ref), self._require_user(user_ref)
        role = role_name(role_ref)
        with self._lock:
            self.grants.setdefault((user.id, project.id), set()).add(role)

    def revoke(self, project_ref: str, user_ref: str, role_ref: str) -> None:
        project, user = self._require_project(project_ref), self._require_user(user_ref)
        role = role_name(role_ref)
        with self._lock:
            held = self.grants.get((user.id, project.id), set())
            if role not in held:
                raise DirectoryError(404, f"Could not find role assignment with role: "
                                          f"{role_id(role)}, user or group: {user.id}, "
                                          f"project, domain, or system: {project.id}.")
            held.discard(role)

    def delete_user(self, ref: str) -> None:
        user = self._require_user(ref)
        with self._lock:
            del self.users[user.id]
            for key in [k for k in self.grants if k[0] == user.id]:
                del self.grants[key]

    def delete_project(self, ref: str) -> None:
        project = self._require_project(ref)
        with self._lock:
            del self.projects[project.id]
            for key in [k for k in self.grants if k[1] == project.id]:
                del self.grants[key]

    def _require_user(self, ref: str) -> User:
        user = self.user(ref)
        if user is None:
            raise DirectoryError(404, f"Could not find user: {ref}.")
        return user

    def _require_project(self, ref: str) -> Project:
        project = self.project(ref)
        if project is None:
            raise DirectoryError(404, f"Could not find project: {ref}.")
        return project


def role_name(ref: str) -> str:
    """A role's name from its id or name (404 for neither)."""
    for name in ROLE_NAMES:
        if ref in (name, role_id(name)):
            return name
    raise DirectoryError(404, f"Could not find role: {ref}.")


def _check_domain(domain_id: str) -> None:
    if domain_id not in (DOMAIN, DOMAIN_NAME):
        raise DirectoryError(404, f"Could not find domain: {domain_id}.")
