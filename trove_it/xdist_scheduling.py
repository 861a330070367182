"""How ``pytest -n N`` spreads scenarios over xdist workers.

A work unit is one scenario module for one datastore: its tests share the
module's resources (module-scoped fixtures), so they stay on one worker,
while the modules of one datastore spread over all workers (each worker
builds its own shared instance). Tests of no datastore are units of their
own.

xdist's ``loadgroup`` mode would do this from ``xdist_group`` markers, but
it tags node ids in a way pytest 9.2 no longer honours, so the grouping is
computed here from the node id alone, which is all the controller sees.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


def work_unit(nodeid: str, datastores: Iterable[str]) -> str:
    """``path::test[ids]`` -> ``path[datastore]``, or the node id itself.

    The datastore is the parameter id token that names a datastore under
    test (ids of several parameters are joined with ``-``).
    """
    module, _, rest = nodeid.partition("::")
    if not rest.endswith("]") or "[" not in rest:
        return nodeid
    ids = rest[rest.index("[") + 1:-1]
    wanted = set(datastores)
    for token in ids.split("-"):
        if token in wanted:
            return f"{module}[{token}]"
    return nodeid


def make_scheduler(config: Any, log: Any, datastores: Iterable[str]) -> Any:
    """A LoadScope scheduler whose scopes are ``work_unit``s."""
    from xdist.scheduler import LoadScopeScheduling

    names = tuple(datastores)

    class ModuleDatastoreScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid, names)

    return ModuleDatastoreScheduling(config, log)
