"""The factories Trove's ``remote_*_client`` options name.

Trove builds a fresh client object for every call it makes to nova, cinder,
neutron, glance, swift or a guest; each factory here hands it a thin client
onto the one driver (or guest) the server's runtime built, scoped to the
caller's project. These are the only entry points from Trove into the
drivers, so they are the only driver-side code that looks the runtime up.
"""

from __future__ import annotations

from typing import Any

from trove_it.localcloud import runtime
from trove_it.localcloud.drivers.compute import NovaClient
from trove_it.localcloud.drivers.image import GlanceClient
from trove_it.localcloud.drivers.neutron_client import NeutronClient
from trove_it.localcloud.drivers.objectstore import SwiftConnection, account_for
from trove_it.localcloud.drivers.volume import CinderClient
from trove_it.localcloud.guest.agent import GuestAPI


def _project(context: Any) -> str:
    return getattr(context, "project_id", "") or ""


def nova_client(context: Any, region_name: str | None = None,
                password: str | None = None) -> NovaClient:
    return NovaClient(runtime.get().compute, _project(context),
                      getattr(context, "user_id", "") or "")


def cinder_client(context: Any, region_name: str | None = None) -> CinderClient:
    return CinderClient(runtime.get().volumes, _project(context))


def neutron_client(context: Any, region_name: str | None = None) -> NeutronClient:
    return NeutronClient(runtime.get().network, _project(context))


def glance_client(context: Any, region_name: str | None = None) -> GlanceClient:
    return GlanceClient(runtime.get().images)


def swift_client(context: Any, region_name: str | None = None) -> SwiftConnection:
    """The caller's project account."""
    return SwiftConnection(runtime.get().objects, account_for(_project(context)))


def guest_client(context: Any, id: str, manager: str | None = None) -> GuestAPI:
    """The instance's guest, as Trove's ``trove.guestagent.api.API`` would be."""
    return runtime.get().guests.api(context, id)
