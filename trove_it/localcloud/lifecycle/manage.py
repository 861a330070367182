"""``trove-manage db_sync`` for a handed-over local cloud, in a process of its own.

An upgrade runs the new Trove's ``db_sync`` before its services start: the
schema migrations, then the upgrade tasks, which ask nova about every
instance's server and may tag it. It has to be its own process because Trove
maps its models by reflecting the tables; a server that mapped them before
migrating would not see the new columns. Nova, in the local cloud, is the
server's compute driver, which is down meanwhile; so this runs Trove's own
``Commands().db_sync()`` with the handed-over compute, volume and network
state loaded, and writes back what the upgrade tasks changed.

Usage: ``python -m trove_it.localcloud.lifecycle.manage --config-file trove.conf``
"""

from __future__ import annotations

import sys


def main() -> int:
    import trove.cmd  # noqa: F401  (eventlet monkey patching, as every Trove command)
    from oslo_log import log as logging
    from trove.cmd.manage import Commands
    from trove.common import cfg

    from trove_it.localcloud import runtime
    from trove_it.localcloud.lifecycle import hand_over

    runtime.register_options(cfg.CONF)
    cfg.parse_args(sys.argv)
    logging.setup(cfg.CONF, "trove")
    rt = runtime.start(cfg.CONF, prepare=False)
    state = hand_over.read(rt.layout)
    if state is None:
        print(f"no hand-over in {rt.layout.root}: nothing to migrate for", file=sys.stderr)
        return 2
    hand_over.restore_drivers(rt, state)
    Commands().db_sync()
    state["compute"] = rt.compute.snapshot()
    hand_over.write(rt.layout, state)
    return 0


if __name__ == "__main__":
    sys.exit(main())
