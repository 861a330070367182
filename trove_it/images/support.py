"""Which datastore can be built on which distribution, from what, in which
versions, and why the other pairs cannot.

One table, read by the build command (to refuse a pair with one line before
spending minutes in diskimage-builder), by the validation suite (which
version a server package must carry) and by ``elements/README.md``, whose
table is generated from it (``python -m trove_it.images.support``) and
checked against it by the unit tests.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Literal

from trove_it import catalogue

DISTROS: tuple[str, ...] = ("debian", "ubuntu", "centos")

RELEASES: dict[str, tuple[str, ...]] = {
    "debian": ("bookworm", "bullseye"),
    "ubuntu": ("noble", "jammy"),
    "centos": ("9-stream",),
}
"""Releases the elements are written for; the first is each distribution's default."""

# What each distribution release ships, for the datastores it ships at all.
DISTRO_VERSIONS: dict[tuple[str, str], dict[str, str]] = {
    ("debian", "bookworm"): {"mariadb": "10.11", "postgresql": "15", "redis": "7.0"},
    ("debian", "bullseye"): {"mariadb": "10.5", "postgresql": "13", "redis": "6.0"},
    ("ubuntu", "noble"): {"mariadb": "10.11", "mysql": "8.0", "postgresql": "16",
                          "redis": "7.0"},
    ("ubuntu", "jammy"): {"mariadb": "10.6", "mysql": "8.0", "postgresql": "14",
                          "redis": "6.0"},
    ("centos", "9-stream"): {"mariadb": "10.5", "mysql": "8.0", "postgresql": "13",
                             "redis": "6.2"},
}

SourceKind = Literal["distro", "vendor", "licensed"]

# Package sources the project's CI machines reach: PyPI and Debian's archive.
REACHABLE_HERE = "Debian archive"


@dataclass(frozen=True)
class Source:
    """Where a datastore's server packages come from on one distribution."""

    kind: SourceKind
    where: str
    """The archive, vendor repository or download, as a reader knows it."""
    versions: tuple[str, ...] = ()
    """Vendor/licensed series the element can install (first = default);
    empty for distro packages, whose version is the release's (DISTRO_VERSIONS)."""
    url: str | None = None
    """What a build fetches from, probed before building (vendor repositories)."""
    url_env: str | None = None
    """The element's variable that points the build at a mirror of ``url``."""

    def versions_for(self, distro: str, release: str, datastore: str) -> tuple[str, ...]:
        if self.kind == "distro":
            shipped = DISTRO_VERSIONS.get((distro, release), {}).get(datastore)
            return (shipped,) if shipped else ()
        return self.versions


@dataclass(frozen=True)
class Unsupported:
    """A pair no element can build, and why."""

    reason: str


Entry = Source | Unsupported


def _distro(where: str) -> Source:
    return Source("distro", where)


DEBIAN = _distro("Debian archive")
UBUNTU = _distro("Ubuntu archive")
CENTOS = _distro("CentOS Stream AppStream")


def _vendor(where: str, versions: tuple[str, ...], url: str, env: str) -> Source:
    return Source("vendor", where, versions, url, env)


_PERCONA = ("repo.percona.com", ("8.0", "8.4"), "http://repo.percona.com/",
            "DIB_TROVE_IT_{}_REPO")
_MONGO = _vendor("repo.mongodb.org", ("7.0", "8.0"), "https://repo.mongodb.org/",
                 "DIB_TROVE_IT_MONGODB_REPO")
_COUCHDB = _vendor("apache.jfrog.io (CouchDB)", ("3.3",),
                   "https://apache.jfrog.io/artifactory/", "DIB_TROVE_IT_COUCHDB_REPO")
_COUCHBASE = _vendor("packages.couchbase.com", ("7.6",), "https://packages.couchbase.com/",
                     "DIB_TROVE_IT_COUCHBASE_REPO")
_VERTICA = Source("licensed", "OpenText Vertica package", ("12.0",))


def _percona(name: str) -> Source:
    where, versions, url, env = _PERCONA
    return _vendor(where, versions, url, env.format(name.upper()))


def _cassandra(versions: tuple[str, ...], url: str) -> Source:
    return _vendor("Apache Cassandra repository", versions, url, "DIB_TROVE_IT_CASSANDRA_REPO")


MATRIX: dict[str, dict[str, Entry]] = {
    "cassandra": {
        # bookworm has Java 17 only, which Cassandra supports from 5.0.
        "debian": _cassandra(("5.0",), "https://debian.cassandra.apache.org/"),
        "ubuntu": _cassandra(("5.0", "4.1"), "https://debian.cassandra.apache.org/"),
        "centos": _cassandra(("5.0", "4.1"), "https://redhat.cassandra.apache.org/"),
    },
    "couchbase": {"debian": _COUCHBASE, "ubuntu": _COUCHBASE, "centos": _COUCHBASE},
    "couchdb": {"debian": _COUCHDB, "ubuntu": _COUCHDB, "centos": _COUCHDB},
    "db2": {
        "debian": Unsupported("IBM supports Db2 on Ubuntu, RHEL-family and SLES, not Debian"),
        "ubuntu": Source("licensed", "IBM Db2 installer", ("11.5",)),
        "centos": Source("licensed", "IBM Db2 installer", ("11.5",)),
    },
    "mariadb": {"debian": DEBIAN, "ubuntu": UBUNTU, "centos": CENTOS},
    "mongodb": {"debian": _MONGO, "ubuntu": _MONGO, "centos": _MONGO},
    "mysql": {
        # Debian's default-mysql-server is MariaDB, not MySQL.
        "debian": _vendor("repo.mysql.com (Oracle)", ("8.0", "8.4"), "http://repo.mysql.com/",
                          "DIB_TROVE_IT_MYSQL_REPO"),
        "ubuntu": UBUNTU,
        "centos": CENTOS,
    },
    "percona": {d: _percona("percona") for d in DISTROS},
    "postgresql": {"debian": DEBIAN, "ubuntu": UBUNTU, "centos": CENTOS},
    "pxc": {d: _percona("pxc") for d in DISTROS},
    "redis": {"debian": DEBIAN, "ubuntu": UBUNTU, "centos": CENTOS},
    "vertica": {"debian": _VERTICA, "ubuntu": _VERTICA, "centos": _VERTICA},
}

# The Trove 26 guest agent's datastore managers (trove.common.constants
# REGISTRY_EXT_DEFAULTS); the only datastores it can run in containers.
CONTAINER_DATASTORES: dict[str, str] = {
    "mysql": "quay.io/openstack.trove/mysql",
    "mariadb": "quay.io/openstack.trove/mariadb",
    "postgresql": "quay.io/openstack.trove/postgres",
}
CONTAINER_VERSIONS: dict[str, str] = {"mysql": "8.4", "mariadb": "11.4", "postgresql": "18"}

# The datastore's server package (generic name, translated by its element's
# pkg-map): its installed version must carry the datastore version.
SERVER_PACKAGES: dict[str, str] = {
    "cassandra": "cassandra", "couchbase": "couchbase-server-community",
    "couchdb": "couchdb", "db2": "", "mariadb": "mariadb-server", "mongodb": "mongodb-org",
    "mysql": "mysql-server", "percona": "percona-server-server",
    "postgresql": "postgresql", "pxc": "percona-xtradb-cluster", "redis": "redis-server",
    "vertica": "",
}


class SupportError(ValueError):
    """A request the elements cannot build; the message is one line for the user."""


def entry(datastore: str, distro: str) -> Entry:
    if datastore not in MATRIX:
        raise SupportError(f"unknown datastore '{datastore}'; choose from "
                           f"{', '.join(catalogue.DATASTORE_NAMES)}")
    if distro not in DISTROS:
        raise SupportError(f"unknown distro '{distro}'; choose from {', '.join(DISTROS)}")
    return MATRIX[datastore][distro]


def resolve(datastore: str, distro: str, release: str | None,
            version: str | None) -> tuple[Source, str, str]:
    """The source, release and version for a package-mode build, or SupportError."""
    found = entry(datastore, distro)
    if isinstance(found, Unsupported):
        raise SupportError(f"{datastore} cannot be built on {distro}: {found.reason}")
    release = release or RELEASES[distro][0]
    if release not in RELEASES[distro]:
        raise SupportError(f"unknown {distro} release '{release}'; the elements support "
                           f"{', '.join(RELEASES[distro])}")
    versions = found.versions_for(distro, release, datastore)
    if not versions:
        raise SupportError(f"{distro} {release} ships no {datastore} package")
    chosen = version or versions[0]
    if chosen not in versions:
        if found.kind == "distro":
            raise SupportError(f"{distro} {release} ships {datastore} {versions[0]}, not "
                               f"{chosen}; give --version {versions[0]} or another release")
        raise SupportError(f"the {datastore} element installs version "
                           f"{' or '.join(versions)} from {found.where}, not {chosen}")
    return found, release, chosen


def buildable_here(datastore: str, distro: str) -> tuple[bool, str]:
    """Whether the project's CI machines (PyPI and Debian's archive only) can build
    the pair, and why not."""
    found = entry(datastore, distro)
    if isinstance(found, Unsupported):
        return False, found.reason
    if found.kind == "distro":
        if found.where == REACHABLE_HERE:
            return True, "distribution packages"
        return False, "archive not reachable here"
    if found.kind == "vendor":
        return False, "vendor repository not reachable here"
    return False, "licensed: supply the installer"


def markdown_table() -> str:
    """The buildable-pairs table of elements/README.md."""
    lines = ["| datastore | " + " | ".join(DISTROS) + " | Trove 26 agent manager |",
             "|---|" + "---|" * (len(DISTROS) + 1)]
    for datastore in catalogue.DATASTORE_NAMES:
        cells = []
        for distro in DISTROS:
            found = entry(datastore, distro)
            if isinstance(found, Unsupported):
                cells.append(f"never: {found.reason}")
                continue
            versions = ", ".join(found.versions_for(distro, RELEASES[distro][0], datastore))
            ok, why = buildable_here(datastore, distro)
            cells.append(f"**yes**: {found.where} ({versions})" if ok
                         else f"no: {found.where} ({versions}); {why}")
        agent = "yes" if datastore in CONTAINER_DATASTORES else "none (removed upstream)"
        lines.append(f"| {datastore} | " + " | ".join(cells) + f" | {agent} |")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.stdout.write(markdown_table() + "\n")
