"""Native-client data probes, one per datastore family.

``probe_for(datastore, host, credentials)`` picks the probe the catalogue
names for the datastore; a datastore without one skips, saying so.
"""

from __future__ import annotations

import pytest

from trove_it import catalogue
from trove_it.probes.base import DATA_SETS, Credentials, DataSet, Probe
from trove_it.probes.nosql import (
    CassandraProbe,
    HttpDocumentProbe,
    MongoProbe,
    RedisClusterProbe,
    RedisProbe,
)
from trove_it.probes.sql import MySQLProbe, PostgreSQLProbe

PROBES: dict[str, type[Probe]] = {
    "mysql": MySQLProbe, "postgresql": PostgreSQLProbe, "redis": RedisProbe,
    "mongodb": MongoProbe, "cassandra": CassandraProbe, "couchdb": HttpDocumentProbe,
    "couchbase": HttpDocumentProbe,
}
CLUSTER_PROBES: dict[str, type[Probe]] = {"redis": RedisClusterProbe}
"""Probes that differ for a cluster member (a sharded cluster routes keys)."""


def probe_for(datastore: catalogue.Datastore, host: str, credentials: Credentials,
              cluster: bool = False, network: str | None = None) -> Probe:
    if datastore.probe is None:
        pytest.skip(f"{datastore.name} has no native-client probe: its data cannot be checked")
    kind = CLUSTER_PROBES.get(datastore.probe) if cluster else None
    return (kind or PROBES[datastore.probe])(host, datastore.port, credentials, network)


__all__ = ["DATA_SETS", "Credentials", "DataSet", "Probe", "probe_for"]
