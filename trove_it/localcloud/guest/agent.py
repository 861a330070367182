"""The guest agent API object Trove's ``remote_guest_client`` returns.

Method names and arguments are those of ``trove.guestagent.api.API`` (the
API-level names: Trove calls ``get_volume_info``, not the RPC name). Casts
(``prepare``, ``create_backup``) run in a green thread as a real guest's
would; everything else completes before returning. Callers pass arguments
both by position and by keyword, so the signatures keep Trove's names.
"""

from __future__ import annotations

import functools
import logging
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from trove_it.localcloud.drivers.objectstore import ObjectStore, SwiftConnection, account_for
from trove_it.localcloud.engines.base import (
    Database,
    Engine,
    NotSupported,
    User,
)
from trove_it.localcloud.guest import cluster, conductor, replication, shapes
from trove_it.localcloud.guest.logs import SYS, USER, GuestLog, log_defs
from trove_it.localcloud.guest.modules import ModuleStore
from trove_it.localcloud.guest.tls import GuestTLS
from trove_it.localcloud.guest.vm import HEALTHY, SHUTDOWN, GuestVM

LOG = logging.getLogger(__name__)
HOSTED_USERS = ("mysql", "mariadb", "percona", "pxc")
BACKUP_CONTAINER = "database_backups"
GB = 1024 ** 3


# What Trove's guest API casts (trove/guestagent/api.py): the caller returns at
# once and never learns the outcome, which the guest only logs. Every other
# method is a call, whose failure reaches Trove as GuestError.
CASTS = frozenset({"change_passwords", "update_attributes", "create_user", "delete_user",
                   "create_database", "delete_database", "prepare", "upgrade",
                   "create_backup", "attach_replication_slave", "rebuild"})


def _as_guest_rpc(cls: type) -> type:
    """Give every public method the semantics of Trove's guest RPC.

    Trove's ``GuestAPI._call`` turns whatever the remote agent raised (Trove's
    own exceptions included) into ``GuestError``, which the API answers with
    400 "An error occurred communicating with the guest: ..."; a cast runs in
    the agent on its own time, and its failure stays in the agent's log.
    """

    def as_call(method: Any) -> Any:
        @functools.wraps(method)
        def call(self: Any, *args: Any, **kwargs: Any) -> Any:
            from trove.common import exception

            try:
                return method(self, *args, **kwargs)
            except Exception as exc:
                LOG.warning("guest %s: %s failed: %s", self.vm.instance_id, method.__name__, exc)
                raise exception.GuestError(original_message=str(exc)) from exc

        return call

    def as_cast(method: Any) -> Any:
        @functools.wraps(method)
        def cast(self: Any, *args: Any, **kwargs: Any) -> None:
            self.vm.in_background(method.__name__, lambda: method(self, *args, **kwargs))

        return cast

    for name, value in list(vars(cls).items()):
        if callable(value) and not name.startswith("_"):
            setattr(cls, name, as_cast(value) if name in CASTS else as_call(value))
    return cls


def _password() -> str:
    return secrets.token_urlsafe(24)


def _swift_for_location(objects: ObjectStore, location: str
                        ) -> tuple[SwiftConnection, str, str]:
    """Split ``.../v1/AUTH_<project>/<container>/<object>`` into its parts."""
    parts = urlparse(location).path.rstrip("/").split("/")
    account, container, name = parts[-3], parts[-2], parts[-1]
    return SwiftConnection(objects, account), container, name


@_as_guest_rpc
class GuestAPI:
    def __init__(self, context: Any, vm: GuestVM):
        self.context = context
        self.vm = vm

    # helpers ---------------------------------------------------------
    @property
    def _hosts(self) -> bool:
        return self.vm.manager in HOSTED_USERS

    def _engine(self) -> Engine:
        return self.vm.ensure_engine()

    def _swift(self) -> SwiftConnection:
        project = getattr(self.context, "project_id", None) or self._instance_tenant()
        return SwiftConnection(self.vm.host.objects, account_for(project))

    def _instance_tenant(self) -> str:
        from trove.instance.models import DBInstance

        return str(DBInstance.find_by(id=self.vm.instance_id).tenant_id)

    def _instance_name(self) -> str:
        from trove.instance.models import DBInstance

        return str(DBInstance.find_by(id=self.vm.instance_id).name)

    def _internal_users(self) -> frozenset[str]:
        return self._engine().internal_users

    def _users(self) -> list[User]:
        engine = self._engine()
        return [u for u in engine.list_users() if u.name not in engine.internal_users]

    def _databases(self) -> list[Database]:
        engine = self._engine()
        return [d for d in engine.list_databases() if d.name not in engine.internal_databases]

    # prepare ---------------------------------------------------------
    def prepare(self, memory_mb: Any, packages: Any, databases: Any, users: Any,
                device_path: str = "/dev/vdb", mount_point: str = "/mnt/volume",
                backup_info: dict[str, Any] | None = None, config_contents: Any = None,
                root_password: str | None = None, overrides: dict[str, Any] | None = None,
                cluster_config: Any = None, snapshot: dict[str, Any] | None = None,
                modules: list[dict[str, Any]] | None = None, ds_version: Any = None) -> None:
        vm = self.vm
        vm.phase = "building"
        faults = self.vm.host.faults
        if faults.pending()["build_hold"] and faults.take_build_hold(self._instance_name()):
            # Fault injection: a guest agent that never comes up. Nothing
            # answers, so Trove keeps the instance in BUILD.
            vm.failed = True
            LOG.info("guest %s: prepare held by fault injection", vm.instance_id)
            return
        vm.start_heartbeats()

        def work() -> None:
            try:
                engine = vm.ensure_engine()
                vm.log(f"prepare: {vm.datastore.name if vm.datastore else '?'} "
                       f"{vm.version_name} on {vm.address} ({engine.kind} engine)")
                engine.ctx.overrides = dict(overrides or {})
                if cluster_config:
                    cluster.joins_cluster(vm, engine, cluster_config)
                engine.initialize()
                engine.start()
                if backup_info:
                    self._restore(engine, backup_info)
                    self._report_restored_root(engine)
                if snapshot:
                    self._attach_from_snapshot(engine, snapshot)
                vm.phase = cluster.PENDING if cluster_config else "ready"
                vm.log("prepare: complete, engine " + engine.version() +
                       (" (waiting to form its cluster)" if cluster_config else ""))
            except Exception as exc:  # noqa: BLE001 - reported as the instance fault
                vm.phase = "error"
                vm.error = f"{type(exc).__name__}: {exc}"
                vm.log(f"prepare failed: {vm.error}")
                LOG.exception("prepare of %s failed", vm.instance_id)
                vm.report()
                return
            vm.report()
            # As Trove's guest manager: with the instance reported ready,
            # modules, then (outside a cluster) databases, users and root.
            # A failure here is a warning and leaves the instance ACTIVE.
            self._initialise(engine, databases, users, root_password,
                             None if cluster_config else backup_info, modules,
                             in_cluster=bool(cluster_config))

        vm.in_background("prepare", work)

    def _initialise(self, engine: Engine, databases: Any, users: Any,
                    root_password: str | None, backup_info: dict[str, Any] | None,
                    modules: list[dict[str, Any]] | None, in_cluster: bool) -> None:
        vm = self.vm
        try:
            if modules:
                self._modules().apply(modules)
        except Exception as exc:  # noqa: BLE001 - logged, as Trove's guest
            vm.log(f"prepare: could not apply modules: {exc}")
        if in_cluster:
            return
        # A database or user that cannot be created (a restored dump already
        # has it, say) is a warning.
        for create, items in ((self._create_databases, databases),
                              (self._create_users, users)):
            for item in items or []:
                try:
                    create(engine, [item])
                except Exception as exc:  # noqa: BLE001 - logged, as Trove's guest
                    vm.log(f"prepare: could not create {item.get('name')}: {exc}")
        if root_password and not backup_info:
            try:
                engine.enable_root(root_password)
                vm.extra["root_enabled"] = True
            except Exception as exc:  # noqa: BLE001 - logged, as Trove's guest
                vm.log(f"prepare: could not enable root: {exc}")

    def _create_databases(self, engine: Engine, databases: list[dict[str, Any]]) -> None:
        try:
            for data in databases:
                engine.create_database(shapes.database_from(data))
        except NotSupported:
            self.vm.log("prepare: this datastore has no databases; ignored the request")

    def _create_users(self, engine: Engine, users: list[dict[str, Any]]) -> None:
        try:
            for data in users:
                engine.create_user(shapes.user_from(data, self._hosts))
        except NotSupported:
            self.vm.log("prepare: this datastore has no users; ignored the request")

    def _restore(self, engine: Engine, backup_info: dict[str, Any]) -> None:
        if backup_info.get("storage_driver") == "cinder":
            # Trove's guest finds a cinder backup's data already on the volume
            # made from the snapshot (``restore_snapshot``)
            data = self.vm.host.volume_data_of(self.vm.server_id or "")
            if data is None:
                raise RuntimeError(f"backup {backup_info.get('id')} is a volume snapshot, "
                                   f"but this server's volume was not made from one")
            engine.restore(*data)
            self.vm.extra["restored_metadata"] = data[1]
            self.vm.log(f"restored backup {backup_info.get('id')} from the volume's snapshot")
            return
        swift, container, name = _swift_for_location(self.vm.host.objects,
                                                      backup_info["location"])
        headers = swift.head_object(container, name)
        scratch = self.vm.scratch_file(".restore")
        try:
            with scratch.open("wb") as out:
                _, chunks = swift.get_object(container, name, resp_chunk_size=1 << 20)
                for chunk in chunks:
                    out.write(chunk)
            metadata = _backup_metadata(headers)
            engine.restore(scratch, metadata)
            self.vm.extra["restored_metadata"] = metadata
            self.vm.log(f"restored backup {backup_info.get('id')} from {container}/{name}")
        finally:
            scratch.unlink(missing_ok=True)

    def _report_restored_root(self, engine: Engine) -> None:
        """Trove 26's MySQL guest reports root enabled when a restore brings back a
        remote root account (its PostgreSQL guest does not)."""
        has_remote_root = getattr(engine, "has_remote_root", None)
        if self._hosts and has_remote_root is not None and has_remote_root():
            conductor.report_root(self.vm.instance_id)
            self.vm.extra["root_enabled"] = True
            self.vm.log("restore brought back a remote root account: reported root enabled")

    # status and lifecycle ------------------------------------------
    def restart(self) -> None:
        engine = self._engine()
        self.vm.report(SHUTDOWN)
        engine.restart()
        self.vm.autostart = True
        self.vm.log("restarted the database")
        self.vm.report(HEALTHY)

    def stop_db(self, do_not_start_on_reboot: bool = False) -> None:
        self._engine().stop()
        self.vm.autostart = not do_not_start_on_reboot
        self.vm.log("stopped the database")
        self.vm.report(SHUTDOWN)

    def start_db_with_conf_changes(self, config_contents: Any = None, ds_version: Any = None
                                   ) -> None:
        self._engine().start()
        self.vm.autostart = True
        self.vm.log("started the database")
        self.vm.report(HEALTHY)

    def reset_configuration(self, configuration: Any) -> None:
        self.vm.log("configuration reset to the flavor default")

    def get_volume_info(self) -> dict[str, Any]:
        engine = self._engine()
        total_gb = float(self._volume_size_gb())
        used_bytes = engine.disk_used_bytes()
        block = 4096
        total_blocks = int(total_gb * GB) // block
        used_blocks = min(total_blocks, used_bytes // block + 1)
        return {"block_size": block, "total_blocks": total_blocks,
                "free_blocks": total_blocks - used_blocks,
                "avail_blocks": total_blocks - used_blocks,
                "total": round(total_gb, 2), "free": (total_blocks - used_blocks) * block,
                "used": round(used_bytes / GB, 3)}

    def _volume_size_gb(self) -> int:
        return self.vm.host.volume_gb_of(self.vm.server_id) if self.vm.server_id else 0

    def resize_fs(self, device_path: str | None = None, mount_point: str | None = None,
                  online: bool = False) -> None:
        self.vm.log(f"file system resized to {self._volume_size_gb()} GB")

    def mount_volume(self, device_path: str | None = None, mount_point: str | None = None
                     ) -> None:
        self.vm.log("volume mounted")

    def unmount_volume(self, device_path: str | None = None, mount_point: str | None = None
                       ) -> None:
        self.vm.log("volume unmounted")

    def get_hwinfo(self) -> dict[str, Any]:
        return {"mem_total": self._flavor_value("ram"), "num_cpus": self._flavor_value("vcpus")}

    def _flavor_value(self, key: str) -> Any:
        flavor = self.vm.host.flavor_of(self.vm.server_id) if self.vm.server_id else None
        return flavor.get(key) if flavor else None

    def get_diagnostics(self) -> dict[str, Any]:
        description = self.vm.describe()
        return {"version": self._engine().version() if description["running"] else None,
                "fd_size": 0, "vm_size": 0, "vm_peak": 0, "vm_rss": 0, "vm_hwm": 0,
                "threads": 1}

    def rpc_ping(self) -> bool:
        return True

    def update_guest(self) -> None:
        self.vm.log("guest update requested: nothing to update on the local cloud")

    # users -----------------------------------------------------------
    def create_user(self, users: list[dict[str, Any]]) -> None:
        self._create_users(self._engine(), users)

    def list_users(self, limit: int | None = None, marker: str | None = None,
                   include_marker: bool = False) -> tuple[list[dict[str, Any]], str | None]:
        from trove.common.pagination import paginate_list

        hosts = self._hosts
        users = self._users()
        page, next_marker = paginate_list(users, limit=limit, marker=marker,
                                          include_marker=include_marker,
                                          key=lambda u: shapes.user_key(u, hosts))
        databases = self._databases()
        return [shapes.user_to(u, hosts, databases) for u in page], next_marker

    def _find_user(self, username: str, hostname: str | None) -> User | None:
        host = (hostname or shapes.WILDCARD) if self._hosts else None
        for user in self._users():
            if user.name == username and (not self._hosts or user.host == host):
                return user
        return None

    def get_user(self, username: str, hostname: str | None = None) -> dict[str, Any] | None:
        user = self._find_user(username, hostname)
        return shapes.user_to(user, self._hosts, self._databases()) if user else None

    def delete_user(self, user: dict[str, Any]) -> None:
        target = shapes.user_from(user, self._hosts)
        self._engine().delete_user(target.name, target.host)

    def list_access(self, username: str, hostname: str | None = None) -> list[dict[str, Any]]:
        user = self._find_user(username, hostname)
        if user is None:
            from trove.common import exception

            raise exception.UserNotFound(uuid=username)
        known = {d.name: d for d in self._databases()}
        return [shapes.database_to(known.get(n) or Database(n)) for n in user.databases]

    def grant_access(self, username: str, hostname: str | None, databases: list[str]) -> None:
        self._engine().grant(username, self._host(hostname), list(databases))

    def revoke_access(self, username: str, hostname: str | None, database: str) -> None:
        self._engine().revoke(username, self._host(hostname), database)

    def _host(self, hostname: str | None) -> str | None:
        return (hostname or shapes.WILDCARD) if self._hosts else None

    def change_passwords(self, users: list[dict[str, Any]]) -> None:
        for user in users:
            self._engine().update_user(user["name"], self._host(user.get("host")), None, None,
                                       user["password"])

    def update_attributes(self, username: str, hostname: str | None,
                          user_attrs: dict[str, Any]) -> None:
        self._engine().update_user(username, self._host(hostname), user_attrs.get("name"),
                                   self._host(user_attrs.get("host")) if user_attrs.get("host")
                                   else None, user_attrs.get("password"))

    # databases -------------------------------------------------------
    def create_database(self, databases: list[dict[str, Any]]) -> None:
        self._create_databases(self._engine(), databases)

    def list_databases(self, limit: int | None = None, marker: str | None = None,
                       include_marker: bool = False) -> tuple[list[dict[str, Any]], str | None]:
        from trove.common.pagination import paginate_list

        page, next_marker = paginate_list(self._databases(), limit=limit, marker=marker,
                                          include_marker=include_marker, key=lambda d: d.name)
        return [shapes.database_to(d) for d in page], next_marker

    def delete_database(self, database: dict[str, Any]) -> None:
        self._engine().delete_database(shapes.database_from(database).name)

    # root ------------------------------------------------------------
    def enable_root(self) -> dict[str, Any]:
        return self.enable_root_with_password(None)

    def enable_root_with_password(self, root_password: str | None = None) -> dict[str, Any]:
        password = root_password or _password()
        name = self._engine().enable_root(password)
        self.vm.extra["root_enabled"] = True
        self.vm.log(f"root user {name} enabled")
        return shapes.root_to(name, password, self._hosts)

    def disable_root(self) -> None:
        self._engine().disable_root()
        self.vm.extra["root_enabled"] = False
        self.vm.log("root user disabled")

    def is_root_enabled(self) -> bool:
        return bool(self.vm.extra.get("root_enabled"))

    def get_root_password(self) -> str | None:
        return getattr(self._engine(), "password", None)

    # configuration ---------------------------------------------------
    def update_overrides(self, overrides: dict[str, Any], remove: bool = False) -> None:
        engine = self._engine()
        engine.ctx.overrides = {} if remove else dict(overrides or {})
        self.vm.log(f"configuration overrides {'removed' if remove else 'stored'}: "
                    f"{sorted(engine.ctx.overrides)}")

    def apply_overrides(self, overrides: dict[str, Any]) -> None:
        self._engine().apply_live(dict(overrides or {}))
        self.vm.log(f"applied configuration values live: {sorted(overrides or {})}")

    # backups ---------------------------------------------------------
    def create_backup(self, backup_info: dict[str, Any]) -> None:
        swift = self._swift()
        self.vm.in_background("create_backup", lambda: self.run_backup(backup_info, swift))

    def run_backup(self, backup_info: dict[str, Any], swift: SwiftConnection) -> dict[str, Any]:
        """Dump, store in the object store and report through the conductor."""
        vm = self.vm
        backup_id = backup_info["id"]
        scratch = vm.scratch_file(".backup")
        try:
            conductor.update_backup(vm.instance_id, backup_id, state="BUILDING",
                                    backup_type=backup_info.get("backup_type", "full"))
            vm.wait_if_backups_held()
            engine = self._engine()
            metadata = engine.backup(scratch)
            container = backup_info.get("swift_container") or BACKUP_CONTAINER
            name = f"{backup_id}.{engine.kind}.backup"
            swift.put_container(container)
            parent = (backup_info.get("parent") or {}).get("location", "")
            # As Trove's backup program stores a backup of one segment: the
            # data as <id>_00000000, then a server-side copy to its name
            # carrying the metadata, then the segment deleted.
            segment = f"{backup_id}_{0:08d}"
            with scratch.open("rb") as handle:
                swift.put_object(container, segment, handle)
            etag = swift.put_object(container, name, b"", headers={
                "X-Copy-From": f"/{container}/{segment}",
                "X-Object-Meta-Trove-It-Metadata": _encode_metadata(metadata),
                "X-Object-Meta-Parent-Location": str(parent)})
            swift.delete_object(container, segment)
            size = scratch.stat().st_size
            base = backup_info.get("swift_url") or self.vm.host.public_url + \
                f"/object-store/v1/{swift.account}"
            location = f"{base.rstrip('/')}/{container}/{name}"
            conductor.update_backup(vm.instance_id, backup_id, state="COMPLETED",
                                    location=location, checksum=etag,
                                    size=max(round(size / GB, 6), 1e-6), success=True)
            vm.log(f"backup {backup_id} stored as {container}/{name} ({size} bytes)")
            return metadata
        except Exception as exc:
            vm.log(f"backup {backup_id} failed: {exc}")
            LOG.exception("backup %s of %s failed", backup_id, vm.instance_id)
            conductor.update_backup(vm.instance_id, backup_id, state="FAILED", success=False)
            raise
        finally:
            scratch.unlink(missing_ok=True)

    def pre_create_backup(self, **kwargs: Any) -> dict[str, Any]:
        return {}

    def post_create_backup(self, **kwargs: Any) -> None:
        return None

    # replication (see replication.py) --------------------------------
    def backup_required_for_replication(self) -> bool:
        return True

    def get_replication_snapshot(self, snapshot_info: dict[str, Any] | None = None,
                                 replica_source_config: Any = None) -> dict[str, Any]:
        snapshot = replication.take_snapshot(
            self.vm, self._engine(), snapshot_info or {},
            lambda info: self.run_backup(info, self._swift()), self.get_volume_info())
        snapshot.update(self._tls().for_replicas())
        return snapshot

    def attach_replication_slave(self, snapshot: dict[str, Any], replica_config: Any = None
                                 ) -> None:
        self._attach_from_snapshot(self._engine(), snapshot)

    def _attach_from_snapshot(self, engine: Engine, snapshot: dict[str, Any]) -> None:
        def inherit_tls() -> bool:
            """Trove's attach_replica: the source's certificates and mode, as at
            startup; True when the replica then serves TLS."""
            if "cert_container" not in snapshot or "ssl_mode" not in snapshot:
                return False
            if GuestTLS(self.vm, engine).enable(snapshot["ssl_mode"],
                                                snapshot["cert_container"], startup=True):
                engine.restart()
            return True

        replication.attach_from_snapshot(self.vm, engine, snapshot, inherit_tls)

    def get_replica_context(self) -> dict[str, Any]:
        return replication.replica_context(self.vm, self._engine())

    def attach_replica(self, replica_info: dict[str, Any], slave_config: Any = None,
                       restart: bool = False) -> None:
        replication.attach(self.vm, self._engine(), replica_info)

    def detach_replica(self, for_failover: bool = False) -> dict[str, Any] | None:
        engine = self._engine()
        engine.unfollow()
        self.vm.extra.pop("source", None)
        self.vm.log("detached from the replication source")
        return {"master": None} if for_failover else None

    def cleanup_source_on_replica_detach(self, replica_info: Any) -> None:
        self.vm.log("cleaned up after a replica detached")

    def make_read_only(self, read_only: bool) -> None:
        self._engine().set_read_only(bool(read_only))

    def enable_as_master(self, replica_source_config: Any = None) -> None:
        engine = self._engine()
        engine.set_read_only(False)
        engine.replication_credentials()
        self.vm.log("enabled as replication source")

    def demote_replication_master(self) -> None:
        self._engine().set_read_only(True)
        self.vm.log("demoted from replication source")

    def get_txn_count(self) -> int:
        txn = self._engine().last_transaction()
        return len(txn.split(",")) if txn else 0

    def get_last_txn(self) -> list[Any]:
        return replication.last_txn(self.vm, self._engine())

    def get_latest_txn_id(self) -> str | None:
        return self._engine().last_transaction()

    def wait_for_txn(self, txn: str) -> None:
        self._engine().wait_for_transaction(txn, timeout=60)

    # logs ------------------------------------------------------------
    def _logs(self) -> dict[str, GuestLog]:
        logs = self.vm.extra.get("logs")
        if logs is None:
            engine = self._engine()
            files = engine.log_files()
            logs = {}
            for defn in log_defs(self.vm.manager):
                path = self.vm.guest_log_path if defn.name == "guest" else files.get(defn.name)
                if path is None:
                    path = engine.ctx.log_dir / f"{defn.name}.log"
                logs[defn.name] = GuestLog(defn, Path(path), self.vm.instance_id, self.vm.manager)
            self.vm.extra["logs"] = logs
        return logs

    def _exposed(self, name: str) -> bool:
        from trove.common import cfg

        exposed = cfg.CONF.get(self.vm.manager).guest_log_exposed_logs
        names = exposed if isinstance(exposed, list) else str(exposed or "").split(",")
        return "all" in names or name in names or bool(getattr(self.context, "is_admin", False))

    def guest_log_list(self) -> list[dict[str, Any]]:
        return [log.show() for name, log in self._logs().items() if self._exposed(name)]

    def guest_log_action(self, log_name: str, enable: Any = None, disable: Any = None,
                         publish: Any = None, discard: Any = None) -> dict[str, Any]:
        """In the order Trove 26's guest manager takes: publishing enables; a SYS
        log is only ever published; a USER log is switched; then the log is shown
        (refused for a log the caller may not see), discarded, published."""
        from trove.common import exception

        if enable and disable:
            raise exception.BadRequest(f"Cannot enable and disable log '{log_name}'.")
        if publish and not disable:
            enable = True
        log = self._logs().get(log_name)
        if log is None:
            raise exception.NotFound(f"Log '{log_name}' is not defined.")
        if log.defn.type == SYS and not publish and (enable or disable):
            raise exception.BadRequest(f"Cannot {'enable' if enable else 'disable'} "
                                       f"a SYSTEM log ('{log_name}').")
        if log.defn.type == USER and (log.enabled and disable or not log.enabled and enable):
            self._toggle(log, bool(enable))
        exposed = self._exposed(log_name)
        for wanted, action in ((True, "show"), (discard, "discard"), (publish, "publish")):
            if wanted and not exposed:
                raise exception.LogAccessForbidden(action=action, log=log_name)
        if discard:
            log.discard(self._swift())
        if publish:
            log.publish(self._swift())
        return log.show()

    def _toggle(self, log: GuestLog, enabled: bool) -> None:
        """Switch a USER log; where the engine must restart to start or stop
        logging (PostgreSQL), the instance, not the log, needs the restart."""
        needs_restart = self._engine().enable_log(log.defn.name, enabled)
        log.enabled = enabled
        log.status = "Enabled" if enabled else "Disabled"
        if needs_restart:
            self._require_restart()
        self.vm.log(f"log {log.defn.name} {'enabled' if enabled else 'disabled'}"
                    f"{' (restart required)' if needs_restart else ''}")

    def _require_restart(self) -> None:
        from trove.instance import service_status
        from trove.instance.models import InstanceServiceStatus

        status = InstanceServiceStatus.find_by(instance_id=self.vm.instance_id)
        status.set_status(service_status.ServiceStatuses.RESTART_REQUIRED)
        status.save()

    # instance SSL (guest API 1.3) -------------------------------------
    def _tls(self) -> GuestTLS:
        return GuestTLS(self.vm, self._engine())

    def ssl_show(self) -> dict[str, Any]:
        return self._tls().show(self.context)

    def ssl_action(self, mode: str, container: dict[str, str] | None = None,
                   enable: Any = None, disable: Any = None) -> dict[str, Any]:
        result, restart = self._tls().action(mode, container, enable, disable)
        if restart:
            self._require_restart()
        return result

    def ssl_rollback(self) -> dict[str, Any]:
        result, restart = self._tls().rollback()
        if restart:
            self._require_restart()
        return result

    # modules ---------------------------------------------------------
    def _modules(self) -> ModuleStore:
        store = self.vm.extra.get("modules")
        if store is None:
            store = self.vm.extra["modules"] = ModuleStore(self.vm)
        return store

    def module_list(self, include_contents: bool = False) -> list[dict[str, Any]]:
        return self._modules().list(bool(include_contents),
                                    bool(getattr(self.context, "is_admin", False)))

    def module_apply(self, modules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return self._modules().apply(modules)

    def module_remove(self, module: dict[str, Any]) -> None:
        self._modules().remove(module)

    # clusters (see cluster.py) ---------------------------------------
    def reset_admin_password(self, admin_password: str) -> None:
        cluster.remember_admin_password(self.vm, admin_password)

    def install_cluster(self, replication_user: dict[str, str], cluster_configuration: str,
                        bootstrap: bool) -> None:
        cluster.install_galera(self.vm, self._engine(), replication_user,
                               cluster_configuration, bool(bootstrap))

    def get_cluster_context(self) -> dict[str, Any]:
        return cluster.galera_context(self.vm)

    def write_cluster_configuration_overrides(self, cluster_configuration: str) -> None:
        cluster.rewrite_galera_members(self.vm, self._engine(), cluster_configuration)

    def cluster_complete(self) -> None:
        cluster.complete(self.vm)

    def get_node_ip(self) -> list[Any]:
        return cluster.node_address(self.vm, self._engine())

    def get_node_id_for_removal(self) -> str | None:
        return cluster.node_id_for_removal(self._engine())

    def remove_nodes(self, node_ids: list[str]) -> None:
        cluster.forget(self.vm, self._engine(), list(node_ids))

    def cluster_meet(self, ip: str, port: Any) -> None:
        cluster.meet(self.vm, self._engine(), ip, port)

    def cluster_addslots(self, first_slot: Any, last_slot: Any) -> None:
        cluster.add_slots(self.vm, self._engine(), first_slot, last_slot)

    # upgrade and rebuild ---------------------------------------------
    def pre_upgrade(self) -> dict[str, Any]:
        self.vm.log("pre-upgrade: nothing to save outside the data directory")
        return {}

    def upgrade(self, upgrade_info: dict[str, Any]) -> None:
        self.post_upgrade(upgrade_info)

    def post_upgrade(self, upgrade_info: dict[str, Any]) -> None:
        engine = self._engine()
        engine.restart()
        self.vm.resolve()
        self.vm.log(f"upgraded to datastore version {self.vm.version_name}")
        self.vm.report(HEALTHY)

    def rebuild(self, ds_version: Any, config_contents: Any = None,
                config_overrides: Any = None) -> None:
        engine = self._engine()
        if config_overrides:
            engine.ctx.overrides = dict(config_overrides)
        engine.restart()
        self.vm.phase = "ready"
        self.vm.log("rebuilt the guest; data kept on the volume")
        self.vm.report(HEALTHY)


def _encode_metadata(metadata: dict[str, Any]) -> str:
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(metadata).encode()).decode()


def _backup_metadata(headers: dict[str, str]) -> dict[str, Any]:
    import base64
    import json

    raw = headers.get("x-object-meta-trove-it-metadata")
    if not raw:
        return {}
    try:
        return dict(json.loads(base64.urlsafe_b64decode(raw.encode())))
    except ValueError:
        return {}
