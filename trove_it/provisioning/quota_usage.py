"""Create the test projects' quota usage rows before tests run side by side.

Trove 26 creates a project's quota usage rows lazily, on its first quota
check (``DbQuotaDriver.get_all_quota_usages_by_tenant``), without guarding
against a concurrent first check: two instances created at once by a project
that never created one both insert the rows, and one create answers 500
(``UNIQUE constraint failed: quota_usages.tenant_id, quota_usages.resource``).
Reading each project's quotas through the management API once, before any
test, creates the rows while nothing else runs.
"""

from __future__ import annotations

from collections.abc import Iterable

from trove_it.clients import CloudClients


def prime(admin: CloudClients, projects: Iterable[CloudClients]) -> None:
    for project in projects:
        admin.trove.quota.show(project.project_id)
