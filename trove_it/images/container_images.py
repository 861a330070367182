"""Give a vm local cloud's registry the container images a guest image carries.

A container-mode image preloads its database and backup images, and its
manifest records the archive each came from. Trove's agent still asks the
registry for the backup image before every backup (and pulls whatever its
guest lacks), so loading such an image into a ``vm`` local cloud also pushes
those archives into the cloud's registry, under the names the agent runs.
Other clouds have a registry of their operator's: nothing is pushed there,
and the load says so.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from trove_it.clients import CloudClients
from trove_it.containers import push
from trove_it.errors import UserError
from trove_it.images import manifest as manifests

Say = Callable[[str], None]


def local_status(admin: CloudClients) -> dict[str, Any] | None:
    """The trove-it control endpoint's status of the target, or None when the
    target is not a trove-it local cloud."""
    auth_url = str(admin.conn.config.get_auth_args().get("auth_url", "")).rstrip("/")
    if not auth_url.endswith("/identity/v3"):
        return None
    base = auth_url.removesuffix("/identity/v3")
    try:
        response = admin.session.get(f"{base}/_trove_it/status", raise_exc=False)
    except Exception:  # noqa: BLE001 - any failure means "not a local cloud"
        return None
    if response.status_code != 200:
        return None
    try:
        return dict(response.json())
    except ValueError:
        return None


def publish(admin: CloudClients, record: manifests.Manifest | None, say: Say) -> list[str]:
    """Push the image's container archives into a vm local cloud's registry;
    returns the names pushed."""
    if record is None or not record.container_archives:
        return []
    status = local_status(admin)
    registry = (status or {}).get("registry")
    if not registry:
        say(f"the image runs {', '.join(record.container_archives)}: the target's guests "
            f"must find them in its registry")
        return []
    pushed = []
    for name, source in sorted(record.container_archives.items()):
        archive = Path(source["file"])
        if not archive.is_file():
            raise UserError(f"the archive of {name} the image was built with is gone "
                            f"({archive}); rebuild the image, or rebuild the archive with "
                            f"'trove-it image container-archive'")
        if manifests.sha256_file(archive) != source["sha256"]:
            raise UserError(f"{archive} is no longer the archive of {name} the image was "
                            f"built with; rebuild the image")
        reference = name.split("/", 1)[1]
        try:
            push.push(archive, str(registry), reference)
        except (push.PushError, OSError) as exc:
            raise UserError(f"cannot push {name} into the local cloud's registry: {exc}"
                            ) from None
        pushed.append(name)
    say(f"pushed {', '.join(pushed)} into the local cloud's registry")
    return pushed
