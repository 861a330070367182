"""Which local cloud a run tests, so that runs on one machine never share a
cloud by accident.

A run that starts a local cloud stops it when it ends. Two runs sharing
such a cloud (two terminals, two checkouts, two CI jobs on one host) would
see it vanish under them. So:

- a cloud started with ``trove-it cloud up`` belongs to no run: every run
  naming it (by default, ``trove-it-local``, when its profile is the one
  asked for) shares it and leaves it running;
- otherwise a run with the default options starts a cloud of its own, named
  ``trove-it-<run id>``, and stops it at the end;
- a run naming a cloud another live run started is refused in one line,
  because that run will stop it.

Clouds whose run died without stopping them (a SIGKILL, a crashed machine)
are swept at the next run's start.
"""

from __future__ import annotations

import dataclasses
import os

from trove_it.errors import UserError
from trove_it.localcloud.lifecycle import processes
from trove_it.localcloud.lifecycle.layout import (
    CloudDescriptor,
    StateLayout,
    default_state_dir,
    default_state_root,
)
from trove_it.settings import Settings


def _descriptor(name: str) -> CloudDescriptor | None:
    return CloudDescriptor.load(StateLayout(default_state_dir(name)))


def _shared(desc: CloudDescriptor | None) -> bool:
    """Is this a running cloud that no run owns (``trove-it cloud up``)?"""
    return bool(desc and desc.owner_pid is None and processes.alive(desc.pid))


# Set by a run that owns a local cloud (its pid) for a pytest it starts on that
# cloud, as tempest_run does after the plugin; the owner stops the cloud itself.
LENDER_ENV = "TROVE_IT_CLOUD_LENT_BY"


def _lent_by_parent(owner: int) -> bool:
    """The owner started this pytest and lends it the cloud: the variable names
    the owner, and the owner is this process's parent (a stale export in a
    shell lends nothing)."""
    lender = os.environ.get(LENDER_ENV, "")
    return lender.isdigit() and int(lender) == owner == os.getppid()


def _owned_by_other_run(desc: CloudDescriptor | None) -> int | None:
    if desc is None or desc.owner_pid in (None, os.getpid()) or _lent_by_parent(desc.owner_pid):
        return None
    if processes.alive(desc.owner_pid) and processes.alive(desc.pid):
        return desc.owner_pid
    return None


def _fits(desc: CloudDescriptor, settings: Settings) -> bool:
    """Does the running cloud deploy what the run asks for (profile, Trove)?"""
    return desc.profile == settings.local_profile and desc.trove_spec == settings.trove


def private_name(settings: Settings) -> str:
    return f"trove-it-{settings.run_id}"


def choose(settings: Settings) -> Settings:
    """The settings with the local cloud this run will use."""
    if settings.cloud != "local":
        return settings
    desc = _descriptor(settings.local_cloud)
    if "local_cloud" in settings.explicit:
        owner = _owned_by_other_run(desc)
        if owner is not None:
            raise UserError(
                f"the local cloud {settings.local_cloud} belongs to another pytest run "
                f"(pid {owner}), which stops it when it ends; name another --local-cloud, "
                f"drop the option for a cloud of this run's own, or share one started "
                f"with 'trove-it cloud up --name {settings.local_cloud}'")
        if desc is not None and processes.alive(desc.pid) and not _fits(desc, settings):
            raise UserError(
                f"the local cloud {settings.local_cloud} runs the '{desc.profile}' profile "
                f"on Trove {desc.trove_spec}, not '{settings.local_profile}' on "
                f"{settings.trove}; stop it with 'trove-it cloud down --name "
                f"{settings.local_cloud}' or name another --local-cloud")
        return settings
    if _shared(desc) and desc is not None and _fits(desc, settings):
        return settings
    return dataclasses.replace(settings, local_cloud=private_name(settings))


def sweep_orphans() -> list[str]:
    """Remove the local clouds of runs that died without stopping them; returns
    their names. A cloud ``trove-it cloud up`` started is never touched."""
    from trove_it.localcloud.lifecycle.launcher import LocalCloud

    root = default_state_root()
    removed: list[str] = []
    if not root.is_dir():
        return removed
    for state_dir in sorted(root.iterdir()):
        desc = CloudDescriptor.load(StateLayout(state_dir))
        if desc is None or desc.owner_pid is None or processes.alive(desc.owner_pid):
            continue
        LocalCloud(desc.name, state_dir=state_dir).down()
        removed.append(desc.name)
    return removed
