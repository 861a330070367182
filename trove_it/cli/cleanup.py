"""``trove-it cleanup``: remove what earlier runs left behind.

Everything a run creates is named ``trove-it-<run id>-...``; this finds the
leftovers of one run (``--run-id``) or of every run (``--all``) on the local
cloud or a clouds.yaml cloud, lists them and removes them.
"""

from __future__ import annotations

import argparse

from trove_it.clients import CloudClients
from trove_it.errors import UserError
from trove_it.localcloud.lifecycle.layout import DEFAULT_NAME
from trove_it.settings import RUN_ID_PATTERN


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("cleanup", help="remove leftovers of earlier runs")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--run-id", metavar="ID", help="leftovers of this run")
    which.add_argument("--all", action="store_true", help="leftovers of every run")
    parser.add_argument("--os-cloud", metavar="NAME",
                        help="clouds.yaml cloud to clean (default: the local cloud)")
    parser.add_argument("--os-cloud-admin", metavar="NAME",
                        help="its admin cloud (default: <os-cloud>-admin)")
    parser.add_argument("--local-cloud", default=DEFAULT_NAME, metavar="NAME",
                        help="local cloud to clean (default: %(default)s)")
    parser.add_argument("--dry-run", action="store_true", help="list, delete nothing")
    parser.set_defaults(func=cmd_cleanup)


def _clients(args: argparse.Namespace) -> tuple[CloudClients, list[CloudClients]]:
    from pathlib import Path

    from trove_it.clients import connect

    if args.os_cloud:
        admin_name = args.os_cloud_admin or f"{args.os_cloud}-admin"
        return connect(admin_name), [connect(args.os_cloud)]
    from trove_it.localcloud.identity import cloud_names
    from trove_it.localcloud.lifecycle.launcher import LocalCloud

    cloud = LocalCloud(args.local_cloud)
    desc = cloud.descriptor
    if desc is None or not cloud.is_running():
        raise UserError(f"no local cloud named {args.local_cloud} is running; give "
                        f"--os-cloud to clean a clouds.yaml cloud")
    names = cloud_names(desc.name)
    clouds_yaml = Path(desc.clouds_yaml)
    return connect(names["admin"], clouds_yaml), [
        connect(names["member"], clouds_yaml), connect(names["alt_member"], clouds_yaml)]


def cmd_cleanup(args: argparse.Namespace) -> int:
    from trove_it.leaks import find_leaks, sweep

    if args.run_id and not RUN_ID_PATTERN.match(args.run_id):
        raise UserError(f"--run-id {args.run_id!r} is not a run id (lowercase letters, "
                        f"digits and dashes)")
    prefix = "trove-it-" if args.all else f"trove-it-{args.run_id}-"
    admin, members = _clients(args)
    leaks = find_leaks(admin, members, prefix)
    if not leaks:
        print(f"nothing named {prefix}* to clean up")
        _forget_run(args)
        return 0
    for leak in leaks:
        print(("would remove " if args.dry_run else "removing ") + leak.describe())
    if args.dry_run:
        return 0
    failures = sweep(leaks)
    for leak, error in failures:
        print(f"could not remove {leak.describe()}: {error}")
    if not failures:
        _forget_run(args)
    return 1 if failures else 0


def _forget_run(args: argparse.Namespace) -> None:
    """The record a run kept for what it left (``--keep-on-failure``) goes with it."""
    from trove_it.run_state import runs_root

    if args.run_id and not args.dry_run and (runs_root() / args.run_id).is_dir():
        from trove_it.run_state import RunState

        RunState(args.run_id).remove()
