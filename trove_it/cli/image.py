"""``trove-it image``: build guest images, load them into a cloud, activate them.

``build`` runs diskimage-builder with this repository's elements and prints
the artifact's path (progress goes to stderr). ``load`` uploads an image to
Glance and registers the datastore version with Trove; ``activate`` makes
that version active and the datastore's default. Without ``--os-cloud`` both
target the running local cloud, as its admin. Validation is a pytest suite:
``pytest --image PATH --datastore D -m image``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from trove_it import catalogue
from trove_it.clients import CloudClients
from trove_it.errors import UserError
from trove_it.images import plan as plans
from trove_it.images import registry, support
from trove_it.localcloud.lifecycle.layout import DEFAULT_NAME

DEFAULT_OUTPUT = Path("build/images")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("image", help="build, load and activate guest images")
    commands = parser.add_subparsers(dest="command", metavar="ACTION")
    commands.required = True

    build = commands.add_parser(
        "build", help="build a guest image with diskimage-builder",
        description="Build a Trove guest image from elements/ and print its path.")
    build.add_argument("--datastore", required=True, metavar="D",
                       help=f"one of: {', '.join(catalogue.DATASTORE_NAMES)}")
    build.add_argument("--version", metavar="V",
                       help="datastore version (default: what the distribution or the "
                            "element's vendor repository provides)")
    build.add_argument("--distro", default="debian", choices=support.DISTROS,
                       help="guest distribution (default: %(default)s)")
    build.add_argument("--release", metavar="R",
                       help="distribution release (default: debian bookworm, ubuntu noble, "
                            "centos 9-stream)")
    build.add_argument("--guest-agent", metavar="pypi:VERSION|path:DIR|git:URL@REF",
                       help="where the Trove guest agent comes from (default: pypi:26.0.0)")
    build.add_argument("--dev-key", type=Path, metavar="FILE",
                       help="SSH public key to install for the agent's account (dev images "
                            "only; without it no key is installed)")
    build.add_argument("--base-image", metavar="PATH|URL|cached",
                       help="start from a cloud image file or URL (ubuntu, centos), or reuse "
                            "the debootstrap result of an earlier build ('cached')")
    build.add_argument("--format", default="qcow2", choices=plans.FORMATS,
                       help="qcow2 disk image or tar of the root file system "
                            "(default: %(default)s)")
    build.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, metavar="DIR",
                       help="where the image and its manifest go (default: %(default)s)")
    build.add_argument("--mode", default="container", choices=plans.MODES,
                       help="container (Trove 26's agent runs the database in Docker): the "
                            "datastore's and its backup's images preloaded; package: the "
                            "engine from packages, which Trove 26's agent cannot use "
                            "(default: %(default)s)")
    build.add_argument("--container-image", metavar="REPOSITORY:TAG",
                       help="container mode: the datastore image (default: mariadb and "
                            "postgresql images built here from Debian packages; for mysql, "
                            "Trove's quay.io/openstack.trove image for the version)")
    build.add_argument("--container-registry", default=plans.BuildRequest.container_registry,
                       metavar="HOST:PORT",
                       help="the registry the images built here are named after, as the "
                            "agent's docker_image names it (default: a vm local cloud's, "
                            "%(default)s)")
    build.add_argument("--container-archive", type=Path, metavar="FILE",
                       help="container mode: that image as a 'docker save' archive, when no "
                            "Docker engine can pull it here")
    build.add_argument("--layout", default="auto", choices=plans.LAYOUTS,
                       help="partitioned (MBR+GRUB) needs device-mapper; partitionless is a "
                            "bare file system with kernel and initrd beside it; auto picks "
                            "partitioned where device-mapper works (default: %(default)s)")
    build.add_argument("--image-size", type=int, default=plans.DEFAULT_IMAGE_SIZE_GB,
                       metavar="GB", help="root file system size (default: %(default)s)")
    build.add_argument("--no-compress", dest="compress", action="store_false",
                       help="skip qcow2 compression (faster; for images booted locally)")
    build.add_argument("--guest-user", default=plans.DEFAULT_GUEST_USER, metavar="NAME",
                       help="the agent's account; must match Trove's injected_config_owner "
                            "(default: %(default)s)")
    build.set_defaults(func=cmd_build)

    load = commands.add_parser(
        "load", help="upload an image to Glance and register its datastore version",
        description="Upload to Glance and register or update the datastore version through "
                    "Trove's management API, then read it back.")
    load.add_argument("--image", required=True, type=Path, metavar="PATH")
    load.add_argument("--datastore", required=True, metavar="D")
    load.add_argument("--version", required=True, metavar="V")
    load.add_argument("--tag", dest="tags", action="append", default=[], metavar="T",
                      help="extra Glance tag, also registered as the version's image tag "
                           "(repeatable; 'trove-it' is always added)")
    load.add_argument("--visibility", default="public", choices=registry.VISIBILITIES,
                      help="Glance visibility; Trove looks images up with its service "
                           "account, so keep public unless loading as that account "
                           "(default: %(default)s)")
    load.add_argument("--active", action="store_true",
                      help="register the version active (new versions are inactive until "
                           "'trove-it image activate')")
    _target(load)
    load.set_defaults(func=cmd_load)

    archive = commands.add_parser(
        "container-archive",
        help="build a database or backup container image from Debian packages",
        description="Build the container image Trove 26's agent runs for a datastore (its "
                    "database, or its backup program) from Debian packages, as a "
                    "'docker save' archive, without a Docker engine; cached, and printed.")
    archive.add_argument("--datastore", required=True, metavar="D",
                         help="mariadb or postgresql")
    archive.add_argument("--kind", default="database", choices=("database", "backup"),
                         help="the database server, or Trove's backup program with its "
                              "tools (default: %(default)s)")
    archive.add_argument("--rebuild", action="store_true",
                         help="build it again even when cached")
    archive.set_defaults(func=cmd_container_archive)

    activate = commands.add_parser(
        "activate", help="make a registered version active and the datastore's default")
    activate.add_argument("--datastore", required=True, metavar="D")
    activate.add_argument("--version", required=True, metavar="V")
    _target(activate)
    activate.set_defaults(func=cmd_activate)


def _target(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--os-cloud", metavar="NAME",
                        help="clouds.yaml cloud with admin credentials (default: the running "
                             "local cloud's admin)")
    parser.add_argument("--local-cloud", default=DEFAULT_NAME, metavar="NAME",
                        help="local cloud to target without --os-cloud (default: %(default)s)")


def _datastore(name: str) -> str:
    if name not in catalogue.DATASTORE_NAMES:
        raise UserError(f"unknown datastore '{name}'; choose from "
                        f"{', '.join(catalogue.DATASTORE_NAMES)}")
    return name


def admin_clients(os_cloud: str | None, local_cloud: str) -> CloudClients:
    """The admin account of ``--os-cloud``, or of the running local cloud."""
    from trove_it.clients import connect

    if os_cloud:
        return connect(os_cloud)
    from trove_it.localcloud.identity import cloud_names
    from trove_it.localcloud.lifecycle.launcher import LocalCloud

    cloud = LocalCloud(local_cloud)
    descriptor = cloud.descriptor if cloud.is_running() else None
    if descriptor is None:
        raise UserError(f"the local cloud '{local_cloud}' is not running: start it with "
                        f"'trove-it cloud up --name {local_cloud}', or give --os-cloud NAME")
    return connect(cloud_names(local_cloud)["admin"], Path(descriptor.clouds_yaml))


def cmd_build(args: argparse.Namespace) -> int:
    from trove_it.images import build, pip_inputs

    request = plans.BuildRequest(
        datastore=_datastore(args.datastore), distro=args.distro, release=args.release,
        version=args.version, mode=args.mode, guest_agent=args.guest_agent,
        dev_key=args.dev_key, base_image=args.base_image, format=args.format,
        layout=args.layout, output=args.output, image_size_gb=args.image_size,
        compress=args.compress, guest_user=args.guest_user,
        container_image=args.container_image, container_archive=args.container_archive,
        container_registry=args.container_registry)
    try:
        plan = plans.make_plan(request, build.device_mapper_available(), build.image_cache(),
                               pip_inputs.constraints_file())
    except plans.PlanError as exc:
        raise UserError(str(exc)) from None
    artifact = build.run(plan)
    print(artifact)
    return 0


def cmd_container_archive(args: argparse.Namespace) -> int:
    from trove_it.containers import build, recipes

    recipe = recipes.recipe(_datastore(args.datastore), args.kind)
    print(build.ensure(recipe, rebuild=args.rebuild))
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    datastore = _datastore(args.datastore)
    if not args.image.is_file():
        raise UserError(f"--image {args.image}: no such file")
    admin = admin_clients(args.os_cloud, args.local_cloud)
    result = registry.load_image(admin, args.image, datastore, args.version, args.tags,
                                 visibility=args.visibility,
                                 active=True if args.active else None, say=print)
    image, version = result.image, result.version
    how = "reused identical Glance image" if image.reused else "uploaded as Glance image"
    print(f"{args.image.name}: {how} {image.id}"
          + (f" (kernel {image.kernel_id}, initrd {image.ramdisk_id})" if image.kernel_id
             else ""))
    state = "active" if version.active else "inactive; 'trove-it image activate' turns it on"
    print(f"{datastore} {version.name}: {'registered' if version.created else 'updated'} "
          f"version {version.id} ({state})")
    return 0


def cmd_activate(args: argparse.Namespace) -> int:
    datastore = _datastore(args.datastore)
    admin = admin_clients(args.os_cloud, args.local_cloud)
    version = registry.activate(admin, datastore, args.version)
    print(f"{datastore} {version.name}: version {version.id} is active and the default")
    return 0
