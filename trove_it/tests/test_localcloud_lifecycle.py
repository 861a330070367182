"""The local cloud's lifecycle over HTTP, against real engines.

Each step drives the real Trove API with python-troveclient and checks the
result in the engine itself with its native client, on the address Trove
reports. Steps run in order within a datastore and share its instances.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from trove_it import waiters
from trove_it.clients import CloudClients
from trove_it.instances import address_of
from trove_it.localcloud.lifecycle import processes
from trove_it.localcloud.lifecycle.layout import CloudDescriptor
from trove_it.probes import DATA_SETS, Credentials, Probe
from trove_it.probes.sql import MySQLProbe, PostgreSQLProbe
from trove_it.tests.conftest import require_engine


@dataclass
class Case:
    datastore: str
    version: str
    engine: str
    probe: type[Probe]
    port: int
    config_key: str
    config_value: Any
    state: dict[str, Any] = field(default_factory=dict)

    def probe_at(self, host: str, user: str = "app", password: str = "apppass1",
                 database: str = "appdb") -> Probe:
        return self.probe(host, self.port, Credentials(user, password, database))


CASES = {
    "mariadb": Case("mysql", "8.0", "mariadb", MySQLProbe, 3306, "key_buffer_size", 10485760),
    "postgresql": Case("postgresql", "15", "postgresql", PostgreSQLProbe, 5432,
                       "effective_cache_size", "528MB"),
}


@pytest.fixture(scope="module", params=list(CASES))
def case(request: pytest.FixtureRequest) -> Case:
    require_engine(CASES[request.param].engine)
    return CASES[request.param]


def _create(member: CloudClients, case: Case, name: str, **kwargs: Any) -> Any:
    created = member.trove.instances.create(
        name, "d2", volume={"size": 1}, datastore=case.datastore,
        datastore_version=case.version, **kwargs)
    return waiters.wait_for_instance(member.trove, created.id, timeout=180)


def _engine_pids(cloud: CloudDescriptor) -> list[int]:
    root = Path(cloud.state_dir) / "instances"
    pids = [processes.read_pidfile(p) for p in root.glob("*/engine.pid")]
    return [p for p in pids if p is not None and processes.alive(p)]


class TestLifecycle:
    def test_create_with_database_and_user(self, selftest_member: CloudClients, case: Case) -> None:
        instance = _create(selftest_member, case, f"selftest-{case.engine}-main",
                           databases=[{"name": "appdb"}],
                           users=[{"name": "app", "password": "apppass1",
                                   "databases": [{"name": "appdb"}]}])
        case.state["main"] = instance
        host = address_of(instance)
        assert host.startswith("127.91."), host
        probe = case.probe_at(host)
        assert probe.ping(), f"user 'app' cannot log in to {host}:{case.port}"
        assert "appdb" in probe.databases()
        users = [u.name for u in selftest_member.trove.users.list(instance.id)]
        assert "app" in users

    def test_rows_survive_restart(self, selftest_member: CloudClients, case: Case) -> None:
        instance = case.state["main"]
        probe = case.probe_at(address_of(instance))
        probe.add(DATA_SETS["small"])
        selftest_member.trove.instances.restart(instance.id)
        waiters.wait_for_instance(selftest_member.trove, instance.id, operation="restart",
                                  timeout=120)
        probe.verify(DATA_SETS["small"])

    def test_volume_resize(self, selftest_member: CloudClients, case: Case) -> None:
        instance = case.state["main"]
        trove = selftest_member.trove
        trove.instances.resize_volume(instance.id, 2)
        # Right after the call the instance may still show ACTIVE: wait for the size.
        waiters.wait_until("the volume to be 2 GB",
                           lambda: trove.instances.get(instance.id).volume["size"] == 2,
                           operation="resize", timeout=120)
        shown = waiters.wait_for_instance(trove, instance.id, operation="resize", timeout=120)
        assert shown.volume["size"] == 2
        case.probe_at(address_of(shown)).verify(DATA_SETS["small"])

    def test_flavor_resize(self, selftest_member: CloudClients, case: Case) -> None:
        instance = case.state["main"]
        trove = selftest_member.trove
        trove.instances.resize_instance(instance.id, "d3")
        waiters.wait_until("the flavor to be d3",
                           lambda: trove.instances.get(instance.id).flavor["id"] == "d3",
                           operation="resize", timeout=180)
        shown = waiters.wait_for_instance(trove, instance.id, operation="resize", timeout=180)
        assert shown.flavor["id"] == "d3"
        case.probe_at(address_of(shown)).verify(DATA_SETS["small"])

    def test_backup_and_restore(self, selftest_member: CloudClients, case: Case) -> None:
        instance = case.state["main"]
        backup = selftest_member.trove.backups.create(f"selftest-{case.engine}-backup", instance.id)
        backup = waiters.wait_for_backup(selftest_member.trove, backup.id, timeout=180)
        assert backup.size and backup.size > 0
        waiters.wait_for_instance(selftest_member.trove, instance.id, timeout=60)
        restored = _create(selftest_member, case, f"selftest-{case.engine}-restored",
                           restorePoint={"backupRef": backup.id})
        case.state["restored"] = restored
        case.probe_at(address_of(restored)).verify(DATA_SETS["small"])

    def test_configuration_value_in_engine(self, selftest_member: CloudClients, case: Case) -> None:
        instance = case.state["main"]
        group = selftest_member.trove.configurations.create(
            f"selftest-{case.engine}-config", json.dumps({case.config_key: case.config_value}),
            datastore=case.datastore, datastore_version=case.version)
        selftest_member.trove.instances.update(instance.id, configuration=group.id)
        waiters.wait_for_instance(selftest_member.trove, instance.id, operation="configuration",
                                  timeout=60)
        probe = case.probe_at(address_of(instance))
        waiters.wait_until(f"{case.config_key} applied",
                           lambda: probe.setting(case.config_key) == str(case.config_value),
                           describe=lambda: str(probe.setting(case.config_key)), timeout=30)
        selftest_member.trove.instances.update(instance.id, remove_configuration=True)
        waiters.wait_for_instance(selftest_member.trove, instance.id, status="ACTIVE",
                                  operating_status=None, timeout=60)
        selftest_member.trove.configurations.delete(group.id)

    def test_replica_receives_rows(self, selftest_member: CloudClients, case: Case) -> None:
        instance = case.state["main"]
        waiters.wait_for_instance(selftest_member.trove, instance.id, status="ACTIVE",
                                  operating_status=None, timeout=60)
        if selftest_member.trove.instances.get(instance.id).status != "ACTIVE":
            selftest_member.trove.instances.restart(instance.id)
        waiters.wait_for_instance(selftest_member.trove, instance.id, timeout=120)
        replica = selftest_member.trove.instances.create(
            f"selftest-{case.engine}-replica", replica_of=instance.id)
        replica = waiters.wait_for_instance(selftest_member.trove, replica.id, operation="replica",
                                            timeout=300)
        case.state["replica"] = replica
        source = case.probe_at(address_of(instance))
        source.add(DATA_SETS["tiny"])
        target = case.probe_at(address_of(replica))
        waiters.wait_until("rows on the replica", lambda: target.read(DATA_SETS["tiny"]) ==
                           list(DATA_SETS["tiny"].values), timeout=30)
        target.verify(DATA_SETS["small"])

    def test_promote_and_eject(self, selftest_member: CloudClients, selftest_admin: CloudClients,
                               selftest_cloud: CloudDescriptor, case: Case) -> None:
        main, replica = case.state["main"], case.state["replica"]
        selftest_member.trove.instances.promote_to_replica_source(replica.id)
        waiters.wait_for_instance(selftest_member.trove, replica.id, operation="promote",
                                  timeout=300)
        waiters.wait_for_instance(selftest_member.trove, main.id, operation="promote", timeout=300)
        shown = selftest_member.trove.instances.get(main.id)
        assert shown.replica_of["id"] == replica.id
        new_source = case.probe_at(address_of(replica))
        new_source.add(DATA_SETS["tiny2"])
        old_source = case.probe_at(address_of(main))
        waiters.wait_until("rows on the demoted source",
                           lambda: old_source.read(DATA_SETS["tiny2"]) ==
                           list(DATA_SETS["tiny2"].values), timeout=30)
        # Eject needs a dead source: fail the guest through the control endpoint.
        control = f"{selftest_cloud.url}/_trove_it/guests/{replica.id}/fail"
        assert selftest_admin.session.post(control, raise_exc=False).status_code == 202
        selftest_member.trove.instances.eject_replica_source(replica.id)
        waiters.wait_for_instance(selftest_member.trove, main.id, operation="eject", timeout=300)
        ejected = selftest_member.trove.instances.get(main.id)
        assert not getattr(ejected, "replica_of", None)
        case.state["ejected_source"] = replica

    def test_published_guest_log_is_readable(self, selftest_member: CloudClients,
                                             case: Case) -> None:
        instance = case.state["restored"]
        log = "general"
        selftest_member.trove.instances.log_action(instance.id, log, enable=True)
        case.probe_at(address_of(instance)).read(DATA_SETS["small"])
        shown = selftest_member.trove.instances.log_action(instance.id, log, publish=True)
        assert shown.container == "database_logs"
        text = "".join(selftest_member.trove.instances.log_generator(instance.id, log, lines=0,
                                                            swift=selftest_member.swift())())
        assert text.strip(), "the published log is empty"
        objects = selftest_member.conn.object_store.objects("database_logs", prefix=shown.prefix)
        assert any(obj.name.startswith(shown.prefix) for obj in objects)

    def test_delete_leaves_nothing(self, selftest_member: CloudClients,
                                   selftest_admin: CloudClients,
                                   selftest_cloud: CloudDescriptor, case: Case) -> None:
        before = _engine_pids(selftest_cloud)
        ids = [case.state[k].id for k in ("main", "restored", "replica") if k in case.state]
        for instance_id in ids:
            selftest_admin.trove.instances.reset_status(instance_id)
            selftest_admin.trove.instances.delete(instance_id)
        for instance_id in ids:
            waiters.wait_for_instance_gone(selftest_member.trove, instance_id, timeout=120)
        root = Path(selftest_cloud.state_dir) / "instances"
        assert not list(root.iterdir()), f"instance directories left: {list(root.iterdir())}"
        leftover = [p for p in before if processes.alive(p)]
        assert not leftover, f"engine processes still running: {leftover}"
