"""``--image`` and ``--build-image`` for a scenario run: the datastore version
under test boots the given (or freshly built) guest image for this run, and
the cloud is put back as it was at the end.

The image goes through the same functions as ``trove-it image load``
(``images.registry``): an identical image loaded earlier is reused and kept;
otherwise the upload is named with the run's prefix and deleted at the end.
The version is registered (or re-pointed) and active for the run; at the end
it points at its former image again, or is removed if the run created it.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from trove_it import deletion
from trove_it.clients import CloudClients
from trove_it.errors import UserError
from trove_it.images import container_images, registry
from trove_it.images import manifest as manifests
from trove_it.settings import Settings
from trove_it.targets.base import Target


@dataclass
class RunImage:
    """What the run changed, so that ``restore`` can undo exactly that."""

    datastore: str
    version: str
    image_id: str
    uploaded: list[str]
    """Glance images this run uploaded (image, kernel, initrd): deleted at the end."""
    created_version: str | None
    """The version's id when this run registered it: removed at the end."""
    previous_image: str | None
    previous_tags: list[str]
    previous_active: bool

    def to_state(self) -> dict[str, Any]:
        return asdict(self)


def build_for_run(settings: Settings, datastore: str) -> Path:
    """``--build-image``: build the datastore's image from elements/ (cached by DIB)."""
    from trove_it.images import build, pip_inputs, plan

    output = Path(os.environ.get("TROVE_IT_IMAGE_OUTPUT", "build/images"))
    request = plan.BuildRequest(datastore=datastore, version=settings.datastore_version,
                                output=output, guest_agent=settings.guest_agent)
    built_plan = plan.make_plan(request, build.device_mapper_available(),
                                build.image_cache(), pip_inputs.constraints_file())
    return build.run(built_plan)


def install(settings: Settings, target: Target, current_version: str | None) -> RunImage | None:
    """Point the datastore version under test at the run's image; None without
    ``--image``/``--build-image``."""
    if not (settings.image or settings.build_image):
        return None
    if len(settings.datastores) != 1:
        raise UserError("--image and --build-image give the image of one datastore; "
                        "run with a single --datastore")
    if not target.has("admin"):
        raise UserError(f"--image needs admin credentials on the {target.description} to "
                        f"register the datastore version; give --os-cloud-admin")
    admin = target.clients("admin")
    datastore = settings.datastores[0]
    path = build_for_run(settings, datastore) if settings.build_image else _as_file(settings)
    record = manifests.load(path) if path else None
    version = settings.datastore_version or current_version or (record.version if record
                                                                else None)
    if not version:
        raise UserError(f"{datastore} has no version on the {target.description} to boot "
                        f"the image with; give --datastore-version")
    if record is not None and record.mode == "package" and target.runs_real_guests:
        raise UserError(f"--image {path}: a package-mode image cannot serve Trove 26's guest "
                        f"agent, which runs the database in a container; build it in "
                        f"container mode (the default)")
    uploaded: list[str] = []
    if path is not None:
        image_id = _upload(admin, path, settings, uploaded)
        container_images.publish(admin, record, lambda line: None)
    else:
        image_id = _existing_image(admin, str(settings.image))
    before = registry.find_version(admin, datastore, version)
    run_image = RunImage(datastore=datastore, version=version, image_id=image_id,
                         uploaded=uploaded, created_version=None,
                         previous_image=(before or {}).get("image") or None,
                         previous_tags=_tags((before or {}).get("image_tags")),
                         previous_active=bool((before or {}).get("active", False)))
    try:
        registered = registry.register(admin, datastore, version, image_id, active=True)
    except BaseException:
        restore(admin, run_image)
        raise
    if registered.created:
        run_image.created_version = registered.id
    return run_image


def require_bootable(target: Target, datastore: str, version: str) -> None:
    """On a vm local cloud, the version must boot a real guest image, not the
    stand-in every local cloud registers."""
    from trove_it.localcloud.datastores import LOCAL_IMAGE_ID

    if not target.runs_real_guests or not target.has("admin"):
        return
    found = registry.find_version(target.clients("admin"), datastore, version) or {}
    if found.get("image") in (None, "", LOCAL_IMAGE_ID):
        raise UserError(f"{datastore} {version} boots no guest image on the vm local cloud: "
                        f"give --image FILE (a container-mode image from 'trove-it image "
                        f"build') or --build-image, or load one with 'trove-it image load'")


def restore(admin: CloudClients, run_image: RunImage) -> None:
    """Undo ``install``: the version as it was, the run's uploads deleted."""
    found = registry.find_version(admin, run_image.datastore, run_image.version)
    if run_image.created_version:
        deletion.delete_datastore_version(admin, run_image.created_version)
    elif found is not None and found.get("image") == run_image.image_id and \
            (run_image.previous_image or run_image.previous_tags):
        registry.put_back(admin, run_image.datastore, run_image.version,
                          run_image.previous_image, run_image.previous_tags,
                          run_image.previous_active)
    for image_id in reversed(run_image.uploaded):
        deletion.delete_image(admin, image_id)


def _tags(value: Any) -> list[str]:
    """Image tags as Trove shows them: a list, or one comma-separated string."""
    if isinstance(value, str):
        return [tag for tag in value.split(",") if tag]
    return [str(tag) for tag in value or ()]


def _as_file(settings: Settings) -> Path | None:
    """``--image`` as a file to upload, or None when it is a Glance image id."""
    candidate = Path(str(settings.image)).expanduser()
    if candidate.is_file():
        return candidate.resolve()
    if os.sep in str(settings.image) or candidate.suffix in (".qcow2", ".img", ".raw"):
        raise UserError(f"--image {settings.image}: no such file (give an image file or "
                        f"the id of a Glance image)")
    return None


def _existing_image(admin: CloudClients, image_id: str) -> str:
    image = admin.conn.image.find_image(image_id, ignore_missing=True)
    if image is None:
        raise UserError(f"--image {image_id}: no such file, and no Glance image of that id "
                        f"or name on the target")
    if image.status != "active":
        raise UserError(f"--image {image_id}: the Glance image is {image.status}, not active")
    return str(image.id)


def _upload(admin: CloudClients, path: Path, settings: Settings, uploaded: list[str]) -> str:
    """Reuse an identical image a ``trove-it image load`` left, else upload one
    named for this run (recorded in ``uploaded`` as soon as it exists)."""
    earlier = registry.upload_if_loaded(admin, path)
    if earlier is not None:
        return earlier
    loaded = registry.upload(admin, path, tags=[f"trove-it-run-{settings.run_id}"],
                             name=f"{settings.prefix}{path.stem}", on_created=uploaded.append)
    return loaded.id
