"""Where test instances go: networks, availability zone and volume type.

A deployment with a management network (Trove's ``management_networks``)
gives an instance no user-facing port unless the create names a network,
and then nothing can reach its database. So ``--network`` names the
networks to plug (a production-profile local cloud's tenant network by
default), ``--availability-zone`` the zone and ``--volume-type`` the volume
type. Each is checked against the cloud at the start: an unknown one is one
line, not a failure in every test.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from trove_it.errors import UserError
from trove_it.settings import Settings
from trove_it.targets.base import Target


@dataclass(frozen=True)
class Placement:
    network_ids: tuple[str, ...] = ()
    availability_zone: str | None = None
    volume_type: str | None = None
    notes: tuple[str, ...] = field(default=())

    def create_fields(self) -> dict[str, Any]:
        """The instance-create fields (troveclient keywords) this placement sets."""
        fields: dict[str, Any] = {}
        if self.network_ids:
            fields["nics"] = [{"net-id": net} for net in self.network_ids]
        if self.availability_zone:
            fields["availability_zone"] = self.availability_zone
        return fields


def _default_networks(target: Target) -> tuple[str, ...]:
    """On a local cloud with a management network, its tenant network."""
    control = target.control
    if control is None:
        return ()
    status = control.status()
    return (str(status["tenant_network"]),) if status.get("management_network") else ()


def _network_id(member: Any, ref: str) -> str:
    try:
        found = member.conn.network.find_network(ref, ignore_missing=True)
    except Exception as exc:  # noqa: BLE001 - no network API, or it failed
        raise UserError(f"--network {ref}: cannot list networks on this cloud: "
                        f"{str(exc).splitlines()[0][:160]}") from None
    if found is None:
        known = sorted(n.name for n in member.conn.network.networks())
        raise UserError(f"--network {ref}: no such network; known: "
                        f"{', '.join(known) or 'none'}")
    return str(found.id)


def _check_zone(member: Any, zone: str) -> None:
    zones = sorted(z.name for z in member.conn.compute.availability_zones())
    if zone not in zones:
        raise UserError(f"--availability-zone {zone}: no such zone; known: "
                        f"{', '.join(zones) or 'none'}")


def check_volume_type(member: Any, volume_type: str, datastore: str, version: str) -> None:
    """The type must be one Trove offers for the datastore version."""
    offered = member.trove.volume_types.list_datastore_version_associated_volume_types(
        datastore, version)
    names = sorted({str(t.name) for t in offered} | {str(t.id) for t in offered})
    if volume_type not in names:
        raise UserError(f"--volume-type {volume_type}: not offered for {datastore} {version}; "
                        f"offered: {', '.join(sorted(str(t.name) for t in offered)) or 'none'}")


def resolve(settings: Settings, target: Target, member: Any) -> Placement:
    refs = settings.networks or _default_networks(target)
    network_ids = tuple(_network_id(member, ref) for ref in refs)
    if settings.availability_zone:
        _check_zone(member, settings.availability_zone)
    return Placement(network_ids, settings.availability_zone, settings.volume_type)
