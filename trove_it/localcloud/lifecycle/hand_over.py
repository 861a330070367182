"""A survivable cloud's server hands its state to the next server.

A real control-plane upgrade restarts Trove while nova's servers, cinder's
volumes, neutron's ports and the guests inside the VMs carry on. In the
local cloud those live in the server process, so a survivable cloud (one
started for ``trove-it cloud upgrade-run``) does this at an orderly stop the
launcher asked for: it writes the drivers' and guests' state to
``hand-over.json`` and exits without stopping its engines, which were
started without a parent-death signal. The next server, on whichever Trove,
reads the file at start-up and adopts the engines by their pidfiles. In
between, the new Trove's ``db_sync`` runs on its own (``lifecycle/manage``)
with the handed-over nova state, as trove-manage runs before the services.

Images, objects, identity and Trove's database are files already and need
nothing here. Tokens are not carried over: clients authenticate again.
"""

from __future__ import annotations

import json
import logging
import os
from typing import TYPE_CHECKING, Any, Protocol

from trove_it.localcloud.lifecycle.layout import StateLayout

if TYPE_CHECKING:
    from trove_it.localcloud.drivers.compute import ComputeDriver
    from trove_it.localcloud.drivers.network import NetworkDriver
    from trove_it.localcloud.drivers.volume import VolumeDriver
    from trove_it.localcloud.guest.registry import GuestRegistry


class Runtime(Protocol):
    """What of the server's runtime is handed over (``runtime.Runtime``)."""

    layout: StateLayout
    compute: ComputeDriver
    volumes: VolumeDriver
    network: NetworkDriver
    guests: GuestRegistry

LOG = logging.getLogger(__name__)
FORMAT = 1


def requested(layout: StateLayout) -> bool:
    return layout.hand_over_request.exists()


def write(layout: StateLayout, state: dict[str, Any]) -> None:
    path = layout.hand_over
    tmp = path.with_suffix(".tmp")
    # Guest state can hold replication passwords: owner only.
    with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        json.dump(state, out)
    tmp.replace(path)


def give(runtime: Runtime) -> None:
    """Write the state for the next server; the engines stay up."""
    compute, guests = runtime.compute.snapshot(), runtime.guests.snapshot()
    state = {"format": FORMAT, "compute": compute, "volumes": runtime.volumes.snapshot(),
             "network": runtime.network.snapshot(), "guests": guests}
    write(runtime.layout, state)
    runtime.layout.hand_over_request.unlink(missing_ok=True)
    LOG.info("handed over %d servers and %d guests; their engines keep running",
             len(compute["servers"]), len(guests))


def read(layout: StateLayout) -> dict[str, Any] | None:
    """What the previous server handed over, or None on a fresh cloud."""
    path = layout.hand_over
    if not path.exists():
        return None
    state: dict[str, Any] = json.loads(path.read_text())
    if state.get("format") != FORMAT:
        raise RuntimeError(f"{path} is of hand-over format {state.get('format')}, "
                           f"not {FORMAT}; it was written by another trove-it")
    return state


def receive(layout: StateLayout) -> dict[str, Any] | None:
    """``read``, for the server that takes over: the file goes once read, so
    a later start does not replay it."""
    state = read(layout)
    if state is not None:
        layout.hand_over.unlink()
    return state


def restore_drivers(runtime: Runtime, state: dict[str, Any]) -> None:
    runtime.compute.restore(state["compute"])
    runtime.volumes.restore(state["volumes"])
    runtime.network.restore(state["network"])


def adopt_guests(runtime: Runtime, state: dict[str, Any]) -> None:
    problems = runtime.guests.adopt(state["guests"])
    for problem in problems:
        LOG.error("guest not resumed after the hand-over: %s", problem)
    LOG.info("took over %d servers and %d guests from the previous server",
             len(state["compute"]["servers"]), len(state["guests"]) - len(problems))
