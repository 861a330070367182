"""Which datastores the local cloud registers, and which engine serves each.

Real engines serve the datastores whose server runs on this machine; every
other datastore of the seed list runs on the in-memory engine, which keeps
the API semantics but has no network endpoint to probe.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class ServedDatastore:
    name: str
    engine: str
    versions: tuple[str, ...]
    """Registered versions; the first is the datastore's default."""

    @property
    def default_version(self) -> str:
        return self.versions[0]

    @property
    def manager(self) -> str:
        return self.name


SERVED: tuple[ServedDatastore, ...] = (
    ServedDatastore("mysql", "mariadb", ("8.0", "5.7")),
    ServedDatastore("mariadb", "mariadb", ("10.11", "10.6")),
    ServedDatastore("postgresql", "postgresql", ("15", "14")),
    ServedDatastore("redis", "redis", ("7.0", "6.2")),
    ServedDatastore("cassandra", "memory", ("4.1", "4.0")),
    ServedDatastore("couchbase", "memory", ("7.2", "7.1")),
    ServedDatastore("couchdb", "memory", ("3.3", "3.2")),
    ServedDatastore("db2", "memory", ("11.5", "11.1")),
    ServedDatastore("mongodb", "memory", ("7.0", "6.0")),
    ServedDatastore("percona", "memory", ("8.0", "5.7")),
    ServedDatastore("pxc", "mariadb", ("8.0", "5.7")),
    ServedDatastore("vertica", "memory", ("12.0", "11.1")),
)

BY_NAME = {ds.name: ds for ds in SERVED}

LOCAL_IMAGE_NAME = "local-cloud-guest"
LOCAL_IMAGE_TAGS = ("trove",)
LOCAL_IMAGE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, f"trove-it:image:{LOCAL_IMAGE_NAME}"))
"""The seeded guest image; versions name it by id and by tag, as many
deployments do (Trove's redis cluster create reads only the id)."""


def served(name: str) -> ServedDatastore | None:
    return BY_NAME.get(name)
