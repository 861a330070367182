"""``--reuse-instance``: checked once at the start, not in every test.

A wrong id, an instance that is not ACTIVE, or one of another datastore
would otherwise fail each test that uses the shared instance with the same
error. The run is refused in one line instead.
"""

from __future__ import annotations

from typing import Any

from trove_it.errors import UserError
from trove_it.settings import Settings

USABLE = ("ACTIVE", "HEALTHY")


def check(member: Any, settings: Settings) -> None:
    """Refuse the run unless ``--reuse-instance`` names a usable instance."""
    wanted = settings.reuse_instance
    if not wanted:
        return
    from troveclient.apiclient import exceptions as api_exc

    try:
        found = member.trove.instances.get(wanted)
    except api_exc.NotFound:
        raise UserError(f"--reuse-instance {wanted}: no such instance in the test project; "
                        f"give the id of one of its ACTIVE instances") from None
    status = str(getattr(found, "status", "?"))
    if status not in USABLE:
        raise UserError(f"--reuse-instance {wanted} is {status}, not ACTIVE; wait for it or "
                        f"give another instance")
    datastore = str((getattr(found, "datastore", None) or {}).get("type", "?"))
    if datastore not in settings.datastores:
        raise UserError(f"--reuse-instance {wanted} is a {datastore} instance, but the run "
                        f"tests {', '.join(settings.datastores)}; give --datastore={datastore}")
