"""Can the local cloud's drivers work with the Trove this Python imports?

Run as ``python -m trove_it.localcloud.lifecycle.trove_interfaces`` in a
``--trove`` environment before a cloud starts there. It imports every
module of the local cloud (most Trove names are imported at module level)
and looks up the Trove names the drivers use only when called. Exit 0 and
``ok``, or exit 1 and one line naming what this Trove lacks.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys

# Looked up at call time by the local cloud, so an import alone would not show them.
CALLED = (
    ("trove.common.cfg", "CONF"),
    ("trove.instance.models", "persist_instance_fault"),
    ("trove.taskmanager.api", "API"),
    ("trove.common.notification", "DBaaSAPINotification"),
    ("trove.common.pagination", "paginate_list"),
    ("trove.conductor.manager", "Manager"),
    ("trove.common.base_wsgi", "Service"),
)
OPTIONS = ("remote_nova_client", "remote_cinder_client", "remote_neutron_client",
           "remote_glance_client", "remote_swift_client", "remote_guest_client")


def problem() -> str | None:
    import trove_it.localcloud as package

    for module in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if module.name.endswith(("trove_interfaces", ".server")):
            continue  # this module; the server entry point monkey-patches on import
        try:
            importlib.import_module(module.name)
        except ImportError as exc:
            return f"{module.name} needs {exc.name or exc}: {exc}"
        except AttributeError as exc:
            return f"{module.name}: {exc}"
    for module_name, attribute in CALLED:
        found = importlib.import_module(module_name)
        if not hasattr(found, attribute):
            return f"{module_name}.{attribute} is missing"
    from trove.common import cfg

    for option in OPTIONS:
        if option not in cfg.CONF:
            return f"Trove has no '{option}' option to plug the local cloud's driver in"
    return None


def main() -> int:
    found = problem()
    print(found or "ok")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
