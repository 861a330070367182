"""The cloud a run tests: the local cloud, an existing cloud, or devstack.

Whatever the kind, a ``Target`` gives the same things: clients for a
project user, an admin and a second project, and, on the local cloud only,
its control endpoint for fault injection and server logs.
"""

from trove_it.targets.base import Target
from trove_it.targets.resolve import resolve_target

__all__ = ["Target", "resolve_target"]
