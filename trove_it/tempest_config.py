"""tempest.conf for running trove-tempest-plugin against a cloud's clouds.yaml.

Everything comes from the cloud itself: the admin account (tempest makes a
project and users per test class from it: dynamic credentials), the
identity URL, the network that holds the router, and the flavors. What the
plugin reads is listed in its ``config.py``; the rest are tempest's own
options. ``python -m trove_it.tempest_config`` writes the file.
"""

from __future__ import annotations

import argparse
import configparser
import io
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml

from trove_it.errors import UserError

DATASTORES = ("mysql", "mariadb", "postgresql")


@dataclass(frozen=True)
class TempestTarget:
    """What tempest.conf needs from the cloud under test."""

    auth_url: str
    admin_user: str
    admin_password: str
    admin_project: str
    region: str
    network: str
    flavor_id: str
    resize_flavor_id: str
    datastores: tuple[str, ...] = DATASTORES
    barbican: bool = False
    volume_type: str = "trove-it-local"
    full: bool = False
    """Also the tests the plugin skips by default: the full replication and
    SSL replication runs, rebuild (to ``rebuild_image_id``) and upgrade (from
    ``pre_upgrade`` versions to each datastore's default)."""
    rebuild_image_id: str = ""
    pre_upgrade: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_clouds_yaml(cls, path: Path, cloud: str, **extra: object) -> TempestTarget:
        try:
            clouds = yaml.safe_load(path.read_text())["clouds"]
            entry = clouds[cloud]
            auth = entry["auth"]
            return cls(auth_url=auth["auth_url"].rstrip("/"), admin_user=auth["username"],
                       admin_password=auth["password"], admin_project=auth["project_name"],
                       region=entry.get("region_name", "RegionOne"), **extra)  # type: ignore[arg-type]
        except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
            raise UserError(f"{path}: no usable admin cloud {cloud!r} ({exc!r}); pass the "
                            f"clouds.yaml a trove-it cloud wrote and its '-admin' entry") from None


def render(target: TempestTarget, log_file: Path) -> str:
    conf = configparser.ConfigParser(interpolation=None)
    conf.optionxform = str  # type: ignore[assignment,method-assign]
    identity_v3 = target.auth_url if target.auth_url.endswith("/v3") else f"{target.auth_url}/v3"
    conf.read_dict({
        "DEFAULT": {"log_file": str(log_file), "debug": "True"},
        "auth": {
            "use_dynamic_credentials": "True",
            "admin_username": target.admin_user,
            "admin_password": target.admin_password,
            "admin_project_name": target.admin_project,
            "admin_domain_name": "Default",
            # the object store lets the owner remove its account only as reseller
            "tempest_roles": "ResellerAdmin",
        },
        "identity": {"uri_v3": identity_v3, "auth_version": "v3", "region": target.region,
                     "v3_endpoint_type": "public"},
        "identity-feature-enabled": {"api_v2": "False", "api_v3": "True"},
        "service_available": {
            "trove": "True", "neutron": "True", "nova": "True", "cinder": "True",
            "glance": "True", "swift": "True", "barbican": str(target.barbican)},
        "compute": {"region": target.region},
        "network": {"region": target.region},
        "key_manager": {"region": target.region},
        "database": {
            "enabled_datastores": ",".join(target.datastores),
            # the plugin's own default (mysql 5.7.29) names no registered
            # version; empty makes it take each datastore's default version
            "default_datastore_versions": "",
            "flavor_id": target.flavor_id,
            "resize_flavor_id": target.resize_flavor_id,
            "shared_network": target.network,
            "volume_type": target.volume_type,
            "database_build_timeout": "600",
            "database_restore_timeout": "600",
            "backup_wait_timeout": "300",
            **({"run_full_tests": "True", "rebuild_image_id": target.rebuild_image_id,
                "pre_upgrade_datastore_versions": ",".join(
                    f"{ds}:{version}" for ds, version in target.pre_upgrade)}
               if target.full else {}),
        },
    })
    out = io.StringIO()
    conf.write(out)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trove_it.tempest_config",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--clouds-yaml", type=Path, required=True)
    parser.add_argument("--cloud", required=True, help="the admin entry, e.g. NAME-admin")
    parser.add_argument("--network", default="trove-it-private")
    parser.add_argument("--flavor", default="d3")
    parser.add_argument("--resize-flavor", default="d4")
    parser.add_argument("--datastores", default=",".join(DATASTORES))
    parser.add_argument("--barbican", action="store_true")
    parser.add_argument("--full", action="store_true",
                        help="also the tests the plugin skips by default")
    parser.add_argument("--rebuild-image", default="", help="image id for the rebuild tests")
    parser.add_argument("--pre-upgrade", default="",
                        help="DS:VERSION,... to create before upgrading (the upgrade tests)")
    parser.add_argument("--log-file", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        target = TempestTarget.from_clouds_yaml(
            args.clouds_yaml, args.cloud, network=args.network, flavor_id=args.flavor,
            resize_flavor_id=args.resize_flavor, barbican=args.barbican,
            datastores=tuple(d for d in args.datastores.split(",") if d), full=args.full,
            rebuild_image_id=args.rebuild_image, pre_upgrade=tuple(
                tuple(item.split(":", 1)) for item in args.pre_upgrade.split(",")
                if ":" in item))
    except UserError as exc:
        print(f"trove-it: {exc}", file=sys.stderr)
        return 2
    args.out.write_text(render(target, args.log_file))
    args.out.chmod(0o600)
    return 0


if __name__ == "__main__":
    sys.exit(main())
