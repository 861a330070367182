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
    skip = set(skip_ids)
    leaks: list[Leak] = []
    member_by_project = {m.project_id: m for m in members}

    def owner(project: str) -> CloudClients:
        return member_by_project.get(project, admin)

    for inst in _all_pages(admin.trove.mgmt_instances.list, deleted=False):
        name = getattr(inst, "name", "") or ""
        if not name.startswith(prefix) or inst.id in skip:
            continue
        project = getattr(inst, "tenant_id", "") or getattr(inst, "project_id", "")
        leaks.append(Leak("instance", inst.id, name, project,
                          lambda i=inst.id, p=project: deletion.delete_instance(
                              owner(p), admin, i)))
    for backup in _all_pages(admin.trove.backups.list, all_projects=True):
        name = getattr(backup, "name", "") or ""
        if name.startswith(prefix) and backup.id not in skip:
            project = getattr(backup, "project_id", "")
            leaks.append(Leak("backup", backup.id, name, project,
                              lambda b=backup.id, p=project: deletion.delete_backup(owner(p), b)))
    for clients in [admin, *member_by_project.values()]:
        for config in clients.trove.configurations.list():
            if config.name.startswith(prefix) and config.id not in skip and \
                    not any(leak.id == config.id for leak in leaks):
                leaks.append(Leak("configuration", config.id, config.name, clients.project_id,
                                  lambda c=config.id, cl=clients:
                                  deletion.delete_configuration(cl, c)))
        if clients is admin:
            # Trove 26.0.0 answers 500 to an admin's GET /modules (UnboundLocalError
            # in Modules.load); project users see their own modules.
            continue
        for module in clients.trove.modules.list():
            if module.name.startswith(prefix) and module.id not in skip and \
                    not any(leak.id == module.id for leak in leaks):
                leaks.append(Leak("module", module.id, module.name, clients.project_id,
                                  lambda m=module.id, cl=clients: deletion.delete_module(cl, m)))
    for flavor in admin.conn.compute.flavors(is_public=None):
        if flavor.name.startswith(prefix) and flavor.id not in skip:
            leaks.append(Leak("flavor", flavor.id, flavor.name, "",
                              lambda f=flavor.id: deletion.delete_flavor(admin, f)))
    for image in admin.conn.image.images():
        if (image.name or "").startswith(prefix) and image.id not in skip:
            leaks.append(Leak("image", image.id, image.name, image.owner or "",
                              lambda i=image.id: deletion.delete_image(admin, i)))
    return leaks


def sweep(leaks: list[Leak]) -> list[tuple[Leak, str]]:
    """Delete leaks, instances first (they hold backups and configurations)."""
    order = {"instance": 0, "backup": 1, "configuration": 2, "module": 3, "flavor": 4,
             "image": 5}
    failures = []
    for leak in sorted(leaks, key=lambda leak: order.get(leak.kind, 9)):
        try:
            leak.delete()
        except Exception as exc:  # noqa: BLE001 - report and go on
            failures.append((leak, f"{type(exc).__name__}: {exc}"))
    return failures
