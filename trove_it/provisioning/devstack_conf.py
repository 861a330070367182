"""A devstack ``local.conf`` that deploys Trove with what it needs, and this
project's devstack plugin to give the datastore version its guest image.

The services and Trove settings follow Trove's own devstack jobs (cinder,
swift, a management network with network isolation); the image comes from
trove-it's element set rather than Trove's trovestack build, so Trove's own
image build is switched off.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path

from trove_it import catalogue
from trove_it.errors import UserError

TROVE_REPO = "https://opendev.org/openstack/trove"
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class DevstackRequest:
    datastore: str
    version: str
    image: Path | None = None
    trove_it_repo: str = str(REPO_ROOT)
    trove_branch: str | None = None


def parse_datastore(spec: str) -> tuple[str, str]:
    """``mysql:8.4`` -> ("mysql", "8.4"), refusing what devstack's Trove cannot run."""
    name, _, version = spec.partition(":")
    if not name or not version:
        raise UserError(f"--datastore takes NAME:VERSION (e.g. mysql:8.4), not {spec!r}")
    if name not in catalogue.BY_NAME:
        raise UserError(f"unknown datastore '{name}'; choose from "
                        f"{', '.join(catalogue.AGENT_DATASTORE_NAMES)}")
    if not catalogue.BY_NAME[name].guest_agent:
        raise UserError(f"datastore {name} has no guest agent in Trove 26, so a devstack "
                        f"Trove cannot run it; choose from "
                        f"{', '.join(catalogue.AGENT_DATASTORE_NAMES)}")
    return name, version


def render(request: DevstackRequest, password: str | None = None) -> str:
    """The local.conf text; the password is random unless given."""
    password = password or secrets.token_urlsafe(12)
    branch = f" {request.trove_branch}" if request.trove_branch else ""
    lines = [
        "# Rendered by 'trove-it devstack local-conf'.",
        "[[local|localrc]]",
        f"ADMIN_PASSWORD={password}",
        "DATABASE_PASSWORD=$ADMIN_PASSWORD",
        "RABBIT_PASSWORD=$ADMIN_PASSWORD",
        "SERVICE_PASSWORD=$ADMIN_PASSWORD",
        "SWIFT_HASH=$ADMIN_PASSWORD",
        "SWIFT_REPLICAS=1",
        "SWIFT_LOOPBACK_DISK_SIZE=15G",
        "GLANCE_LIMIT_IMAGE_SIZE_TOTAL=5000",
        "",
        f"enable_plugin trove {TROVE_REPO}{branch}",
        f"enable_plugin trove-it {request.trove_it_repo}",
        "enable_service trove tr-api tr-tmgr tr-cond",
        "enable_service c-api c-vol c-sch s-proxy s-object s-container s-account",
        "disable_service c-bak tempest etcd3",
        "",
        f"TROVE_DATASTORE_TYPE={request.datastore}",
        f"TROVE_DATASTORE_VERSION={request.version}",
        "# trove-it's devstack plugin builds, loads and activates the guest image.",
        "TROVE_ENABLE_IMAGE_BUILD=false",
        "TROVE_AGENT_CALL_HIGH_TIMEOUT=1800",
        "TROVE_STATE_CHANGE_WAIT_TIME=900",
    ]
    if request.image is not None:
        lines.append(f"TROVE_IT_IMAGE_URL={request.image}")
    lines += [
        "",
        "[[post-config|$TROVE_CONF]]",
        "[network]",
        "network_isolation = True",
        "",
    ]
    return "\n".join(lines)
