"""Turn ``--cloud`` and ``--os-cloud`` into a Target, starting the local
cloud when that is the target and it is not already running.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from trove_it.clients import check_clouds_files
from trove_it.errors import UserError
from trove_it.settings import Settings
from trove_it.targets.base import Target

DEVSTACK_CLOUDS_YAML = (Path("/etc/openstack/clouds.yaml"),
                        Path.home() / ".config/openstack/clouds.yaml")


def _cloud_names(clouds_yaml: Path | None) -> set[str]:
    import openstack.config

    check_clouds_files(clouds_yaml)
    try:
        config = openstack.config.OpenStackConfig(
            config_files=[str(clouds_yaml)] if clouds_yaml else None)
        return set(config.get_cloud_names())
    except Exception as exc:  # noqa: BLE001 - a malformed file is the user's to fix
        where = clouds_yaml or "clouds.yaml"
        raise UserError(f"cannot read {where}: {type(exc).__name__}: "
                        f"{str(exc).splitlines()[0][:200]}") from None


def resolve_local(name: str, tie_to_parent: bool, profile: str = "default",
                  trove: str | None = None) -> tuple[Target, bool]:
    """Start (or find) the local cloud ``name``; returns the target and whether we
    started it. A cloud tied to this process is this run's, which others may
    not share (``provisioning/cloud_choice``)."""
    from trove_it.localcloud.identity import cloud_names
    from trove_it.localcloud.lifecycle.launcher import CloudError, LocalCloud

    cloud = LocalCloud(name, profile=profile, trove=trove)
    started = False
    if not cloud.is_running():
        try:
            cloud.up(tie_to_parent=tie_to_parent, run_owned=tie_to_parent)
        except CloudError as exc:
            raise UserError(f"the local cloud did not start: {str(exc).splitlines()[0]}") \
                from None
        started = True
    desc = cloud.descriptor
    if desc is None:
        raise UserError(f"the local cloud {name} vanished while starting")
    names = cloud_names(desc.name)
    target = Target(
        kind="local", description=f"local cloud {desc.name} ({desc.profile} profile, "
                                  f"{desc.trove or 'trove'}) at {desc.url}",
        clouds_yaml=Path(desc.clouds_yaml),
        cloud_names={"member": names["member"], "admin": names["admin"],
                     "alt": names["alt_member"]},
        local_url=desc.url)
    return target, started


def resolve_existing(settings: Settings) -> Target:
    member = settings.os_cloud
    assert member
    known = _cloud_names(None)
    if member not in known:
        raise UserError(f"cloud '{member}' not found in any clouds.yaml; known clouds: "
                        f"{', '.join(sorted(known)) or 'none'}")
    admin = settings.os_cloud_admin or next(
        (n for n in (f"{member}-admin",) if n in known), None)
    alt = settings.os_cloud_alt or next((n for n in (f"{member}-alt",) if n in known), None)
    for option, name in (("--os-cloud-admin", settings.os_cloud_admin),
                         ("--os-cloud-alt", settings.os_cloud_alt)):
        if name and name not in known:
            raise UserError(f"{option}: cloud '{name}' not found in any clouds.yaml")
    return Target(kind="existing", description=f"cloud {member}", clouds_yaml=None,
                  cloud_names={"member": member, "admin": admin, "alt": alt})


def resolve_devstack(settings: Settings) -> Target:
    if settings.provision:
        from trove_it.provisioning import devstack_stack

        devstack_stack.stack(settings)
    for clouds_yaml in DEVSTACK_CLOUDS_YAML:
        if not clouds_yaml.is_file():
            continue
        known = _cloud_names(clouds_yaml)
        if {"devstack", "devstack-admin"} <= known:
            alt = "devstack-alt" if "devstack-alt" in known else None
            return Target(
                kind="devstack", description=f"devstack ({clouds_yaml})",
                clouds_yaml=clouds_yaml,
                cloud_names={"member": settings.os_cloud or "devstack",
                             "admin": settings.os_cloud_admin or "devstack-admin",
                             "alt": settings.os_cloud_alt or alt})
    raise UserError("no devstack found (no 'devstack' and 'devstack-admin' clouds in "
                    "/etc/openstack/clouds.yaml or ~/.config/openstack/clouds.yaml); "
                    "deploy one with --provision --devstack-dir DIR")


def resolve_target(settings: Settings, tie_to_parent: bool,
                   local_name: str | None = None) -> tuple[Target, bool]:
    """The run's target; the flag says whether this call started a local cloud.
    ``local_name`` overrides ``--local-cloud`` (a worker's own cloud)."""
    if settings.cloud == "local":
        return resolve_local(local_name or settings.local_cloud, tie_to_parent,
                             settings.local_profile, settings.trove)
    if settings.cloud == "devstack":
        return resolve_devstack(settings), False
    return resolve_existing(settings), False


def target_to_state(target: Target) -> dict[str, Any]:
    return {"kind": target.kind, "description": target.description,
            "clouds_yaml": str(target.clouds_yaml) if target.clouds_yaml else None,
            "cloud_names": dict(target.cloud_names), "local_url": target.local_url}


def target_from_state(state: dict[str, Any]) -> Target:
    return Target(kind=state["kind"], description=state["description"],
                  clouds_yaml=Path(state["clouds_yaml"]) if state["clouds_yaml"] else None,
                  cloud_names=dict(state["cloud_names"]), local_url=state.get("local_url"))
