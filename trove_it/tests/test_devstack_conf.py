"""``trove-it devstack local-conf``: the rendered file, and its one-line refusals."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from trove_it.errors import UserError
from trove_it.provisioning import devstack_conf

REPO = Path(__file__).resolve().parents[2]


def test_local_conf_enables_trove_trove_it_and_their_services(tmp_path: Path) -> None:
    image = tmp_path / "guest.qcow2"
    text = devstack_conf.render(devstack_conf.DevstackRequest("mysql", "8.4", image),
                                password="pw")
    lines = text.splitlines()
    assert lines[1] == "[[local|localrc]]"
    assert "ADMIN_PASSWORD=pw" in lines
    assert f"enable_plugin trove {devstack_conf.TROVE_REPO}" in lines
    assert f"enable_plugin trove-it {devstack_conf.REPO_ROOT}" in lines
    assert {"TROVE_DATASTORE_TYPE=mysql", "TROVE_DATASTORE_VERSION=8.4",
            "TROVE_ENABLE_IMAGE_BUILD=false", f"TROVE_IT_IMAGE_URL={image}"} <= set(lines)
    assert "enable_service trove tr-api tr-tmgr tr-cond" in lines
    assert "[[post-config|$TROVE_CONF]]" in lines and "network_isolation = True" in lines


def test_passwords_are_random_per_file() -> None:
    request = devstack_conf.DevstackRequest("mariadb", "11.4")
    assert devstack_conf.render(request) != devstack_conf.render(request)


@pytest.mark.parametrize("spec, says", [
    ("mysql", "--datastore takes NAME:VERSION"),
    ("oracle:19", "unknown datastore 'oracle'"),
    ("mongodb:7.0", "datastore mongodb has no guest agent in Trove 26"),
])
def test_bad_datastore_is_one_line(spec: str, says: str) -> None:
    with pytest.raises(UserError, match=says):
        devstack_conf.parse_datastore(spec)
    result = subprocess.run([sys.executable, "-m", "trove_it.cli.main", "devstack",
                             "local-conf", "--datastore", spec],
                            cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr
