"""Data probes: add, verify and remove test data with the datastore's native
client, on the address the instance reports, never through the API alone.

Data sets are labelled, deterministic and non-overlapping (the old
trove-integration helpers' DataType catalogue): adding is idempotent,
verifying checks the exact contents, removing drops the label's data.
"""

from __future__ import annotations

import abc
import contextlib
import importlib
from dataclasses import dataclass
from typing import Any

import pytest


@dataclass(frozen=True)
class DataSet:
    label: str
    start: int
    size: int

    @property
    def values(self) -> range:
        return range(self.start, self.start + self.size)


DATA_SETS = {ds.label: ds for ds in (
    DataSet("micro", 100, 10), DataSet("micro2", 200, 10), DataSet("micro3", 300, 10),
    DataSet("micro4", 400, 10), DataSet("tiny", 1000, 100), DataSet("tiny2", 2000, 100),
    DataSet("tiny3", 3000, 100), DataSet("tiny4", 4000, 100), DataSet("small", 10000, 1000),
    DataSet("large", 100000, 20000),
)}


@dataclass(frozen=True)
class Credentials:
    user: str | None
    password: str | None
    database: str | None = None

    @classmethod
    def of(cls, user: Any, password: str | None = None, database: str | None = None
           ) -> Credentials:
        """A catalogue user's login (``UserDef``), with another password or database."""
        return cls(user.name, password or user.password, database)


def require_module(module: str, package: str) -> Any:
    """Import a driver, or skip the test saying which package is missing."""
    try:
        return importlib.import_module(module)
    except ImportError:
        pytest.skip(f"the {package} driver is not installed (pip install {package})")


class Probe(abc.ABC):
    """Native-client access to one instance's datastore."""

    def __init__(self, host: str, port: int, credentials: Credentials,
                 network: str | None = None):
        self.host = host
        self.port = port
        self.credentials = credentials
        self.network = network
        """A vm local cloud's namespace, where the instance's address lives (None:
        the address is reachable from here)."""

    def reach(self) -> contextlib.AbstractContextManager[None]:
        """Around a connect: made from inside ``network`` when there is one."""
        if self.network is None:
            return contextlib.nullcontext()
        from trove_it.localcloud.vm import netns

        return netns.inside(self.network)

    @abc.abstractmethod
    def ping(self) -> bool:
        """True when the credentials log in and a trivial request succeeds."""

    @abc.abstractmethod
    def add(self, data: DataSet) -> None:
        """Write the data set; a no-op when it is already there."""

    @abc.abstractmethod
    def read(self, data: DataSet) -> list[int]:
        """The values stored under the data set's label, sorted (empty if none)."""

    @abc.abstractmethod
    def remove(self, data: DataSet) -> None:
        """Drop the data set."""

    def ready(self) -> bool:
        """Ready for data: answers, and (a cluster member) agrees with its peers."""
        return self.ping()

    def verify(self, data: DataSet) -> None:
        found = self.read(data)
        expected = list(data.values)
        if found != expected:
            raise AssertionError(
                f"data set {data.label!r} on {self.host}:{self.port}: expected {len(expected)} "
                f"values {expected[0]}..{expected[-1]}, found {len(found)}"
                + (f" ({found[0]}..{found[-1]})" if found else ""))

    def setting(self, name: str) -> str | None:
        """The live value of a server setting, as the server reports it."""
        pytest.skip(f"{type(self).__name__} cannot read server settings")

    def version(self) -> str:
        pytest.skip(f"{type(self).__name__} cannot read the server version")

    def databases(self) -> list[str]:
        pytest.skip(f"{type(self).__name__} cannot list databases")

    def with_credentials(self, credentials: Credentials) -> Probe:
        return type(self)(self.host, self.port, credentials, self.network)
