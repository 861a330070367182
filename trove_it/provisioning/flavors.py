"""Test flavors, registered through the compute API as on any cloud.

Named with the run's prefix and removed when the run ends: trovestack's
sizes (``small-7`` and friends), a ``.resize`` variant of each (+16 MB,
+1 vCPU) for flavor-resize tests, and the two fault flavors error-path
tests boot to fail (disk too small for the image; RAM over quota).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from trove_it import catalogue
from trove_it.clients import CloudClients
from trove_it.errors import UserError


@dataclass(frozen=True)
class FlavorSpec:
    key: str
    ram: int
    disk: int
    vcpus: int


def specs_for(datastores: Iterable[str]) -> list[FlavorSpec]:
    """Flavors the given datastores' tests need, resize variants and faults included."""
    wanted: dict[str, FlavorSpec] = {}
    for name in datastores:
        size = catalogue.get(name).flavor
        ram, disk, vcpus = catalogue.FLAVORS[size]
        wanted[size] = FlavorSpec(size, ram, disk, vcpus)
        wanted[f"{size}.resize"] = FlavorSpec(f"{size}.resize", ram + 16, disk, vcpus + 1)
    for key, (ram, disk, vcpus) in catalogue.FAULT_FLAVORS.items():
        wanted[key] = FlavorSpec(key, ram, disk, vcpus)
    return list(wanted.values())


def ensure_flavors(admin: CloudClients, prefix: str, specs: Iterable[FlavorSpec]
                   ) -> dict[str, str]:
    """Create each flavor unless one of that name exists; returns key -> flavor id."""
    compute = admin.conn.compute
    existing = {f.name: f.id for f in compute.flavors(is_public=None)}
    result = {}
    for spec in specs:
        name = f"{prefix}{spec.key}"
        if name in existing:
            result[spec.key] = existing[name]
            continue
        try:
            flavor = compute.create_flavor(name=name, ram=spec.ram, vcpus=spec.vcpus,
                                           disk=spec.disk, is_public=True)
        except Exception as exc:  # noqa: BLE001 - an admin right is the usual cause
            raise UserError(f"cannot create test flavor {name} on the target "
                            f"({type(exc).__name__}: {str(exc).splitlines()[0][:160]}); "
                            f"give --flavor with an existing flavor instead") from None
        result[spec.key] = flavor.id
    return result


def find_flavor(member: CloudClients, wanted: str) -> str:
    """Resolve --flavor (a name or an id) to an id the target knows."""
    for flavor in member.conn.compute.flavors(is_public=None):
        if wanted in (flavor.id, flavor.name):
            return str(flavor.id)
    raise UserError(f"--flavor: no flavor named or numbered '{wanted}' on the target")
