"""Where each real guest's boot went, for the terminal summary (vm profile).

The vm local cloud times every stage of every guest it booted, from QEMU's
start (``localcloud.vm.boot_watch``): kernel, init, cloud-init done,
Docker up, the agent started and listening, Trove's prepare, the database
container created and healthy, the prepare done and reported (which turns
the instance ACTIVE). One row per guest; a stage never reached shows '-'.
"""

from __future__ import annotations

from trove_it.localcloud.vm.boot_watch import STAGES
from trove_it.targets.base import Target

COLUMNS = [stage for stage, _, _ in STAGES]


def lines(target: Target, prefix: str = "") -> list[str]:
    """The table of the guests of instances named with ``prefix`` (a run's)."""
    try:
        control = target.control
        if control is None or not target.runs_real_guests:
            return []
        vms = [vm for vm in control.vms() if str(vm.get("name", "")).startswith(prefix)]
        accel = target.local_status().get("accel", "?") if vms else "?"
    except Exception as exc:  # noqa: BLE001 - a report, not a reason to fail
        return [f"guest boots: could not read them ({type(exc).__name__})"]
    if not vms:
        return []
    width = max(len(c) for c in COLUMNS)
    out = [f"guest boots ({accel}), seconds from QEMU's start to each stage:",
           "  " + "instance".ljust(10) + " ".join(c.rjust(min(width, 11)) for c in COLUMNS)]
    for vm in vms:  # in the order they booted
        stages = vm.get("stages", {})
        cells = [f"{stages[c]:.0f}" if c in stages else "-" for c in COLUMNS]
        row = "  " + str(vm.get("instance_id") or vm["server_id"])[:8].ljust(10) + \
            " ".join(cell.rjust(min(width, 11)) for cell in cells)
        if vm.get("verdict"):
            row += f"  ({vm['verdict'][:80]})"
        out.append(row)
    return out
