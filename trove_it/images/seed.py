"""The NoCloud seed for the boot test: the files Trove's taskmanager would
inject (guest_info.conf and trove-guestagent.conf, owned like Trove's
``injected_config_owner``) plus the probe, on an ISO labelled ``cidata``.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from trove_it.errors import UserError
from trove_it.images import iso
from trove_it.images.probe import ProbeSpec, script

# The packaged engine owns its default data directory; the agent formats and
# mounts the instance volume at start-up, so in package mode the volume goes
# beside it instead of on top of it.
PACKAGE_MODE_MOUNT_POINT = "/var/lib/trove/volume"


def user_data(spec: ProbeSpec, version: str, guest_user: str) -> str:
    guest_info = (f"[DEFAULT]\nguest_id = {spec.guest_id}\n"
                  f"datastore_manager = {spec.datastore}\ndatastore_version = {version}\n"
                  f"tenant_id = trove-it-boot-test\nnetwork_isolation = false\n")
    # The fake transport lets the agent start its RPC server without a
    # controller; debug logging records that it got there.
    agent_conf = ("[DEFAULT]\ntransport_url = fake://\ncontrol_exchange = trove\n"
                  "debug = true\nlog_dir = /var/log/trove/\nlog_file = trove-guestagent.log\n")
    if spec.mode == "package":
        agent_conf += f"\n[{spec.datastore}]\nmount_point = {PACKAGE_MODE_MOUNT_POINT}\n"
    owner = f"{guest_user}:root"
    document = {
        "write_files": [
            {"path": "/etc/trove/conf.d/guest_info.conf", "owner": owner,
             "permissions": "0644", "content": guest_info},
            {"path": "/etc/trove/conf.d/trove-guestagent.conf", "owner": owner,
             "permissions": "0644", "content": agent_conf},
            {"path": "/usr/local/sbin/trove-it-probe", "permissions": "0755",
             "content": script(spec)},
        ],
        "runcmd": [["systemd-run", "--unit=trove-it-probe", "--no-block",
                    "/usr/local/sbin/trove-it-probe"]],
    }
    return "#cloud-config\n" + yaml.safe_dump(document, sort_keys=False, width=1000)


def _iso_tool() -> list[str]:
    command = iso.writer()
    if command is None:
        raise UserError("the boot test's NoCloud seed needs genisoimage, mkisofs or xorriso "
                        f"({iso.INSTALL_HINT})")
    return command


def write_seed(directory: Path, spec: ProbeSpec, version: str, guest_user: str) -> Path:
    (directory / "user-data").write_text(user_data(spec, version, guest_user))
    (directory / "meta-data").write_text(f"instance-id: trove-it-{spec.nonce}\n"
                                         f"local-hostname: trove-it-guest\n")
    iso = directory / "seed.iso"
    result = subprocess.run([*_iso_tool(), "-quiet", "-output", str(iso), "-volid", "cidata",
                             "-joliet", "-rock", str(directory / "user-data"),
                             str(directory / "meta-data")],
                            capture_output=True, text=True, timeout=60, check=False)
    if result.returncode != 0:
        raise UserError(f"could not write the NoCloud seed: {result.stderr.strip()[:200]}")
    return iso
