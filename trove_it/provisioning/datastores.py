"""Make sure the datastore version a run asks for is registered and active.

On the local cloud a version is inactive when its engine is missing on the
machine; the error then says which package to install, as the cloud knows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from trove_it import catalogue
from trove_it.clients import CloudClients
from trove_it.errors import UserError
from trove_it.targets.base import Target


@dataclass(frozen=True)
class DatastoreVersion:
    datastore: str
    name: str
    id: str


def _engine_reason(target: Target, datastore: str) -> str:
    control = target.control
    if control is None:
        return ""
    from trove_it.localcloud.datastores import served

    ds = served(datastore)
    if ds is None:
        return ""
    reason = control.status().get("unavailable_engines", {}).get(ds.engine)
    return f": {reason}" if reason else ""


def ensure_version(target: Target, member: CloudClients, datastore: str,
                   version: str | None) -> DatastoreVersion:
    trove = member.trove
    try:
        ds: Any = trove.datastores.get(datastore)
    except Exception as exc:  # noqa: BLE001
        if getattr(exc, "http_status", None) == 404:
            raise UserError(f"datastore '{datastore}' is not registered on the "
                            f"{target.description}") from None
        raise
    wanted = version or getattr(ds, "default_version", None)
    versions = list(trove.datastore_versions.list(datastore))
    by_name = {v.name: v for v in versions}
    if wanted not in by_name:
        # Trove shows the default as an id; map it back to a name.
        match = next((v for v in versions if v.id == wanted), None)
        if match is None:
            known = ", ".join(sorted(by_name)) or "none"
            raise UserError(f"unknown version '{wanted}' of datastore {datastore} on the "
                            f"{target.description}; registered: {known}"
                            + _engine_reason(target, datastore))
        wanted = match.name
    chosen = by_name[wanted]
    if not chosen._info.get("active", True):
        raise UserError(f"datastore {datastore} version {wanted} is not active on the "
                        f"{target.description}" + _engine_reason(target, datastore))
    catalogue.get(datastore)
    return DatastoreVersion(datastore, str(chosen.name), str(chosen.id))
