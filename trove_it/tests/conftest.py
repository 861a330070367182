"""Fixtures for the harness's own tests.

The local-cloud tests start their own cloud (its own name, state directory
and address range) so they never touch a cloud a developer left running.
Names start with ``selftest_`` so they never shadow the plugin's fixtures.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it.clients import CloudClients, connect
from trove_it.localcloud.engines import binaries
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.launcher import LocalCloud
from trove_it.localcloud.lifecycle.layout import CloudDescriptor, default_state_root

SELFTEST_CLOUD = "trove-it-selftest"
SELFTEST_CIDR = "127.91.0.0/16"


def require_engine(engine: str) -> None:
    reason = binaries.unavailable_reason(engine)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def selftest_cloud() -> Iterator[CloudDescriptor]:
    # Not under pytest's tmp_path: engines that run as another user (PostgreSQL
    # when we are root) must reach the state directory.
    state_dir = default_state_root() / f"{SELFTEST_CLOUD}-{os.getpid()}"
    cloud = LocalCloud(SELFTEST_CLOUD, state_dir=state_dir, network_cidr=SELFTEST_CIDR)
    keep = bool(os.environ.get("TROVE_IT_SELFTEST_KEEP_CLOUD"))
    descriptor = cloud.up(tie_to_parent=not keep)
    yield descriptor
    if not keep:
        cloud.down()


@pytest.fixture(scope="session")
def selftest_clients(selftest_cloud: CloudDescriptor) -> dict[str, CloudClients]:
    names = cloud_names(selftest_cloud.name)
    clouds_yaml = Path(selftest_cloud.clouds_yaml)
    return {role: connect(names[key], clouds_yaml)
            for role, key in (("member", "member"), ("admin", "admin"),
                              ("alt", "alt_member"))}


@pytest.fixture(scope="session")
def selftest_member(selftest_clients: dict[str, CloudClients]) -> CloudClients:
    return selftest_clients["member"]


@pytest.fixture(scope="session")
def selftest_admin(selftest_clients: dict[str, CloudClients]) -> CloudClients:
    return selftest_clients["admin"]


@pytest.fixture
def engine_root() -> Iterator[Path]:
    """A directory for engines a test runs itself (reachable by the unprivileged
    user PostgreSQL runs as), removed afterwards (engines hold no mounts)."""
    root = default_state_root() / f"selftest-engine-{os.getpid()}-{secrets.token_hex(3)}"
    root.mkdir(parents=True)
    os.chmod(root, 0o755)
    yield root
    shutil.rmtree(root, ignore_errors=True)


def interruptible() -> None:
    """``preexec_fn`` for a child run a test interrupts with SIGINT: a shell that
    starts jobs in the background (nohup, CI runners) leaves SIGINT ignored, and a
    Python child then never sees its Ctrl-C; back at the default, Python turns it
    into KeyboardInterrupt as in a terminal."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
