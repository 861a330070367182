"""Entry point of the local cloud's server process.

Runs the real Trove API, task manager and conductor in one eventlet process, as Trove's
own fake mode does, with three differences that fake mode gets wrong: the
task manager decrypts with the same key the API encrypts with, instance
faults are persisted (the real task manager registers that callback), and
every engine process this server started is stopped when it exits. The task
manager's polls run at the local cloud's pace (see ``polling``).

Usage: ``python -m trove_it.localcloud.server --config-file trove.conf``
"""

from __future__ import annotations

import sys
from typing import Any

import trove.cmd  # noqa: F401  (eventlet monkey patching must come first)


def main() -> int:
    from oslo_config import cfg as oslo_cfg
    from trove.cmd import common as trove_common
    from trove.db.sqlalchemy import session as trove_db

    from trove_it.localcloud import runtime
    from trove_it.localcloud.lifecycle import fake_wire, polling, profiles, sqlite_pool

    trove_common.initialize()  # parses sys.argv, sets up logging, rpc and the db
    conf = oslo_cfg.CONF
    sqlite_pool.keep_connections_open(trove_db.get_engine())
    runtime.register_options(conf)
    # Real guests (the vm profile) take minutes: a look every second is plenty,
    # and every look costs CPU the emulated guests need.
    polling.install(1.0 if profiles.get(conf.trove_it.profile).vm else polling.DEFAULT_INTERVAL)
    fake_wire.install()
    rt = runtime.start(conf)
    try:
        launcher = _launch_services(conf)
        rt.announce_ready()
        launcher.wait()
    finally:
        rt.shutdown()
    return 0


def _launch_services(conf: Any) -> Any:
    from oslo_service import service as oslo_service
    from trove.common import base_wsgi, notification, pastedeploy
    from trove.common.rpc import conductor_host_serializer as conductor_serializer
    from trove.common.rpc import service as rpc_service
    from trove.conductor import api as conductor_api
    from trove.instance import models as inst_models
    from trove.taskmanager import api as task_api

    notification.DBaaSAPINotification.register_notify_callback(
        inst_models.persist_instance_fault)

    app = pastedeploy.paste_deploy_app(conf.api_paste_config, "trove", {})
    api = base_wsgi.Service(app, conf.bind_port, host=conf.bind_host, backlog=128, threads=1000)
    launcher = oslo_service.launch(conf, api, workers=1, restart_method="mutate")

    key = conf.taskmanager_rpc_encr_key if conf.enable_secure_rpc_messaging else None
    taskmanager = rpc_service.RpcService(
        key=key, topic=conf.taskmanager_queue, manager=conf.taskmanager_manager,
        rpc_api_version=task_api.API.API_LATEST_VERSION)
    launcher.launch_service(taskmanager)
    # The task manager casts to the conductor too (a cinder backup's state):
    # Trove's conductor manager serves those casts on the same fake transport.
    conductor = rpc_service.RpcService(
        key=None, topic=conf.conductor_queue, manager=conf.conductor_manager,
        rpc_api_version=conductor_api.API.API_LATEST_VERSION,
        secure_serializer=conductor_serializer.ConductorHostSerializer)
    launcher.launch_service(conductor)
    return launcher


if __name__ == "__main__":
    sys.exit(main())
