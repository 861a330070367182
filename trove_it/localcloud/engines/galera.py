"""Galera membership for the MariaDB engine: the wsrep options of one member.

Trove's galera_common strategy renders a ``[galera]`` section for each member
(cluster name, node name and address, the members' addresses, the SST
account). A member here is a ``mariadbd`` on its own loopback address, so
everything Galera listens on is pinned to that address (group communication
4567, incremental transfer 4568, state transfer 4444), or the members of one
machine would collide on 0.0.0.0. State transfer is rsync, as in Trove's
template; rsync's daemon drops to ``nobody`` when started by root, so a
joining member's data directory is handed to that user first.
"""

from __future__ import annotations

import glob
from dataclasses import dataclass, replace
from pathlib import Path

from trove_it.localcloud.engines.binaries import EngineUnavailable, find

PROVIDER_GLOBS = ("/usr/lib/galera/libgalera_smm.so", "/usr/lib/galera-4/libgalera_smm.so",
                  "/usr/lib/*/galera*/libgalera_smm.so", "/usr/lib/libgalera_smm.so",
                  "/usr/lib64/galera*/libgalera_smm.so")
GCACHE_SIZE = "16M"
"""Trove sizes the write-set cache from the flavor's RAM (128 MB per 512 MB);
every member here is a process on one machine, so it is kept small."""
SST_USER = "nobody"


@dataclass(frozen=True)
class GaleraSettings:
    cluster_name: str
    node_name: str
    node_address: str
    members: tuple[str, ...]
    """Addresses of the members this one contacts to join (gcomm://...)."""
    sst_auth: str = ""

    def with_members(self, members: tuple[str, ...]) -> GaleraSettings:
        return replace(self, members=members)


def provider() -> str:
    """Path of the Galera library, or a one-line reason to install it."""
    for pattern in PROVIDER_GLOBS:
        for path in sorted(glob.glob(pattern)):
            if Path(path).is_file():
                return path
    raise EngineUnavailable("Galera clusters need the Galera library and rsync: install them "
                            "with 'apt-get install galera-4 rsync'")


def require_sst_tools() -> None:
    for program in ("rsync", "wsrep_sst_rsync"):
        if find(program) is None:
            raise EngineUnavailable(f"Galera state transfer needs {program}: install it with "
                                    "'apt-get install galera-4 rsync mariadb-server'")


def argv(settings: GaleraSettings) -> list[str]:
    """mariadbd options for this member (Trove's template, addresses pinned)."""
    ip = settings.node_address
    options = [f"gmcast.listen_addr=tcp://{ip}:4567", f"ist.recv_addr={ip}:4568",
               f"gcache.size={GCACHE_SIZE}"]
    args = [
        "--wsrep-on=ON", f"--wsrep-provider={provider()}",
        f"--wsrep-cluster-address=gcomm://{','.join(settings.members)}",
        f"--wsrep-cluster-name={settings.cluster_name}",
        f"--wsrep-node-name={settings.node_name}", f"--wsrep-node-address={ip}",
        f"--wsrep-provider-options={';'.join(options)}",
        "--wsrep-sst-method=rsync", f"--wsrep-sst-receive-address={ip}:4444",
        "--binlog-format=ROW", "--innodb-autoinc-lock-mode=2", "--default-storage-engine=innodb",
    ]
    if settings.sst_auth:
        args.append(f"--wsrep-sst-auth={settings.sst_auth}")
    return args
