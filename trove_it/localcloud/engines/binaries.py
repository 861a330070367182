"""Which engine programs this machine has, and which package provides each.

Imported by the CLI and the harness as well as the server, so it must not
import Trove. A missing program makes its datastores unavailable, reported
in one line that names the Debian/Ubuntu package to install.
"""

from __future__ import annotations

import glob
import os
import shutil
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Program:
    name: str
    package: str


# Engine kind -> the programs it cannot run without.
REQUIRED: dict[str, tuple[Program, ...]] = {
    "mariadb": (
        Program("mariadbd", "mariadb-server"),
        Program("mariadb-install-db", "mariadb-server"),
        Program("mariadb-dump", "mariadb-client"),
        Program("mariadb", "mariadb-client"),
    ),
    "postgresql": (
        Program("postgres", "postgresql"),
        Program("initdb", "postgresql"),
        Program("pg_basebackup", "postgresql-client"),
        Program("pg_dumpall", "postgresql-client"),
        Program("psql", "postgresql-client"),
    ),
    "redis": (
        Program("redis-server", "redis-server"),
    ),
    "memory": (),
}

# What `trove-it cloud install-engines` installs (galera-4 and rsync form the
# local cloud's Galera clusters; Debian's mariadb-server depends on both).
PACKAGES = ("mariadb-server", "mariadb-client", "galera-4", "rsync", "postgresql",
            "postgresql-client", "redis-server")

EXTRA_DIRS = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def _postgres_dirs() -> list[str]:
    return sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)


def find(program: str) -> str | None:
    """Absolute path of a program, also looking where Debian hides servers.

    ``TROVE_IT_ENGINE_PATH`` (a PATH-style list) replaces the search, to use
    engines built elsewhere.
    """
    override = os.environ.get("TROVE_IT_ENGINE_PATH")
    if override is not None:
        return shutil.which(program, path=override)
    found = shutil.which(program)
    if found:
        return found
    for directory in (*EXTRA_DIRS, *_postgres_dirs()):
        candidate = Path(directory) / program
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def missing(engine: str) -> list[Program]:
    return [p for p in REQUIRED.get(engine, ()) if find(p.name) is None]


def unavailable_reason(engine: str) -> str | None:
    """One line saying what is missing and how to get it, or None if ready."""
    gaps = missing(engine)
    if not gaps:
        return None
    programs = ", ".join(p.name for p in gaps)
    packages = " ".join(sorted({p.package for p in gaps}))
    return (f"{engine} engine unavailable: {programs} not found; install it with "
            f"'apt-get install {packages}' or 'trove-it cloud install-engines'")


def require(engine: str, program: str) -> str:
    path = find(program)
    if path is None:
        raise EngineUnavailable(unavailable_reason(engine) or f"{program} not found")
    return path


class EngineUnavailable(RuntimeError):
    """An engine program is missing; the message says which and how to install it."""
