"""Find and remove what a run left behind, by its name prefix.

At the end of a session the plugin lists everything still named with the
run's prefix (instances of every project, backups, configuration groups,
modules, flavors, images) and removes it unless ``--keep``; ``trove-it
cleanup`` does the same for any earlier run. Leftovers are reported, not
only deleted: a leak is a bug to find.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

from trove_it import deletion
from trove_it.clients import CloudClients


@dataclass(frozen=True)
class Leak:
    kind: str
    id: str
    name: str
    project: str
    delete: Callable[[], None]

    def describe(self) -> str:
        return f"{self.kind} {self.id} ({self.name}, project {self.project or '?'})"


def _all_pages(list_call: Callable[..., Any], **kwargs: Any) -> Iterator[Any]:
    marker = None
    while True:
        page = list_call(marker=marker, **kwargs)
        yield from page
        marker = getattr(page, "next", None)
        if not marker or not len(page):
            return


def find_leaks(admin: CloudClients, members: Iterable[CloudClients], prefix: str,
               skip_ids: Iterable[str] = ()) -> list[Leak]:
    """Everything named with ``prefix`` that still exists."""
    seen = set(skip_ids)
    leaks: list[Leak] = []
    member_by_project = {m.project_id: m for m in members}

    def owner(project: str) -> CloudClients:
        return member_by_project.get(project, admin)

    def add(kind: str, resource: Any, project: str, delete: Callable[[], None]) -> None:
        name = getattr(resource, "name", "") or ""
        if name.startswith(prefix) and resource.id not in seen:
            seen.add(resource.id)
            leaks.append(Leak(kind, resource.id, name, project, delete))

    for inst in _all_pages(admin.trove.mgmt_instances.list, deleted=False):
        project = getattr(inst, "tenant_id", "") or getattr(inst, "project_id", "")
        add("instance", inst, project,
            partial(deletion.delete_instance, owner(project), admin, inst.id))
    for backup in _all_pages(admin.trove.backups.list, all_projects=True):
        project = getattr(backup, "project_id", "")
        add("backup", backup, project, partial(deletion.delete_backup, owner(project), backup.id))
    for clients in [admin, *member_by_project.values()]:
        for cluster in clients.trove.clusters.list():
            add("cluster", cluster, clients.project_id,
                partial(deletion.delete_cluster, clients, admin, cluster.id))
        for config in clients.trove.configurations.list():
            add("configuration", config, clients.project_id,
                partial(deletion.delete_configuration, clients, config.id))
        if clients is admin:
            # Trove 26.0.0 answers 500 to an admin's GET /modules (UnboundLocalError
            # in Modules.load); project users see their own modules.
            continue
        for module in clients.trove.modules.list():
            add("module", module, clients.project_id,
                partial(deletion.delete_module, clients, module.id))
    for flavor in admin.conn.compute.flavors(is_public=None):
        add("flavor", flavor, "", partial(deletion.delete_flavor, admin, flavor.id))
    for image in admin.conn.image.images():
        add("image", image, image.owner or "", partial(deletion.delete_image, admin, image.id))
    return leaks


def sweep(leaks: list[Leak]) -> list[tuple[Leak, str]]:
    """Delete leaks, clusters and instances first (they hold backups and
    configurations; a cluster's members go with it)."""
    order = {"cluster": 0, "instance": 1, "backup": 2, "configuration": 3, "module": 4,
             "flavor": 5, "image": 6}
    failures = []
    for leak in sorted(leaks, key=lambda leak: order.get(leak.kind, 9)):
        try:
            leak.delete()
        except Exception as exc:  # noqa: BLE001 - report and go on
            failures.append((leak, f"{type(exc).__name__}: {exc}"))
    return failures
