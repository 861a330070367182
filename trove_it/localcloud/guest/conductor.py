"""Status and backup reports through Trove's real conductor code, in process.

A real guest casts ``heartbeat`` and ``update_backup`` to the conductor
service; calling the conductor manager directly keeps its logic (message
ordering, RESTART_REQUIRED handling, backup field updates) authentic without
running a conductor process.
"""

from __future__ import annotations

import time
from typing import Any


def _context() -> Any:
    from trove.common.context import TroveContext

    return TroveContext(is_admin=True)


def _manager() -> Any:
    from trove.conductor.manager import Manager

    return Manager()


def heartbeat(instance_id: str, service_status: str) -> None:
    _manager().heartbeat(_context(), instance_id, {"service_status": service_status},
                         sent=time.time())


def update_backup(instance_id: str, backup_id: str, **fields: Any) -> None:
    _manager().update_backup(_context(), instance_id, backup_id, sent=time.time(), **fields)


def report_root(instance_id: str) -> None:
    _manager().report_root(_context(), instance_id)
