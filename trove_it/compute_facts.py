"""What the target's compute and storage are like, where a scenario's
expectation depends on it: how servers boot and how much RAM Trove may use.

A production cloud often boots database servers from a Cinder volume
(Trove's ``volume_rootdisk_support``) and leaves nova's RAM quota
unlimited. A test that needs the flavor's disk or a bounded quota then
cannot provoke its failure, and says so rather than failing.
"""

from __future__ import annotations

from typing import Any

from trove_it.targets.base import Target


def booted_image(admin: Any, server: Any) -> str | None:
    """The image a server runs: nova's, or (booted from a volume, where nova
    shows none) the image its root volume was made from."""
    image = server.image if isinstance(server.image, dict) else {}
    if image.get("id"):
        return str(image["id"])
    for attached in getattr(server, "attached_volumes", None) or []:
        volume = admin.conn.block_storage.get_volume(attached["id"])
        metadata = getattr(volume, "volume_image_metadata", None) or {}
        if str(getattr(volume, "is_bootable", "")).lower() == "true" and metadata.get("image_id"):
            return str(metadata["image_id"])
    return None


def ram_quota_mb(admin: Any) -> int:
    """Nova's RAM limit for the admin's project (Trove's service project on the
    local cloud and on devstack); -1 is unlimited."""
    return int(admin.conn.compute.get_limits().absolute.total_ram)


def why_fault_flavor_cannot_fail(key: str, target: Target) -> str | None:
    admin = target.clients_or_none("admin")
    if key == "fault_2-7" and admin is not None and ram_quota_mb(admin) < 0:
        return ("nova's RAM quota is unlimited (-1) on this cloud, so no flavor exceeds it")
    control = target.control
    if key == "fault_1-1" and control is not None and control.status().get("boot_from_volume"):
        return ("servers boot from a volume here (Trove's volume_rootdisk_support), so the "
                "flavor's disk holds no image and cannot be too small")
    return None
