"""What goes into each container image Trove's agent runs, and how it starts.

A recipe is data: the Debian packages, this project's files (entrypoint and
health check, ``files/``), the image configuration Docker records, and
whether it carries Trove's backup program. Its fingerprint covers all of it
plus the files' contents, so a cached archive is rebuilt when anything that
shapes it changes.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path

from trove_it.errors import UserError
from trove_it.images import support

KINDS = ("database", "backup")
RELEASE = "bookworm"
DATABASE_UID = 1001
"""Trove's ``database_service_uid`` (and gid): the agent runs the containers as it."""
DATABASE_ACCOUNT = "database"
BACKUP_VENV = "/opt/trove-backup-venv"
BACKUP_PROGRAM = "/opt/trove/backup"
"""Where Trove's ``backup/`` directory goes; its commands run from there."""
LOCALE_ALIASES = "/usr/share/locale/locale.alias"
BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
MARIADB_TEMPLATE = "/usr/share/trove-it/mariadb-datadir"
"""The data directory a new MariaDB instance starts from (the entrypoint's TEMPLATE)."""
FORMAT = 1
"""Bumped when the way images are assembled changes (invalidates the cache)."""


@dataclass(frozen=True)
class ImageFile:
    source: str
    """A file in ``trove_it/containers/files``."""
    target: str
    mode: int = 0o755


@dataclass(frozen=True)
class Recipe:
    datastore: str
    kind: str
    version: str
    packages: tuple[str, ...]
    files: tuple[ImageFile, ...] = ()
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    working_dir: str = ""
    exposed_ports: tuple[int, ...] = ()
    owned_dirs: tuple[str, ...] = ()
    """Made in the image and owned by the database account."""
    removed: tuple[str, ...] = ()
    """Paths the packages create that the image must not carry (a default
    cluster the agent would never use)."""
    build_commands: tuple[str, ...] = ()
    """Run in the image as root once its packages, account and directories are
    in (made at build time so that no instance has to)."""
    backup_program: bool = False
    """Carries Trove's ``backup/`` program in a virtualenv of its requirements."""
    release: str = RELEASE

    @property
    def repository(self) -> str:
        """The image's name without a registry: ``trove-it/<datastore>[-backup]``."""
        suffix = "-backup" if self.kind == "backup" else ""
        return f"trove-it/{self.datastore}{suffix}"

    @property
    def reference(self) -> str:
        return f"{self.repository}:{self.version}"

    def file_text(self, name: str) -> bytes:
        return resources.files("trove_it.containers").joinpath("files", name).read_bytes()

    def fingerprint(self, extra: bytes = b"") -> str:
        digest = hashlib.sha256(json.dumps(
            {"format": FORMAT, **asdict(self)}, sort_keys=True).encode())
        for item in self.files:
            digest.update(self.file_text(item.source))
        digest.update(extra)
        return digest.hexdigest()[:16]


def _server_version(datastore: str) -> str:
    return support.DISTRO_VERSIONS[("debian", RELEASE)][datastore]


def _mariadb(kind: str) -> Recipe:
    version = _server_version("mariadb")
    if kind == "backup":
        return Recipe("mariadb", kind, version,
                      packages=("mariadb-backup", "mariadb-client", "python3", "python3-venv",
                                "ca-certificates"),
                      env={"PATH": f"{BACKUP_VENV}/bin:{BASE_PATH}"},
                      working_dir=BACKUP_PROGRAM, backup_program=True)
    return Recipe(
        "mariadb", kind, version, packages=("mariadb-server", "mariadb-client"),
        files=(ImageFile("mariadb-entrypoint", "/usr/local/bin/trove-it-entrypoint"),
               ImageFile("mariadb-healthcheck", "/usr/local/bin/healthcheck.sh")),
        entrypoint=("/usr/local/bin/trove-it-entrypoint",), cmd=("mariadbd",),
        env={"PATH": BASE_PATH}, exposed_ports=(3306,),
        owned_dirs=("/var/lib/mysql", "/run/mysqld", "/etc/mysql/conf.d"),
        removed=("/var/lib/mysql/*",),
        # The system tables every new data directory starts from (the
        # entrypoint copies them rather than bootstrapping a server): a small
        # redo log, which the server resizes to its configuration at start.
        build_commands=(
            f"mariadb-install-db --no-defaults --force --user={DATABASE_ACCOUNT} "
            f"--datadir={MARIADB_TEMPLATE} --skip-test-db --skip-name-resolve "
            f"--auth-root-authentication-method=normal --innodb-log-file-size=8M "
            f">/dev/null",
            f"chmod -R a+rX {MARIADB_TEMPLATE}"))


def _postgresql(kind: str) -> Recipe:
    version = _server_version("postgresql")
    bin_dir = f"/usr/lib/postgresql/{version}/bin"
    if kind == "backup":
        return Recipe("postgresql", kind, version,
                      packages=(f"postgresql-client-{version}", "python3", "python3-venv",
                                "ca-certificates"),
                      env={"PATH": f"{BACKUP_VENV}/bin:{bin_dir}:{BASE_PATH}"},
                      working_dir=BACKUP_PROGRAM, backup_program=True)
    # Trove's postgresql.conf sets lc_messages, lc_monetary, lc_numeric and
    # lc_time to 'en_US.utf8': without that locale the server refuses the
    # whole file and the container restarts for ever.
    return Recipe(
        "postgresql", kind, version, packages=(f"postgresql-{version}", "locales"),
        files=(ImageFile("postgresql-entrypoint", "/usr/local/bin/trove-it-entrypoint"),),
        entrypoint=("/usr/local/bin/trove-it-entrypoint",), cmd=("postgres",),
        env={"PATH": f"{bin_dir}:{BASE_PATH}", "PGDATA": "/var/lib/postgresql/data",
             "LANG": "en_US.utf8"},
        build_commands=(f"localedef -i en_US -c -f UTF-8 -A {LOCALE_ALIASES} en_US.UTF-8",),
        exposed_ports=(5432,),
        owned_dirs=("/var/lib/postgresql", "/run/postgresql"),
        removed=(f"/var/lib/postgresql/{version}", f"/etc/postgresql/{version}"))


_RECIPES = {"mariadb": _mariadb, "postgresql": _postgresql}


def recipe(datastore: str, kind: str = "database") -> Recipe:
    """The recipe for a datastore's database or backup image; UserError otherwise."""
    if kind not in KINDS:
        raise UserError(f"--kind must be one of {', '.join(KINDS)}, not '{kind}'")
    make = _RECIPES.get(datastore)
    if make is None:
        raise UserError(f"container images are built here for {', '.join(_RECIPES)} "
                        f"(Debian {RELEASE} ships their servers), not {datastore}")
    return make(kind)


def datastores() -> tuple[str, ...]:
    return tuple(_RECIPES)


def file_path(name: str) -> Path:
    return Path(str(resources.files("trove_it.containers").joinpath("files", name)))
