"""What a guest reaches outside its own instance, handed over by the runtime.

A real guest agent sees its VM (address, volume, flavor), the object store
it uploads backups and logs to, and nothing else of the cloud. The runtime
builds one ``GuestHost`` from its drivers, so the guest package imports no
driver state and no runtime: every collaborator arrives here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trove_it.localcloud.drivers.objectstore import ObjectStore
from trove_it.localcloud.engines.host import EngineHost
from trove_it.localcloud.faults import Faults


@dataclass
class GuestHost:
    engines: EngineHost
    objects: ObjectStore
    faults: Faults
    heartbeat_interval: float
    public_url: str
    address_of: Callable[[str], str | None]
    """A server's address (its port on the network)."""
    volume_gb_of: Callable[[str], int]
    """The size of the volume attached to a server (0 without one)."""
    flavor_of: Callable[[str], dict[str, Any] | None]
    """A server's flavor as nova embeds it in the server, or None."""
    instance_dir: Callable[[str], Path]
    """Where a server's engine keeps its files."""
    volume_data_of: Callable[[str], tuple[Path, dict[str, Any]] | None] = lambda _: None
    """The data a server's volume was created with from a snapshot (the file
    and the engine's metadata for it), or None."""
