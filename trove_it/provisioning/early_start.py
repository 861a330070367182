"""Start the local cloud's server while pytest is still getting ready.

The server takes most of a second and a half to import Trove and answer.
Provisioning needs it only after collection (and, under xdist, after the
workers have started and collected), so the process that owns the run
launches it as soon as it has read its options, and provisioning then waits
for it. The run state records that this run launched it, so the run's
teardown stops it even when no test got as far as provisioning.

Only runs that will provision do this: a local-cloud target, scenario tests
on the command line (or the default ``testpaths``), no ``--collect-only``,
no guest image to build or load first, and no ``--keep`` (a kept cloud must
outlive the run, and one launched early dies with it).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from trove_it.run_state import RunState
from trove_it.settings import Settings

STATE_KEY = "launched_local_cloud"
SCENARIOS = "scenarios"


def runs_scenarios(args: Sequence[str], rootpath: Path) -> bool:
    """Do the command-line paths (or testpaths) all lie in the scenario suites?"""
    if not args:
        return False
    root = (rootpath / SCENARIOS).resolve()
    for arg in args:
        path = Path(arg.split("::", 1)[0])
        path = (path if path.is_absolute() else Path.cwd() / path).resolve()
        if path != root and root not in path.parents:
            return False
    return True


def wanted(settings: Settings, args: Sequence[str], rootpath: Path, collect_only: bool) -> bool:
    return (settings.cloud == "local" and not collect_only and not settings.image
            and not settings.build_image and not settings.keep
            and runs_scenarios(args, rootpath))


def launch(names: Sequence[str], run_state: RunState, profile: str, trove: str) -> None:
    """Begin starting these local clouds; failures are left for provisioning to
    report. The run state lists each one this run started."""
    from trove_it.localcloud.lifecycle.launcher import CloudError, LocalCloud

    for name in names:
        try:
            started = LocalCloud(name, profile=profile, trove=trove).begin(
                tie_to_parent=True, run_owned=True)
        except (CloudError, OSError):
            continue  # provisioning starts it again and says what is wrong
        if started:
            with run_state.locked() as state:
                state.setdefault(STATE_KEY, []).append(name)

