"""The harness's markers, registered with pytest so ``--strict-markers`` and
``pytest --markers`` know them.

One marker per scenario group selects a group (``-m backups``); the others
say what a test needs, and the plugin deselects it, with the reason, where
the target or datastore cannot give it.
"""

from __future__ import annotations

GROUPS: dict[str, str] = {
    "api": "API basics: versions, datastores and versions, flavors, limits",
    "instance_create": "instance create, its negative cases, show and list",
    "instance_actions": "restart, flavor resize and volume resize with data checked",
    "databases": "database create, list, pagination, delete and invalid cases",
    "users": "user create, list, show, update, password, access and invalid cases",
    "root": "enable, show and disable root",
    "backups": "full and incremental backups and restores",
    "configuration": "configuration groups: create, attach, values in the engine, detach",
    "guest_log": "guest logs: list, enable, publish, read back, discard",
    "replication": "replicas, promote and eject",
    "clusters": "clusters: create, grow, shrink, delete",
    "modules": "modules: create, apply, list, remove",
    "upgrade": "instance upgrade to another version of its datastore, data kept",
    "instance_delete": "instance delete and what it leaves behind",
    "instance_errors": "error paths: failed builds, their faults, force delete",
}

SELECTIONS: dict[str, str] = {
    "smoke": "the few scenarios that prove a guest end to end (databases and users "
             "created and logged in to, rows through a restart, a full backup restored "
             "with exactly its rows, a volume resize, a delete): what the vm profile "
             "runs with -m smoke, since each of its instances is a real boot",
}

NEEDS: dict[str, str] = {
    "requires(*capabilities)": "needs these datastore capabilities (see trove_it.catalogue); "
                               "deselected where the datastore lacks one",
    "lacks(*capabilities)": "tests what Trove refuses a datastore without these "
                            "capabilities; deselected where the datastore has one",
    "slow": "takes more than a few seconds even on the local cloud",
    "multi_node": "creates more than one instance at a time (replicas, clusters)",
    "fault_injection": "injects faults through the local cloud's control endpoint; "
                       "deselected on other targets",
    "image": "validates a guest image (needs --image or --build-image)",
    "upgrade_phase(name)": "one of grenade's upgrade-survival phases (create, verify, "
                           "verify_noapi, destroy): runs only with --upgrade-phase name",
    "real_data": "its point is the engine: logs in or reads data with the datastore's "
                 "native client; deselected for datastores the local cloud emulates "
                 "(in-memory engine)",
    "known_bug(reason, datastores=None)": "a bug in Trove itself: the test is a strict xfail "
                                          "(for those datastores), so a fix shows up",
}


def register(config: object) -> None:
    add = config.addinivalue_line  # type: ignore[attr-defined]
    for name, text in GROUPS.items():
        add("markers", f"{name}: scenario group: {text}")
    for name, text in SELECTIONS.items():
        add("markers", f"{name}: {text}")
    for name, text in NEEDS.items():
        add("markers", f"{name}: {text}")
