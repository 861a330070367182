"""Trove's serialized user and schema dicts, to and from engine values.

The API hands the guest ``DatastoreUser``/``DatastoreSchema`` ``__dict__``s
(underscored keys) and reads the same shape back. MySQL-family users are
identified by ``name@host``; PostgreSQL users have no host.
"""

from __future__ import annotations

from typing import Any

from trove_it.localcloud.engines.base import Database, User

WILDCARD = "%"


def database_from(data: dict[str, Any]) -> Database:
    return Database(str(data.get("_name") or data.get("name")),
                    data.get("_character_set") or data.get("character_set") or None,
                    data.get("_collate") or data.get("collate") or None)


def database_to(database: Database) -> dict[str, Any]:
    return {"_name": database.name, "_character_set": database.character_set,
            "_collate": database.collate}


def user_from(data: dict[str, Any], hosts: bool) -> User:
    name = data.get("_name") if "_name" in data else data.get("name")
    host = data.get("_host") if "_host" in data else data.get("host")
    password = data.get("_password") if "_password" in data else data.get("password")
    databases = data.get("_databases") if "_databases" in data else data.get("databases")
    return User(str(name), (host or WILDCARD) if hosts else None, password,
                [database_from(d).name if isinstance(d, dict) else str(d)
                 for d in databases or []])


def user_to(user: User, hosts: bool, databases: list[Database] | None = None) -> dict[str, Any]:
    by_name = {d.name: d for d in databases or []}
    return {
        "_name": user.name,
        "_host": (user.host or WILDCARD) if hosts else None,
        "_password": None,
        "_databases": [database_to(by_name.get(name) or Database(name))
                       for name in user.databases],
        "_is_root": False,
    }


def root_to(name: str, password: str, hosts: bool) -> dict[str, Any]:
    return {"_name": name, "_host": WILDCARD if hosts else None, "_password": password,
            "_databases": [], "_is_root": True}


def user_key(user: User, hosts: bool) -> str:
    return f"{user.name}@{user.host or WILDCARD}" if hosts else user.name
