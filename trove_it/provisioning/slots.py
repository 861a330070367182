"""Which cloud each pytest process tests: one for the run, or one per xdist worker.

A run on one process, or on a cloud that is already up (``--os-cloud``, or a
local cloud started with ``trove-it cloud up``), provisions one target that
every worker shares: the ``shared`` slot.

A run with ``-n N`` that starts its own local cloud gives each worker a
cloud of its own instead, named ``<local-cloud>-gw<i>``. The local cloud's
server is one eventlet process, so a shared one serves the workers one
request at a time; a profile of ``-n 2`` showed each test half again as slow
as alone. With a server per worker the servers run on separate cores, and
no worker's quota or faults can touch another's. Each worker provisions
and tears down its own slot; the controller sweeps what a crashed worker
left.
"""

from __future__ import annotations

from typing import Any

from trove_it.settings import Settings

SHARED = "shared"
STATE_KEY = "worker_clouds"


def worker_count(config: Any) -> int:
    """How many xdist workers this run has (0 without xdist)."""
    value = getattr(config.option, "numprocesses", None)
    return value if isinstance(value, int) else 0


def wants_worker_clouds(settings: Settings, workers: int) -> bool:
    if settings.cloud != "local" or workers < 2:
        return False
    from trove_it.localcloud.lifecycle.launcher import LocalCloud

    # A cloud the user started (and reuses by name) is shared, as without xdist.
    return not LocalCloud(settings.local_cloud).is_running()


def worker_slots(workers: int) -> list[str]:
    return [f"gw{index}" for index in range(workers)]


def slot_for(state: dict[str, Any], worker_id: str | None) -> str:
    return worker_id if worker_id and state.get(STATE_KEY) else SHARED


def cloud_name(settings: Settings, slot: str) -> str:
    return settings.local_cloud if slot == SHARED else f"{settings.local_cloud}-{slot}"
