"""Reading a tempest run's results (``tempest_results``) and writing its
configuration (``tempest_config``): pure logic, no tempest needed."""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
import yaml

from trove_it import tempest_config, tempest_results
from trove_it.errors import UserError
from trove_it.tempest_run import EXPECTED

MOD = "trove_tempest_plugin.tests.scenario"


def _csv(tmp_path: Path, rows: list[tuple[str, str]]) -> Path:
    path = tmp_path / "results.csv"
    path.write_text("test,status,start_time,stop_time\n" + "".join(
        f"{test},{status},,\n" for test, status in rows))
    return path


def test_outcomes_per_module_with_a_failed_class_setup(tmp_path: Path) -> None:
    listed = [f"{MOD}.test_backup.TestBackupMySQL.test_backup_full",
              f"{MOD}.test_backup.TestBackupMySQL.test_backup_incremental",
              f"{MOD}.test_instance_basic.TestInstanceBasicMySQL.test_configuration",
              f"{MOD}.test_instance_basic.TestInstanceBasicMySQL.test_root_disable"]
    rows = [(f"{MOD}.test_instance_basic.TestInstanceBasicMySQL.test_configuration[id-1]",
             "success"),
            (f"{MOD}.test_instance_basic.TestInstanceBasicMySQL.test_root_disable", "skip"),
            (f"setUpClass ({MOD}.test_backup.TestBackupMySQL)", "fail")]
    results = tempest_results.Results.from_csv(_csv(tmp_path, rows), listed)
    modules = results.by_module()
    # the class's set-up failure counts, and so do the two tests it kept from running
    assert modules["test_backup"]["failed"] == 3
    assert modules["test_instance_basic"] == {"passed": 1, "skipped": 1}
    assert results.class_failures == [f"{MOD}.test_backup.TestBackupMySQL"]


def test_expected_failures_excuse_only_what_they_name(tmp_path: Path) -> None:
    path = tmp_path / "expected.yaml"
    path.write_text(yaml.safe_dump({"expected_failures": [
        {"test": f"{MOD}.test_x.*PostgreSQL.test_a", "reason": "bug in the plugin",
         "kind": "plugin bug"},
        {"test": f"{MOD}.test_x.TestMySQL.test_b", "reason": "stale entry",
         "kind": "trove bug"}]}))
    expected = tempest_results.load_expected(path)
    results = tempest_results.Results(outcomes={
        f"{MOD}.test_x.TestPostgreSQL.test_a": "failed",
        f"{MOD}.test_x.TestMySQL.test_a": "failed",
        f"{MOD}.test_x.TestMySQL.test_b": "passed"})
    verdict = tempest_results.judge(results, expected)
    assert verdict.unexpected == [f"{MOD}.test_x.TestMySQL.test_a"]
    assert [t for t, _ in verdict.excused] == [f"{MOD}.test_x.TestPostgreSQL.test_a"]
    assert [e.test for e in verdict.stale] == [f"{MOD}.test_x.TestMySQL.test_b"]
    assert not verdict.ok


def test_an_unreadable_list_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "expected.yaml"
    path.write_text("expected_failures:\n  - test: x\n")
    with pytest.raises(UserError, match="expected-failures list"):
        tempest_results.load_expected(path)


def test_the_shipped_list_is_valid() -> None:
    for entry in tempest_results.load_expected(EXPECTED):
        assert entry.kind in ("plugin bug", "trove bug", "not served"), entry
        assert entry.reason.strip(), entry


def test_config_comes_from_the_clouds_yaml(tmp_path: Path) -> None:
    clouds = tmp_path / "clouds.yaml"
    clouds.write_text(yaml.safe_dump({"clouds": {"c-admin": {
        "auth": {"auth_url": "http://127.0.0.1:5/identity/v3", "username": "admin",
                 "password": "pw", "project_name": "admin"}, "region_name": "RegionOne"}}}))
    target = tempest_config.TempestTarget.from_clouds_yaml(
        clouds, "c-admin", network="net", flavor_id="d3", resize_flavor_id="d4")
    conf = configparser.ConfigParser()
    conf.read_string(tempest_config.render(target, tmp_path / "t.log"))
    assert conf["auth"]["use_dynamic_credentials"] == "True"
    assert conf["identity"]["uri_v3"] == "http://127.0.0.1:5/identity/v3"
    assert conf["database"]["enabled_datastores"] == "mysql,mariadb,postgresql"
    assert conf["database"]["shared_network"] == "net"
    with pytest.raises(UserError, match="no usable admin cloud"):
        tempest_config.TempestTarget.from_clouds_yaml(
            clouds, "missing", network="n", flavor_id="1", resize_flavor_id="2")
