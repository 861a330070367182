"""Probes for key-value and document datastores.

Redis stores ``<label>:<n>`` keys plus a label key; MongoDB, CouchDB and
Couchbase store one document per data set; Cassandra one table per set.
Each needs its own driver (or plain HTTP) and skips, saying so, without it.
"""

from __future__ import annotations

import json
from typing import Any

from trove_it.probes.base import DataSet, Probe, require_module


class RedisProbe(Probe):
    def client(self) -> Any:
        redis = require_module("redis", "redis")
        return redis.Redis(host=self.host, port=self.port,
                           password=self.credentials.password or None, socket_timeout=10,
                           decode_responses=True)

    def ping(self) -> bool:
        try:
            return bool(self.client().ping())
        except Exception:  # noqa: BLE001
            return False

    def add(self, data: DataSet) -> None:
        client = self.client()
        if client.exists(f"{data.label}:set"):
            return
        pipe = client.pipeline()
        for value in data.values:
            pipe.set(f"{data.label}:{value}", value)
        pipe.set(f"{data.label}:set", data.size)
        pipe.execute()

    def read(self, data: DataSet) -> list[int]:
        client = self.client()
        keys = [k for k in client.scan_iter(f"{data.label}:*") if not k.endswith(":set")]
        values = self._values(client, keys) if keys else []
        return sorted(int(v) for v in values if v is not None)

    def _values(self, client: Any, keys: list[str]) -> list[Any]:
        return list(client.mget(keys))

    def remove(self, data: DataSet) -> None:
        client = self.client()
        keys = list(client.scan_iter(f"{data.label}:*"))
        if keys:
            client.delete(*keys)

    def setting(self, name: str) -> str | None:
        values = self.client().config_get(name)
        return None if name not in values else str(values[name])

    def version(self) -> str:
        return str(self.client().info("server")["redis_version"])


class RedisClusterProbe(RedisProbe):
    """A member of a Redis cluster: the client follows the cluster's slot map
    from this member, so every key is read where it lives."""

    def client(self) -> Any:
        require_module("redis", "redis")
        from redis.cluster import RedisCluster

        return RedisCluster(host=self.host, port=self.port,
                            password=self.credentials.password or None, socket_timeout=10,
                            decode_responses=True)

    def ready(self) -> bool:
        """Every member this one knows sees the cluster as ok. Gossip reaches the
        members one by one after Trove's task ends, and a member that has not yet
        learnt every slot's owner answers CLUSTERDOWN for the keys it is sent."""
        try:
            peers = _cluster_peers(str(super().client().execute_command("CLUSTER", "NODES")))
            return bool(peers) and all(self._member_ok(host, port) for host, port in peers)
        except Exception:  # noqa: BLE001 - a member not answering yet
            return False

    def _member_ok(self, host: str, port: int) -> bool:
        member = RedisProbe(host, port, self.credentials).client()
        return "cluster_state:ok" in str(member.execute_command("CLUSTER", "INFO"))

    def _values(self, client: Any, keys: list[str]) -> list[Any]:
        """Keys of one data set live in many hash slots: one read per slot."""
        return list(client.mget_nonatomic(keys))


def _cluster_peers(nodes: str) -> list[tuple[str, int]]:
    """The address of each member in a ``CLUSTER NODES`` answer, failed ones
    included (they make the cluster not ready): ``id host:port@bus flags ...``."""
    peers = []
    for line in nodes.splitlines():
        fields = line.split()
        if len(fields) < 3 or "noaddr" in fields[2].split(","):
            continue
        address = fields[1].split("@", 1)[0].split(",", 1)[0]
        host, _, port = address.rpartition(":")
        if host and port.isdigit():
            peers.append((host, int(port)))
    return peers


class MongoProbe(Probe):
    def _collection(self, data: DataSet) -> Any:
        pymongo = require_module("pymongo", "pymongo")
        creds = self.credentials
        client = pymongo.MongoClient(host=self.host, port=self.port, username=creds.user,
                                     password=creds.password, serverSelectionTimeoutMS=10000)
        return client[creds.database or "trove_it"][data.label]

    def ping(self) -> bool:
        try:
            self._collection(DataSet("ping", 0, 0)).database.command("ping")
            return True
        except Exception:  # noqa: BLE001
            return False

    def add(self, data: DataSet) -> None:
        coll = self._collection(data)
        if coll.count_documents({}) == 0:
            coll.insert_many([{"value": v} for v in data.values])

    def read(self, data: DataSet) -> list[int]:
        return sorted(int(doc["value"]) for doc in self._collection(data).find({}))

    def remove(self, data: DataSet) -> None:
        self._collection(data).drop()


class CassandraProbe(Probe):
    def _session(self) -> Any:
        cluster_mod = require_module("cassandra.cluster", "cassandra-driver")
        auth_mod = require_module("cassandra.auth", "cassandra-driver")
        creds = self.credentials
        auth = auth_mod.PlainTextAuthProvider(creds.user, creds.password) if creds.user else None
        cluster = cluster_mod.Cluster([self.host], port=self.port, auth_provider=auth)
        return cluster.connect(creds.database) if creds.database else cluster.connect()

    def ping(self) -> bool:
        try:
            self._session().execute("SELECT release_version FROM system.local")
            return True
        except Exception:  # noqa: BLE001
            return False

    def add(self, data: DataSet) -> None:
        session = self._session()
        session.execute(f"CREATE TABLE IF NOT EXISTS {data.label} (value int PRIMARY KEY)")
        if not session.execute(f"SELECT COUNT(*) FROM {data.label}").one()[0]:
            insert = session.prepare(f"INSERT INTO {data.label} (value) VALUES (?)")
            for value in data.values:
                session.execute(insert, (value,))

    def read(self, data: DataSet) -> list[int]:
        try:
            rows = self._session().execute(f"SELECT value FROM {data.label}")
        except Exception as exc:  # noqa: BLE001
            if "unconfigured table" in str(exc).lower():
                return []
            raise
        return sorted(int(r[0]) for r in rows)

    def remove(self, data: DataSet) -> None:
        self._session().execute(f"DROP TABLE IF EXISTS {data.label}")


class HttpDocumentProbe(Probe):
    """CouchDB (and Couchbase's REST port): one JSON document per data set."""

    def _session(self) -> Any:
        requests = require_module("requests", "requests")
        session = requests.Session()
        if self.credentials.user:
            session.auth = (self.credentials.user, self.credentials.password or "")
        return session

    @property
    def _base(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def _db(self) -> str:
        return f"{self._base}/{self.credentials.database or 'trove_it'}"

    def ping(self) -> bool:
        try:
            return bool(self._session().get(self._base, timeout=10).ok)
        except Exception:  # noqa: BLE001
            return False

    def add(self, data: DataSet) -> None:
        session = self._session()
        session.put(self._db, timeout=10)
        url = f"{self._db}/{data.label}"
        if session.get(url, timeout=10).status_code == 404:
            response = session.put(url, data=json.dumps({"values": list(data.values)}),
                                   headers={"Content-Type": "application/json"}, timeout=30)
            response.raise_for_status()

    def read(self, data: DataSet) -> list[int]:
        response = self._session().get(f"{self._db}/{data.label}", timeout=10)
        if response.status_code == 404:
            return []
        response.raise_for_status()
        return sorted(int(v) for v in response.json().get("values", []))

    def remove(self, data: DataSet) -> None:
        session = self._session()
        url = f"{self._db}/{data.label}"
        current = session.get(url, timeout=10)
        if current.ok:
            session.delete(url, params={"rev": current.json().get("_rev")}, timeout=10)
