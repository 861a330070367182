"""Loopback ranges claimed by local clouds, machine-wide.

Each local cloud gives its instances addresses from a 127.N.0.0/16 range.
Two clouds with one range would have engines fighting for the same
address and port, so the range is claimed in a directory every cloud on the
machine sees, whatever its state directory or user: a claim is a small file
naming the cloud's state directory and the process that made the claim. A
claim whose maker is gone and whose cloud no longer runs is stale and is
taken over.
"""

from __future__ import annotations

import ipaddress
import json
import os
import tempfile
from pathlib import Path

from filelock import FileLock

from trove_it.localcloud.lifecycle import processes
from trove_it.localcloud.lifecycle.layout import CloudDescriptor, StateLayout

DEFAULT_CIDR = "127.77.0.0/16"
CANDIDATES = (DEFAULT_CIDR, *(f"127.{n}.0.0/16" for n in range(78, 250)))


class RangeTaken(RuntimeError):
    """The range asked for is in use by another live cloud."""


def claims_dir() -> Path:
    override = os.environ.get("TROVE_IT_RANGE_CLAIMS")
    path = Path(override) if override else Path(tempfile.gettempdir()) / "trove-it-ranges"
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(path, 0o1777)  # clouds of every user claim here
        except PermissionError:
            pass
    return path


def _lock() -> FileLock:
    return FileLock(str(claims_dir() / ".lock"), mode=0o666)


def _claim_file(cidr: str) -> Path:
    return claims_dir() / (cidr.replace("/", "-") + ".json")


def _read(path: Path) -> dict[str, object] | None:
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _live(claim: dict[str, object], cidr: str) -> bool:
    """Does the claim's maker still run, or the cloud it was made for?"""
    pid = claim.get("pid")
    if isinstance(pid, int) and processes.alive(pid):
        return True
    desc = CloudDescriptor.load(StateLayout(Path(str(claim.get("state_dir")))))
    return bool(desc and desc.network_cidr == cidr and processes.alive(desc.pid))


def _taken_by_others(state_dir: Path) -> dict[ipaddress.IPv4Network, str]:
    taken: dict[ipaddress.IPv4Network, str] = {}
    for path in claims_dir().glob("*.json"):
        claim = _read(path)
        if claim is None:
            continue
        cidr = str(claim.get("cidr"))
        if Path(str(claim.get("state_dir"))) == state_dir or not _live(claim, cidr):
            continue
        try:
            taken[ipaddress.IPv4Network(cidr)] = str(claim.get("state_dir"))
        except ValueError:
            continue
    return taken


def claim(state_dir: Path, wanted: str | None = None) -> str:
    """Claim ``wanted``, or the first free candidate range, for the cloud whose
    state lives in ``state_dir``; returns the range."""
    state_dir = state_dir.absolute()
    with _lock():
        taken = _taken_by_others(state_dir)
        if wanted is not None:
            net = ipaddress.IPv4Network(wanted)
            owner = next((where for other, where in taken.items() if net.overlaps(other)),
                         None)
            if owner is not None:
                raise RangeTaken(f"the network range {wanted} is in use by the local cloud "
                                 f"at {owner}; choose another --network-cidr or stop that "
                                 f"cloud")
            chosen = str(net)
        else:
            chosen = next((cidr for cidr in CANDIDATES
                           if not any(ipaddress.IPv4Network(cidr).overlaps(t) for t in taken)),
                          "")
            if not chosen:
                raise RangeTaken("no free 127.N.0.0/16 range left for another local cloud")
        release(state_dir, locked=True)
        record = {"cidr": chosen, "state_dir": str(state_dir), "pid": os.getpid()}
        target = _claim_file(chosen)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(record))
        os.chmod(tmp, 0o644)
        tmp.replace(target)
        return chosen


def release(state_dir: Path, locked: bool = False) -> None:
    """Drop every claim made for ``state_dir``."""
    state_dir = state_dir.absolute()

    def drop() -> None:
        for path in claims_dir().glob("*.json"):
            found = _read(path)
            if found is not None and Path(str(found.get("state_dir"))) == state_dir:
                try:
                    path.unlink()
                except (FileNotFoundError, PermissionError):
                    pass

    if locked:
        drop()
    else:
        with _lock():
            drop()
