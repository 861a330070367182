"""The stock ``openstack`` CLI (with python-troveclient's plugin) against the
local cloud, and the engine's own client checking what the API created.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from trove_it import waiters
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.layout import CloudDescriptor
from trove_it.tests.conftest import require_engine


def _openstack(cloud: CloudDescriptor, *args: str, role: str = "member",
               parse: bool = True) -> Any:
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=cloud.clouds_yaml)
    env.pop("OS_CLOUD", None)
    name = cloud_names(cloud.name)[role]
    command = [str(Path(sys.executable).parent / "openstack"), "--os-cloud", name, *args]
    if parse:
        command += ["-f", "json"]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, f"{' '.join(args)} failed: {result.stderr[-800:]}"
    return json.loads(result.stdout) if parse and result.stdout.strip() else result.stdout


def _wait_cli(cloud: CloudDescriptor, what: str, check: Any, timeout: float = 120) -> Any:
    found: list[Any] = []

    def done() -> bool:
        found[:] = [check()]
        return bool(found[0])

    waiters.wait_until(what, done, timeout=timeout)
    return found[0]


def test_cli_instance_database_user_backup_and_native_client(
        selftest_cloud: CloudDescriptor) -> None:
    require_engine("mariadb")
    if shutil.which("mariadb") is None:
        pytest.skip("the mariadb client is not installed (apt-get install mariadb-client)")
    versions = _openstack(selftest_cloud, "datastore", "version", "list", "mysql")
    assert "8.0" in [v["Name"] for v in versions]
    created = _openstack(
        selftest_cloud, "database", "instance", "create", "cli-one", "--flavor", "d2",
        "--size", "1", "--datastore", "mysql", "--datastore-version", "8.0",
        "--databases", "clidb", "--users", "cliuser:clipass1")
    instance_id = created["id"]

    def healthy() -> Any:
        shown = _openstack(selftest_cloud, "database", "instance", "show", instance_id)
        assert shown["status"] not in ("ERROR", "FAILED"), shown
        return shown if (shown["status"], shown.get("operating_status")) == \
            ("ACTIVE", "HEALTHY") else None

    shown = _wait_cli(selftest_cloud, "the instance to become ACTIVE/HEALTHY", healthy)
    listed = _openstack(selftest_cloud, "database", "instance", "list")
    assert instance_id in [i["ID"] for i in listed]
    address = shown["addresses"][0]["address"] if isinstance(shown["addresses"], list) else \
        json.loads(shown["addresses"].replace("'", '"'))[0]["address"]
    native = subprocess.run(
        ["mariadb", "-h", address, "-P", "3306", "-u", "cliuser", "-pclipass1", "-N", "-e",
         "SHOW DATABASES"], capture_output=True, text=True, timeout=30)
    assert native.returncode == 0, native.stderr
    assert "clidb" in native.stdout.split()

    backup = _openstack(selftest_cloud, "database", "backup", "create", "--instance",
                        instance_id, "cli-backup")
    completed = _wait_cli(selftest_cloud, "the backup to complete", lambda: [
        b for b in _openstack(selftest_cloud, "database", "backup", "list")
        if b["ID"] == backup["id"] and b["Status"] == "COMPLETED"])
    assert completed
    _wait_cli(selftest_cloud, "the instance to leave BACKUP", healthy)
    _openstack(selftest_cloud, "database", "backup", "delete", backup["id"], parse=False)
    _openstack(selftest_cloud, "database", "instance", "delete", instance_id, parse=False)
    _wait_cli(selftest_cloud, "the instance to go", lambda: instance_id not in [
        i["ID"] for i in _openstack(selftest_cloud, "database", "instance", "list")])


def test_cli_flavors_and_images(selftest_cloud: CloudDescriptor, tmp_path: Path) -> None:
    flavors = _openstack(selftest_cloud, "flavor", "list")
    assert {"m1.tiny", "ds2G"} <= {f["Name"] for f in flavors}
    image_file = tmp_path / "cli-image.raw"
    image_file.write_bytes(os.urandom(4096))
    image = _openstack(selftest_cloud, "image", "create", "cli-image", "--file",
                       str(image_file), "--disk-format", "raw", "--container-format", "bare",
                       "--tag", "trove-it-cli", role="admin")
    shown = _openstack(selftest_cloud, "image", "show", image["id"], role="admin")
    assert shown["status"] == "active" and int(shown["size"]) == 4096
    import hashlib

    assert shown["checksum"] == hashlib.md5(image_file.read_bytes()).hexdigest()
    _openstack(selftest_cloud, "image", "delete", image["id"], role="admin", parse=False)
