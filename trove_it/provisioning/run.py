"""Provision a run once, and undo it once at the very end.

The process that owns the run (pytest itself, or the xdist controller) calls
``provision`` before any test runs: it resolves the target (starting the
local cloud if needed), registers the test flavors, points the datastore
version at the run's image (``--image``, ``--build-image``) and checks each
requested datastore version. The result is written to the run state, where every
worker's fixtures read it. ``teardown`` puts the datastore version back,
removes the flavors and stops a local cloud this run started, unless ``--keep``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from trove_it import catalogue
from trove_it.clients import CloudClients, load_client_libraries
from trove_it.errors import UserError
from trove_it.provisioning import datastores as ds_versions
from trove_it.provisioning import (
    early_start,
    flavors,
    guest_image,
    placement,
    quota_usage,
    reused_instance,
    slots,
)
from trove_it.run_state import RunState
from trove_it.settings import Settings
from trove_it.targets.base import Target
from trove_it.targets.resolve import resolve_target, target_from_state, target_to_state


@dataclass
class DatastoreSetup:
    """What the tests of one datastore use on this target."""

    name: str
    version: str
    version_id: str
    flavor_id: str
    resize_flavor_id: str | None
    volume_size: int
    network_ids: tuple[str, ...] = ()
    availability_zone: str | None = None
    volume_type: str | None = None

    def create_fields(self) -> dict[str, Any]:
        """Placement fields every test instance's create carries (``placement``)."""
        return placement.Placement(tuple(self.network_ids), self.availability_zone,
                                   self.volume_type).create_fields()


@dataclass
class RunSetup:
    target: dict[str, Any]
    datastores: dict[str, DatastoreSetup]
    fault_flavors: dict[str, str]
    created_flavors: dict[str, str] = field(default_factory=dict)
    started_local_cloud: bool = False
    local_cloud: str | None = None
    """The local cloud's name, when the target is one."""
    image: dict[str, Any] | None = None
    """What ``guest_image.install`` changed (``RunImage``), for the teardown."""

    def to_state(self) -> dict[str, Any]:
        data = asdict(self)
        return data

    @classmethod
    def from_state(cls, data: dict[str, Any]) -> RunSetup:
        return cls(target=data["target"],
                   datastores={k: DatastoreSetup(**v) for k, v in data["datastores"].items()},
                   fault_flavors=dict(data["fault_flavors"]),
                   created_flavors=dict(data.get("created_flavors", {})),
                   started_local_cloud=bool(data.get("started_local_cloud")),
                   local_cloud=data.get("local_cloud"), image=data.get("image"))

    def make_target(self) -> Target:
        return target_from_state(self.target)


def provision(settings: Settings, run_state: RunState, tie_to_parent: bool,
              slot: str = slots.SHARED) -> RunSetup:
    """Provision ``slot`` once (whoever asks first), or return what was provisioned."""
    with run_state.exclusive(f"provision-{slot}"):
        existing = setup_of(run_state, slot)
        if existing is not None:
            return existing
        name = slots.cloud_name(settings, slot)
        launched = name in run_state.read().get(early_start.STATE_KEY, [])
        if launched:
            load_client_libraries()  # while the early-launched cloud is still starting
        # A cloud kept for the user (--keep) outlives the run and is nobody's.
        target, started = resolve_target(settings, tie_to_parent and not settings.keep,
                                         local_name=name)
        local = target.kind == "local"
        setup = RunSetup(target=target_to_state(target), datastores={}, fault_flavors={},
                         started_local_cloud=started or (local and launched),
                         local_cloud=name if local else None)
        # Record the cloud before anything else can fail, so teardown stops it.
        _record(run_state, slot, setup)
        try:
            _provision_datastores(settings, target, setup)
        finally:
            _record(run_state, slot, setup)
        if settings.api_faults is not None:
            # After provisioning, whose creates are not the subject.
            control = target.control
            if control is not None:
                control.set_transient_faults(settings.api_faults.body())
        return setup


def setup_of(run_state: RunState, slot: str) -> RunSetup | None:
    data = run_state.read().get("setups", {}).get(slot)
    return RunSetup.from_state(data) if data else None


def _record(run_state: RunState, slot: str, setup: RunSetup) -> None:
    with run_state.locked() as state:
        state.setdefault("setups", {})[slot] = setup.to_state()


def _provision_datastores(settings: Settings, target: Target, setup: RunSetup) -> None:
    member = target.clients("member")
    reused_instance.check(member, settings)
    where = placement.resolve(settings, target, member)
    admin = target.clients_or_none("admin")
    created: dict[str, str] = {}
    if settings.flavor is None:
        if admin is None:
            raise UserError(f"the {target.description} has no admin credentials to create "
                            f"test flavors; give --flavor or --os-cloud-admin")
        specs = flavors.specs_for(settings.datastores)
        existing = {f.name for f in admin.conn.compute.flavors(is_public=None)}
        ids = flavors.ensure_flavors(admin, settings.prefix, specs)
        created = {k: v for k, v in ids.items() if f"{settings.prefix}{k}" not in existing}
        setup.created_flavors = created
        setup.fault_flavors = {k: ids[k] for k in catalogue.FAULT_FLAVORS}
    else:
        ids = {}
        explicit = flavors.find_flavor(member, settings.flavor)
    if admin is not None:
        quota_usage.prime(admin, [target.clients(r) for r in ("member", "alt") if target.has(r)])
    wanted_version = settings.datastore_version
    if settings.image or settings.build_image:
        run_image = guest_image.install(settings, target,
                                        _current_version(target, member, settings))
        if run_image is not None:
            setup.image = run_image.to_state()
            wanted_version = run_image.version
    for name in settings.datastores:
        version = ds_versions.ensure_version(target, member, name, wanted_version)
        guest_image.require_bootable(target, name, version.name)
        entry = catalogue.get(name)
        if where.volume_type:
            placement.check_volume_type(member, where.volume_type, name, version.name)
        if settings.flavor is None:
            flavor_id, resize_id = ids[entry.flavor], ids.get(f"{entry.flavor}.resize")
        else:
            flavor_id, resize_id = explicit, None
        setup.datastores[name] = DatastoreSetup(
            name=name, version=version.name, version_id=version.id, flavor_id=flavor_id,
            resize_flavor_id=resize_id,
            volume_size=max(settings.volume_size, entry.volume_size),
            network_ids=where.network_ids, availability_zone=where.availability_zone,
            volume_type=where.volume_type)


def _current_version(target: Target, member: CloudClients, settings: Settings) -> str | None:
    """The version the run would test without an image, if the cloud has one."""
    try:
        return ds_versions.ensure_version(target, member, settings.datastores[0],
                                          settings.datastore_version).name
    except UserError:
        return None


def teardown(settings: Settings, setup: RunSetup, keep: bool = False) -> list[str]:
    """Undo one slot's provisioning (unless resources were kept, which need it);
    returns lines worth showing the user."""
    from trove_it import deletion

    lines: list[str] = []
    target = setup.make_target()
    if keep:
        if setup.image:
            lines.append(f"kept {setup.image['datastore']} {setup.image['version']} booting "
                         f"image {setup.image['image_id']}")
        if setup.created_flavors:
            lines.append(f"kept test flavors: {', '.join(sorted(setup.created_flavors))}")
        if setup.started_local_cloud:
            lines.append(f"kept the local cloud {setup.local_cloud}: "
                         f"'trove-it cloud down --name {setup.local_cloud}' removes it")
        return lines
    if setup.started_local_cloud and setup.local_cloud:
        # The whole cloud goes: its flavors and images with it.
        from trove_it.localcloud.lifecycle.launcher import LocalCloud

        LocalCloud(setup.local_cloud).down()
        return lines
    if setup.image and target.has("admin"):
        try:
            guest_image.restore(target.clients("admin"), guest_image.RunImage(**setup.image))
        except Exception as exc:  # noqa: BLE001 - the cloud may already be gone
            lines.append(f"could not restore {setup.image['datastore']} "
                         f"{setup.image['version']}: {exc}")
    if setup.created_flavors and target.has("admin"):
        try:
            admin = target.clients("admin")
            for flavor_id in setup.created_flavors.values():
                deletion.delete_flavor(admin, flavor_id)
        except Exception as exc:  # noqa: BLE001 - the cloud may already be gone
            lines.append(f"could not remove test flavors: {exc}")
    return lines
