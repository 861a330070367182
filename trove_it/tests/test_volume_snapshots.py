"""Cinder snapshots on the local volume driver, as Trove's cinder backup
strategy uses them through cinderclient: a snapshot of an attached volume
(``force``) holds that server's data, a volume made from it holds a copy,
and cinder's rules on sizes and dependent snapshots hold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cinderclient import exceptions as cinder_exc

from trove_it.localcloud.drivers.volume import CinderClient, VolumeDriver


def _driver(tmp_path: Path, captured: list[str]) -> VolumeDriver:
    def capture(server_id: str, target: Path) -> dict[str, Any]:
        captured.append(server_id)
        target.write_text(f"rows of {server_id}")
        return {"gtid": "0-1-5"}

    return VolumeDriver(snapshot_dir=tmp_path / "snapshots", capture=capture)


def test_snapshot_and_volume_from_it_carry_the_data(tmp_path: Path) -> None:
    captured: list[str] = []
    driver = _driver(tmp_path, captured)
    cinder = CinderClient(driver, "project-a")
    volume = cinder.volumes.create(1, name="trove-x")
    driver.attach(volume.id, "server-1", "/dev/vdb")
    with pytest.raises(cinder_exc.BadRequest, match="in-use"):
        cinder.volume_snapshots.create(volume.id)  # attached: only with force
    snap = cinder.volume_snapshots.create(volume.id, force=True, name="trove-b-backup",
                                          metadata={"backup_id": "b"})
    assert captured == ["server-1"]
    assert (snap.status, snap.size, snap.metadata) == ("available", 1, {"backup_id": "b"})
    assert cinder.volume_snapshots.get(snap.id) is snap
    with pytest.raises(cinder_exc.BadRequest, match="dependent snapshots"):
        driver.detach(volume.id)
        cinder.volumes.delete(volume.id)
    restored = cinder.volumes.create(1, name="trove-y", snapshot_id=snap.id)
    assert restored.to_dict()["snapshot_id"] == snap.id
    assert Path(str(restored.data_file)).read_text() == "rows of server-1"
    assert restored.data_metadata == {"gtid": "0-1-5"}
    # the copy outlives the snapshot, as a cinder volume does
    cinder.volume_snapshots.delete(snap.id)
    assert Path(str(restored.data_file)).exists()
    with pytest.raises(cinder_exc.NotFound):
        cinder.volume_snapshots.get(snap.id)
    cinder.volumes.delete(volume.id)
    data = Path(str(restored.data_file))
    cinder.volumes.delete(restored.id)
    assert not data.exists()


def test_volume_from_snapshot_is_at_least_its_size(tmp_path: Path) -> None:
    driver = _driver(tmp_path, [])
    cinder = CinderClient(driver, "p")
    volume = cinder.volumes.create(2)
    driver.attach(volume.id, "server-1", "/dev/vdb")
    snap = cinder.volume_snapshots.create(volume.id, force=True)
    with pytest.raises(cinder_exc.BadRequest, match="cannot be smaller"):
        cinder.volumes.create(1, snapshot_id=snap.id)
    with pytest.raises(cinder_exc.NotFound):
        cinder.volumes.create(2, snapshot_id="no-such-snapshot")


def test_a_failed_capture_leaves_an_error_snapshot_and_no_file(tmp_path: Path) -> None:
    def capture(server_id: str, target: Path) -> dict[str, Any]:
        target.write_text("partial")
        raise RuntimeError("server server-1 runs no database to snapshot")

    driver = VolumeDriver(snapshot_dir=tmp_path, capture=capture)
    cinder = CinderClient(driver, "p")
    volume = cinder.volumes.create(1)
    driver.attach(volume.id, "server-1", "/dev/vdb")
    with pytest.raises(RuntimeError, match="no database"):
        cinder.volume_snapshots.create(volume.id, force=True)
    (snap,) = cinder.volume_snapshots.list()
    assert snap.status == "error" and list(tmp_path.glob("*.data")) == []
