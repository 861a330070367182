"""The end of a run: the leak check and the teardown of each provisioned slot.

Each slot (the shared target, or one xdist worker's own local cloud) is
finished once, by the process that owns it: a worker finishes its own cloud,
the controller the shared target and whatever a crashed worker left. The
lines to show the user go into the run state, where the controller's
terminal summary finds them.
"""

from __future__ import annotations

from trove_it import boot_report
from trove_it.leaks import find_leaks, sweep
from trove_it.provisioning import early_start, slots
from trove_it.provisioning.run import RunSetup, setup_of, teardown
from trove_it.run_state import RunState
from trove_it.settings import Settings

FINISHED = "finished"
SUMMARY = "summary"


def finish_slot(settings: Settings, run_state: RunState, slot: str) -> None:
    """Leak check and teardown of one slot, once."""
    state = run_state.read()
    setup = setup_of(run_state, slot)
    if setup is None or slot in state.get(FINISHED, []):
        return
    kept = list(state.get("kept", []))
    lines: list[str] = []
    if _local_cloud_gone(setup):
        # Its worker was killed (Ctrl-C under xdist): nothing to report on,
        # and every call would wait out the client's connect retries.
        lines.append(f"{slot}: the local cloud {setup.local_cloud} had already stopped; "
                     f"removing what is left of it")
        lines += teardown(settings, setup, keep=settings.keep or bool(kept))
        _record_finished(run_state, slot, lines)
        return
    try:
        # Reports read a cloud that may be gone already (its worker killed):
        # whatever they raise, the teardown below still runs.
        lines += api_faults_report(settings, setup)
        lines += boot_report.lines(setup.make_target(), settings.prefix)
        lines += leak_check(settings, setup, kept,
                            where="" if slot == slots.SHARED else f" on {setup.local_cloud}")
    except Exception as exc:  # noqa: BLE001 - report, then still tear down
        lines.append(f"{slot}: the run's reports could not be read: {type(exc).__name__}: {exc}")
    lines += teardown(settings, setup, keep=settings.keep or bool(kept))
    _record_finished(run_state, slot, lines)


def _record_finished(run_state: RunState, slot: str, lines: list[str]) -> None:
    with run_state.locked() as current:
        current.setdefault(FINISHED, []).append(slot)
        current.setdefault(SUMMARY, []).extend(lines)


def _local_cloud_gone(setup: RunSetup) -> bool:
    """A local cloud this run started that no longer answers."""
    if not (setup.started_local_cloud and setup.local_cloud):
        return False
    from trove_it.localcloud.lifecycle.launcher import LocalCloud

    return not LocalCloud(setup.local_cloud).is_running()


def api_faults_report(settings: Settings, setup: RunSetup) -> list[str]:
    """What ``--api-faults`` injected on this slot's local cloud."""
    if settings.api_faults is None:
        return []
    control = setup.make_target().control
    if control is None:
        return []
    try:
        seen = control.transient_faults()
    except Exception as exc:  # noqa: BLE001 - a report, not a reason to fail
        return [f"api faults: could not read the count: {exc}"]
    injected = ", ".join(f"{count} {'dropped connections' if kind == 'drop' else kind}"
                         for kind, count in sorted(seen["injected"].items())) or "none"
    return [f"api faults: {settings.api_faults.describe()}; of {seen['requests_seen']} "
            f"such requests, injected: {injected}"]


def leak_check(settings: Settings, setup: RunSetup, kept: list[str], where: str = ""
               ) -> list[str]:
    """Find what the run left on this slot's target, report it and remove it."""
    target = setup.make_target()
    if not target.has("admin"):
        return []
    lines: list[str] = []
    try:
        admin = target.clients("admin")
        members = [target.clients(r) for r in ("member", "alt") if target.has(r)]
        # The run's flavors and image uploads go with the teardown.
        provisioned = [*setup.created_flavors.values(),
                       *(setup.image or {}).get("uploaded", [])]
        leaks = find_leaks(admin, members, settings.prefix, skip_ids=[*provisioned, *kept])
        if leaks and settings.keep:
            lines.append(f"--keep: left {len(leaks)} resources named {settings.prefix}*{where}")
        elif leaks:
            lines.append(f"leak check: {len(leaks)} leftovers of this run found{where}; "
                         f"removing them:")
            lines.extend(f"  {leak.describe()}" for leak in leaks)
            for leak, error in sweep(leaks):
                lines.append(f"  could not remove {leak.describe()}: {error}")
    except Exception as exc:  # noqa: BLE001 - report, then still tear down
        lines.append(f"leak check failed: {type(exc).__name__}: {exc}")
    return lines


def finish_run(settings: Settings, run_state: RunState) -> list[str]:
    """Finish every slot not finished yet, stop clouds launched early but never
    provisioned, and return the run's summary lines (removing the run state
    unless something was kept)."""
    for slot in list(run_state.read().get("setups", {})):
        finish_slot(settings, run_state, slot)
    state = run_state.read()
    provisioned = {data.get("local_cloud") for data in state.get("setups", {}).values()}
    if not settings.keep:
        from trove_it.localcloud.lifecycle.launcher import LocalCloud

        for name in state.get(early_start.STATE_KEY, []):
            if name not in provisioned:
                LocalCloud(name).down()
    lines = list(state.get(SUMMARY, []))
    if not (settings.keep or state.get("kept")):
        run_state.remove()
    return lines
