"""Loopback range claims: two clouds never get one range, whatever their
state directories, and a dead cloud's claim is taken over."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from trove_it.localcloud.lifecycle import address_ranges


@pytest.fixture(autouse=True)
def private_claims(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    claims = tmp_path / "claims"
    monkeypatch.setenv("TROVE_IT_RANGE_CLAIMS", str(claims))
    return claims


def test_clouds_in_different_state_roots_get_different_ranges(tmp_path: Path) -> None:
    first = address_ranges.claim(tmp_path / "root-a" / "cloud")
    second = address_ranges.claim(tmp_path / "elsewhere" / "cloud")
    assert first == address_ranges.DEFAULT_CIDR
    assert second != first


def test_a_cloud_keeps_its_range_when_it_claims_again(tmp_path: Path) -> None:
    first = address_ranges.claim(tmp_path / "a")
    assert address_ranges.claim(tmp_path / "a") == first


def test_an_asked_for_range_in_use_is_refused(tmp_path: Path) -> None:
    address_ranges.claim(tmp_path / "a", "127.91.0.0/16")
    with pytest.raises(address_ranges.RangeTaken, match="127.91.0.0/24 is in use by the "
                                                        "local cloud at"):
        address_ranges.claim(tmp_path / "b", "127.91.0.0/24")


def test_released_and_dead_claims_are_free_again(tmp_path: Path) -> None:
    first = address_ranges.claim(tmp_path / "a")
    address_ranges.release(tmp_path / "a")
    assert address_ranges.claim(tmp_path / "b") == first
    # A claim made by a process that is gone, for a cloud that never ran.
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    claim_file = next(address_ranges.claims_dir().glob("*.json"))
    claim_file.write_text(claim_file.read_text().replace(
        f'"pid": {os.getpid()}', f'"pid": {dead.stdout.strip()}'))
    assert address_ranges.claim(tmp_path / "c") == first
