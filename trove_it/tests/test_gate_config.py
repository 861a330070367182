"""The zuul.d jobs agree with tox.ini, the playbooks and the catalogue, and a
broken reference is reported with its file and job."""

from __future__ import annotations

import shutil
from pathlib import Path

from trove_it import gate_config

REPO = Path(__file__).resolve().parents[2]


def _copy(tmp_path: Path) -> Path:
    for name in ("zuul.d", "playbooks"):
        shutil.copytree(REPO / name, tmp_path / name)
    shutil.copy(REPO / "tox.ini", tmp_path / "tox.ini")
    return tmp_path


def test_tox_envs_expand_factors() -> None:
    envs = gate_config.tox_envs(REPO / "tox.ini")
    assert {"pep8", "py3", "venv", "functional-mysql", "functional-postgresql",
            "local-mariadb", "image-mariadb"} <= envs


def test_the_repository_is_consistent() -> None:
    assert gate_config.problems(REPO) == []


def test_a_renamed_tox_env_is_reported_with_file_and_job(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    tox = repo / "tox.ini"
    tox.write_text(tox.read_text().replace("[testenv:local-{mysql,mariadb,postgresql}]",
                                           "[testenv:embedded-{mysql,mariadb,postgresql}]"))
    assert gate_config.problems(repo) == [
        "zuul.d/jobs.yaml: job trove-it-local-mysql: tox_envlist names 'local-mysql', which "
        "tox.ini does not define"]


def test_other_broken_references_are_reported(tmp_path: Path) -> None:
    repo = _copy(tmp_path)
    (repo / "playbooks" / "image-host.yaml").unlink()
    jobs = repo / "zuul.d" / "jobs.yaml"
    jobs.write_text(jobs.read_text()
                    .replace("parent: openstack-tox\n    description: The scenario",
                             "parent: openstack-tox-nope\n    description: The scenario")
                    .replace("TROVE_DATASTORE_TYPE: mariadb", "TROVE_DATASTORE_TYPE: redis"))
    found = "\n".join(gate_config.problems(repo))
    assert "job trove-it-image-validation: pre-run playbook playbooks/image-host.yaml does " \
           "not exist" in found
    assert "job trove-it-local-mysql: parent openstack-tox-nope is neither" in found
    assert "job trove-it-functional-mariadb: Trove 26 has no guest agent for redis" in found
    assert "job trove-it-functional-mariadb: deploys redis but its tox_envlist " \
           "(functional-mariadb) tests another datastore" in found
