"""``trove-it cloud``: start, inspect and stop a local cloud.

``up`` leaves the cloud running for reuse by later pytest runs and prints
where its clouds.yaml is; ``down`` stops its server and every engine by
pidfile and removes its state; ``upgrade-run`` upgrades a cloud from one
Trove to another between grenade's phases; ``install-engines`` installs the
Debian or Ubuntu packages the real engines need.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
from pathlib import Path

from trove_it.errors import UserError
from trove_it.localcloud.engines import binaries
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle import profiles, trove_env
from trove_it.localcloud.lifecycle.launcher import LocalCloud
from trove_it.localcloud.lifecycle.layout import DEFAULT_NAME, cloud_name_problem


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("cloud", help="manage a local cloud")
    commands = parser.add_subparsers(dest="command", metavar="ACTION")
    commands.required = True

    up = commands.add_parser("up", help="start a local cloud (or find the running one)")
    _common(up)
    up.add_argument("--network-cidr", metavar="CIDR",
                    help="loopback range for instance addresses (default: a free 127.N.0.0/16)")
    up.add_argument("--debug", action="store_true", help="debug logging in the server log")
    described = "; ".join(f"{p.name}: {p.summary}" for p in profiles.PROFILES.values())
    up.add_argument("--trove", metavar="SPEC",
                    help="the Trove to run: pypi:VERSION, path:DIR (installed editable) or "
                         "git:URL@REF (default: the pinned release)")
    up.add_argument("--profile", default=profiles.DEFAULT,
                    help=f"how the cloud is deployed ({described}; default: %(default)s)")
    up.set_defaults(func=cmd_up)

    status = commands.add_parser("status", help="show whether a local cloud is running")
    _common(status)
    status.set_defaults(func=cmd_status)

    run_in = commands.add_parser(
        "exec", help="run a command where a vm cloud's instances are reachable",
        description="Run COMMAND inside the network namespace of a vm local cloud, where "
                    "its instances' addresses (as Trove reports them) are reachable, e.g. "
                    "'trove-it cloud exec -- mysql -h 10.120.0.2 -u alice -p'.")
    _common(run_in)
    run_in.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND")
    run_in.set_defaults(func=cmd_exec)

    down = commands.add_parser("down", help="stop a local cloud and remove its state")
    _common(down)
    down.set_defaults(func=cmd_down)

    upgrade = commands.add_parser(
        "upgrade-run", help="upgrade a local cloud from one Trove to another, with the "
                            "upgrade-survival phases before, during and after")
    upgrade.add_argument("--from", dest="from_trove", required=True, metavar="SPEC",
                         help="the Trove to start on: trove==VERSION or a --trove spec")
    upgrade.add_argument("--to", dest="to_trove", required=True, metavar="SPEC",
                         help="the Trove to upgrade to: trove==VERSION or a --trove spec "
                              "(path:DIR tests a checkout's upgrade)")
    upgrade.add_argument("--datastore", default="all", metavar="LIST",
                         help="datastores of the phases (default: %(default)s)")
    upgrade.add_argument("--keep", action="store_true",
                         help="leave the cloud and the upgrade state at the end")
    upgrade.set_defaults(func=cmd_upgrade_run)

    engines = commands.add_parser("install-engines",
                                  help="install MariaDB, PostgreSQL and Redis (Debian/Ubuntu)")
    engines.add_argument("--check", action="store_true",
                         help="only report which engines are missing")
    engines.set_defaults(func=cmd_install_engines)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default=DEFAULT_NAME, help="cloud name (default: %(default)s)")
    parser.add_argument("--state-dir", type=Path, metavar="DIR",
                        help="state directory (default: under $TMPDIR/trove-it-<uid>/)")


def _cloud(args: argparse.Namespace) -> LocalCloud:
    problem = cloud_name_problem(args.name)
    if problem:
        raise UserError(f"--name: {problem}")
    try:
        profile = profiles.get(getattr(args, "profile", profiles.DEFAULT))
    except profiles.UnknownProfile as exc:
        raise UserError(f"--profile: {exc}") from None
    try:
        return LocalCloud(args.name, args.state_dir, getattr(args, "network_cidr", None),
                          debug=getattr(args, "debug", False), profile=profile.name,
                          trove=getattr(args, "trove", None))
    except trove_env.TroveSpecError as exc:
        raise UserError(str(exc)) from None


def cmd_up(args: argparse.Namespace) -> int:
    from trove_it.localcloud.lifecycle.launcher import CloudError

    for engine in ("mariadb", "postgresql", "redis"):
        reason = binaries.unavailable_reason(engine)
        if reason:
            print(f"warning: {reason}")
    try:
        desc = _cloud(args).up()
    except CloudError as exc:
        raise UserError(str(exc)) from None
    names = cloud_names(desc.name)
    print(f"clouds.yaml: {desc.clouds_yaml}")
    print(f"cloud: {names['member']}  (admin: {names['admin']}, second project: "
          f"{names['alt_member']})")
    print(f"url: {desc.url}  instances on {desc.network_cidr}  profile: {desc.profile}")
    if desc.profile == "vm":
        print(f"instances on {profiles.VM_TENANT_CIDR} in its network namespace: reach them "
              f"with 'trove-it cloud exec --name {desc.name} -- COMMAND'")
    print(f"runs: {desc.trove}")
    print(f"use: export OS_CLIENT_CONFIG_FILE={desc.clouds_yaml} OS_CLOUD={names['member']}")
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    status = _cloud(args).status()
    if not status.running or status.descriptor is None:
        print(f"{args.name}: not running")
        return 1
    desc = status.descriptor
    print(f"{args.name}: running (pid {desc.pid}) at {desc.url}")
    print(f"clouds.yaml: {desc.clouds_yaml}")
    print(f"state: {desc.state_dir}")
    print(f"engine processes: {len(status.engines)}")
    return 0


def cmd_exec(args: argparse.Namespace) -> int:
    from trove_it.localcloud.vm import netns
    from trove_it.localcloud.vm.services import namespace

    command = list(args.command)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UserError("cloud exec: give the command to run after --")
    cloud = _cloud(args)
    desc = cloud.descriptor if cloud.is_running() else None
    if desc is None:
        raise UserError(f"the local cloud {args.name} is not running")
    if desc.profile != "vm":
        raise UserError(f"the local cloud {args.name} runs the '{desc.profile}' profile: its "
                        f"instances are on the host's loopback already; run the command "
                        f"directly")
    name = namespace(cloud.layout)
    try:
        return subprocess.run(command, preexec_fn=lambda: netns.enter_in_child(name),
                              check=False).returncode
    except FileNotFoundError:
        raise UserError(f"cloud exec: {command[0]}: command not found") from None


def cmd_down(args: argparse.Namespace) -> int:
    cloud = _cloud(args)
    was_running = cloud.status().running
    cloud.down()
    print(f"{args.name}: stopped and removed" if was_running else
          f"{args.name}: was not running; leftovers removed")
    return 0


def cmd_upgrade_run(args: argparse.Namespace) -> int:
    from trove_it import upgrade_run

    run = upgrade_run.UpgradeRun(
        from_spec=upgrade_run.trove_spec(args.from_trove, "--from"),
        to_spec=upgrade_run.trove_spec(args.to_trove, "--to"),
        datastores=upgrade_run.datastore_list(args.datastore), keep=args.keep)
    return run.run()


def apt_command() -> list[str]:
    return ["apt-get", "install", "-y", "--no-install-recommends", *binaries.PACKAGES]


def cmd_install_engines(args: argparse.Namespace) -> int:
    missing = {engine: binaries.unavailable_reason(engine)
               for engine in ("mariadb", "postgresql", "redis")}
    missing = {k: v for k, v in missing.items() if v}
    if not missing:
        print("all engines are installed: mariadb, postgresql, redis")
        return 0
    if args.check:
        for reason in missing.values():
            print(reason)
        return 1
    if shutil.which("apt-get") is None:
        raise UserError("install-engines needs apt-get (Debian or Ubuntu); install "
                        f"{' '.join(binaries.PACKAGES)} with your package manager")
    command = apt_command()
    if os.geteuid() != 0:
        print("installing engines needs root; run:")
        print(f"  sudo apt-get update && sudo {' '.join(command)}")
        return 1
    update = ["apt-get", "update"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for step in (update, command):
        result = subprocess.run(step, env=env, check=False)
        if result.returncode != 0:
            raise UserError(f"'{' '.join(step)}' failed with status {result.returncode}")
    still = [e for e in missing if binaries.unavailable_reason(e)]
    if still:
        raise UserError(binaries.unavailable_reason(still[0]) or "engines still missing")
    print("installed: " + ", ".join(missing))
    return 0
