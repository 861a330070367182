"""``trove-it devstack``: what a devstack needs to run Trove and this harness.

``local-conf`` prints a ``local.conf`` (``provisioning/devstack_conf``):
Trove and the services it needs, and the trove-it devstack plugin, which
gives the datastore version its guest image in the extra phase.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from trove_it.errors import UserError
from trove_it.provisioning import devstack_conf


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("devstack", help="devstack configuration for Trove")
    commands = parser.add_subparsers(dest="command", metavar="ACTION")
    commands.required = True
    conf = commands.add_parser("local-conf", help="print a local.conf for Trove and trove-it")
    conf.add_argument("--datastore", required=True, metavar="NAME:VERSION",
                      help="datastore version to deploy, e.g. mysql:8.4")
    conf.add_argument("--image", type=Path, metavar="FILE",
                      help="guest image to load instead of building one")
    conf.add_argument("--trove-branch", metavar="BRANCH", help="Trove branch (default: master)")
    conf.add_argument("--trove-it-repo", default=str(devstack_conf.REPO_ROOT), metavar="URL",
                      help="trove-it repository the plugin is taken from (default: this one)")
    conf.set_defaults(func=cmd_local_conf)


def cmd_local_conf(args: argparse.Namespace) -> int:
    name, version = devstack_conf.parse_datastore(args.datastore)
    if args.image is not None and not args.image.is_file():
        raise UserError(f"--image {args.image}: no such file")
    print(devstack_conf.render(devstack_conf.DevstackRequest(
        name, version, args.image.resolve() if args.image else None, args.trove_it_repo,
        args.trove_branch)))
    return 0
