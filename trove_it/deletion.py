"""Deleting Trove resources so that they really go, whatever state they are in.

An instance in ERROR, or stuck building, cannot always be deleted as it is:
like the old force-delete step, reset its status first (admin), then delete
and wait until the API answers 404. Each function is idempotent: a resource
that is already gone is success.
"""

from __future__ import annotations

from typing import Any

from trove_it import waiters
from trove_it.clients import CloudClients

STUCK_STATES = ("ERROR", "BUILD", "NEW", "REBOOT", "RESIZE", "BACKUP", "PROMOTE", "EJECT",
                "DETACH", "UPGRADE", "SHUTDOWN")


def delete_instance(member: CloudClients, admin: CloudClients | None, instance_id: str,
                    wait: bool = True, timeout: float | None = None) -> None:
    trove = member.trove
    try:
        instance = (admin or member).trove.instances.get(instance_id)
    except Exception as exc:
        if waiters.is_not_found(exc):
            return
        raise
    if getattr(instance, "status", "") in STUCK_STATES and admin is not None:
        try:
            admin.trove.instances.reset_status(instance_id)
        except Exception as exc:  # noqa: BLE001 - a reset is a best first try
            if waiters.is_not_found(exc):
                return
    client = admin.trove if admin is not None else trove
    # Trove refuses to delete a replica source (403) while it has replicas.
    for replica in getattr(instance, "replicas", None) or []:
        delete_instance(member, admin, replica["id"], wait=True, timeout=timeout)
    try:
        client.instances.delete(instance_id)
    except Exception as exc:
        if waiters.is_not_found(exc):
            return
        if getattr(exc, "http_status", None) in (400, 409, 422) and admin is not None:
            admin.trove.instances.reset_status(instance_id)
            admin.trove.instances.delete(instance_id)
        else:
            raise
    if wait:
        waiters.wait_for_instance_gone(client, instance_id, timeout=timeout)


def delete_cluster(member: CloudClients, admin: CloudClients | None, cluster_id: str,
                   wait: bool = True) -> None:
    """Delete a cluster and its members; a cluster stuck in a task (Trove deletes
    only one whose task is NONE) has its task reset by the admin first."""
    path = f"/clusters/{cluster_id}"
    response = member.conn.database.request(path, "DELETE", raise_exc=False)
    if response.status_code == 422 and admin is not None:
        admin.conn.database.request(f"/mgmt{path}/action", "POST",
                                    json={"reset-task": {}}, raise_exc=True)
        response = member.conn.database.request(path, "DELETE", raise_exc=False)
    if response.status_code == 404:
        return
    if response.status_code != 202:
        raise RuntimeError(f"DELETE {path} answered {response.status_code}: "
                           f"{response.text[:200]}")
    if wait:
        waiters.wait_for_cluster_gone(member.trove, cluster_id)


def delete_backup(clients: CloudClients, backup_id: str, wait: bool = True) -> None:
    try:
        clients.trove.backups.delete(backup_id)
    except Exception as exc:
        if waiters.is_not_found(exc):
            return
        raise
    if wait:
        waiters.wait_for_backup_gone(clients.trove, backup_id)


def delete_configuration(clients: CloudClients, configuration_id: str) -> None:
    trove = clients.trove
    try:
        for attached in trove.configurations.instances(configuration_id):
            trove.instances.update(attached.id, remove_configuration=True)
        trove.configurations.delete(configuration_id)
    except Exception as exc:
        if waiters.is_not_found(exc):
            return
        raise


def delete_module(clients: CloudClients, module_id: str) -> None:
    """Remove the module from the instances it is applied to (Trove refuses to
    delete an applied module that is not live), then delete it."""
    trove = clients.trove
    try:
        for applied in trove.modules.instances(module_id):
            trove.instances.module_remove(applied.id, module_id)
        trove.modules.delete(module_id)
    except Exception as exc:
        if waiters.is_not_found(exc):
            return
        raise


def delete_flavor(admin: CloudClients, flavor_id: str) -> None:
    try:
        admin.conn.compute.delete_flavor(flavor_id, ignore_missing=True)
    except Exception as exc:
        if waiters.is_not_found(exc):
            return
        raise


def delete_image(admin: CloudClients, image_id: str) -> None:
    admin.conn.image.delete_image(image_id, ignore_missing=True)


def delete_datastore_version(admin: CloudClients, version_id: str) -> None:
    try:
        admin.trove.mgmt_ds_versions.delete(version_id)
    except Exception as exc:
        if waiters.is_not_found(exc):
            return
        raise


def delete_container(clients: CloudClients, container: str, prefix: str | None = None) -> None:
    """Delete a swift container's objects (under ``prefix`` only, if given)."""
    object_store: Any = clients.conn.object_store
    try:
        for obj in object_store.objects(container, prefix=prefix):
            object_store.delete_object(obj, container=container, ignore_missing=True)
        if prefix is None:
            object_store.delete_container(container, ignore_missing=True)
    except Exception as exc:
        if waiters.is_not_found(exc):
            return
        raise


def delete_kept_run(admin: CloudClients, run_id: str) -> None:
    """What a run kept for later (its test flavors, its run record) once the
    resources that needed them are gone: the upgrade phases' ``destroy``."""
    from trove_it.run_state import RunState

    prefix = f"trove-it-{run_id}-"
    for flavor in list(admin.conn.compute.flavors(is_public=None)):
        if str(flavor.name).startswith(prefix):
            admin.conn.compute.delete_flavor(flavor.id, ignore_missing=True)
    RunState(run_id).remove()
