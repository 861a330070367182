"""Start, find and stop a local cloud.

``LocalCloud.up()`` renders the config into the state directory, restores
the Trove database from a golden copy (bootstrapping it once per Trove
version and datastore list), starts the server in its own process group on a
free loopback port and waits until it answers. ``down()`` stops the server,
which stops its engines, then reaps anything a crash left behind by pidfile
and removes the state directory.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

from trove_it.localcloud.identity import Identity, cloud_names, write_clouds_yaml
from trove_it.localcloud.lifecycle import (
    address_ranges,
    memory_disk,
    processes,
    profiles,
    trove_env,
)
from trove_it.localcloud.lifecycle.config import CloudSettings, read_option, write_config
from trove_it.localcloud.lifecycle.layout import (
    DEFAULT_NAME,
    CloudDescriptor,
    StateLayout,
    default_state_dir,
)
from trove_it.localcloud.vm import services as vm_services
from trove_it.localcloud.vm.rabbit import BusSettings
from trove_it.localcloud.vm.services import VmSettings

START_TIMEOUT = 90.0
STOP_TIMEOUT = 45.0
VM_STOP_TIMEOUT = 30.0
LOCALCLOUD_DIR = Path(__file__).resolve().parents[1]
REPO_ROOT = LOCALCLOUD_DIR.parents[1]


class CloudError(RuntimeError):
    """A local cloud could not be started or reached; the message says why."""


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trove-it"


def _golden_key(trove: trove_env.TroveEnv) -> str:
    from importlib import metadata

    digest = hashlib.sha256()
    if trove.spec.kind == trove_env.INSTALLED:
        try:
            digest.update(metadata.version("trove").encode())
        except metadata.PackageNotFoundError as exc:
            raise CloudError("Trove is not installed in this environment; install the "
                             "local cloud extra: pip install -c constraints.txt "
                             "'trove-it[local]'") from exc
    else:
        digest.update(trove.fingerprint().encode())
    for module in ("lifecycle/bootstrap.py", "datastores.py"):
        digest.update((LOCALCLOUD_DIR / module).read_bytes())
    return digest.hexdigest()[:16]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status < 500)
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except (OSError, ValueError):
        return False


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class CloudStatus:
    name: str
    state_dir: Path
    running: bool
    descriptor: CloudDescriptor | None
    engines: list[int]


class LocalCloud:
    def __init__(self, name: str = DEFAULT_NAME, state_dir: Path | None = None,
                 network_cidr: str | None = None, debug: bool = False,
                 profile: str = profiles.DEFAULT, trove: str | None = None,
                 survivable: bool = False):
        self.name = name
        self.survivable = survivable
        """Engines outlive the server, which can hand over to a restart on another
        Trove (``hand_over``, ``resume``)."""
        self.profile = profiles.get(profile)
        self.trove_spec = trove_env.parse(trove)
        self._trove: trove_env.TroveEnv | None = None
        self.layout = StateLayout(Path(state_dir) if state_dir else default_state_dir(name))
        self.network_cidr = network_cidr
        self.debug = debug
        self._process: subprocess.Popen[bytes] | None = None

    # --------------------------------------------------------------- find
    @property
    def descriptor(self) -> CloudDescriptor | None:
        return CloudDescriptor.load(self.layout)

    def is_running(self) -> bool:
        desc = self.descriptor
        return bool(desc and processes.alive(desc.pid) and _http_ok(f"{desc.url}/identity"))

    def status(self) -> CloudStatus:
        engines = [pid for pid in (processes.read_pidfile(p) for p in
                                   self.layout.engine_pidfiles())
                   if pid is not None and processes.alive(pid)]
        return CloudStatus(self.name, self.layout.root, self.is_running(), self.descriptor,
                           engines)

    def _lock(self) -> FileLock:
        root = self.layout.root.parent
        root.mkdir(parents=True, exist_ok=True)
        return FileLock(str(root / f".{self.layout.root.name}.lock"))

    # ----------------------------------------------------------------- up
    def up(self, tie_to_parent: bool = False, run_owned: bool = False) -> CloudDescriptor:
        """Start the cloud and wait until it answers, or return the running one
        of this name (waiting for it if a ``begin`` left it starting).

        ``tie_to_parent``: the server dies with this process. ``run_owned``: a
        pytest run started it and stops it at its end, so no other run may
        share it (``provisioning/cloud_choice``)."""
        with self._lock():
            desc = self._live_descriptor()
            if desc is None:
                desc = self._launch_locked(tie_to_parent, run_owned)
            try:
                self._wait_until_ready(desc)
            except BaseException:
                self._stop_locked()
                raise
            return desc

    def begin(self, tie_to_parent: bool = False, run_owned: bool = False) -> bool:
        """Start the server without waiting for it to answer (``up`` waits).

        Returns whether this call started it (False: one of this name runs).
        Lets a caller overlap the server's start-up with its own work.
        """
        with self._lock():
            if self._live_descriptor() is not None:
                return False
            self._launch_locked(tie_to_parent, run_owned)
            return True

    def _live_descriptor(self) -> CloudDescriptor | None:
        desc = self.descriptor
        return desc if desc is not None and processes.alive(desc.pid) else None

    def _launch_locked(self, tie_to_parent: bool, run_owned: bool) -> CloudDescriptor:
        if self.layout.hand_over.exists():
            # A fresh start would wipe the instances whose engines still run.
            raise CloudError(
                f"the local cloud {self.name} is stopped for an upgrade with its engines "
                f"running and its state handed over to the next server; its upgrade-run "
                f"resumes it, 'trove-it cloud down --name {self.name}' removes it")
        self._remove_state()
        if self.profile.vm:
            missing = vm_services.missing_tools()
            if missing:
                packages = " ".join(m for m in missing if " " not in m)
                raise CloudError(f"the vm profile needs {', '.join(missing)} on this machine "
                                 f"(apt-get install {packages})")
            if os.geteuid() != 0:
                raise CloudError("the vm profile makes a network namespace and taps: run as "
                                 "root")
        try:
            return self._start(tie_to_parent, run_owned)
        except BaseException:
            self._stop_locked()
            raise

    def _check_reachable_by_engines(self) -> None:
        """Engines that run as another user must be able to reach the state dir."""
        from trove_it.localcloud.engines.host import unprivileged_user

        user = unprivileged_user()
        if user is None:
            return
        path = self.layout.root.parent
        while True:
            if path.exists() and not os.stat(path).st_mode & 0o001:
                raise CloudError(
                    f"the state directory {self.layout.root} is under {path}, which the "
                    f"'{user}' user running PostgreSQL engines cannot enter; choose a "
                    f"--state-dir under /tmp or /var/tmp")
            if path.parent == path:
                return
            path = path.parent

    def _start(self, tie_to_parent: bool, run_owned: bool) -> CloudDescriptor:
        layout = self.layout
        self._check_reachable_by_engines()
        layout.root.mkdir(parents=True, mode=0o755)
        os.chmod(layout.root, 0o755)
        os.chmod(layout.root.parent, 0o755)
        for path in (layout.objects, layout.images):
            path.mkdir(mode=0o755)
        memory_disk.place_instances(layout.instances, layout.root)
        cidr = self._claim_cidr()
        trove = self._trove_env()
        port = _free_port()
        settings = CloudSettings(self.name, layout, port, cidr, debug=self.debug,
                                 profile=self.profile, survivable=self.survivable,
                                 vm=self._vm_settings(port))
        identity = Identity.generate()
        identity.save(layout.identity)
        write_config(settings, identity.admin.password)
        self._restore_database(trove)
        write_clouds_yaml(layout.clouds_yaml, self.name, settings.auth_url, identity)
        self._process = self._launch(tie_to_parent, trove)
        desc = CloudDescriptor(
            name=self.name, state_dir=str(layout.root), url=settings.url, port=settings.port,
            pid=self._process.pid, network_cidr=cidr, clouds_yaml=str(layout.clouds_yaml),
            started_at=time.time(), owner_pid=os.getpid() if run_owned else None,
            profile=self.profile.name, trove=trove.describe(), trove_spec=trove.spec.text)
        desc.save(layout)
        return desc

    def _vm_settings(self, api_port: int) -> VmSettings | None:
        """A vm cloud's ports and bus password, or None for the other profiles."""
        if not self.profile.vm:
            return None
        bus = BusSettings(_free_port(), _free_port(), _free_port(), secrets.token_urlsafe(18))
        return VmSettings(api_port=api_port, bus=bus, registry_port=_free_port())

    def _claim_cidr(self) -> str:
        """The asked-for range, or the first one no other live cloud on the
        machine claims (``address_ranges``)."""
        try:
            return address_ranges.claim(self.layout.root, self.network_cidr)
        except address_ranges.RangeTaken as exc:
            raise CloudError(str(exc)) from None

    def _bootstrap_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [str(REPO_ROOT)] + [p for p in [env.get("PYTHONPATH")] if p])
        env.setdefault("PYTHONWARNINGS", "ignore")
        return env

    def _trove_env(self) -> trove_env.TroveEnv:
        """The Python that runs this cloud's Trove (``--trove``), checked against
        the drivers before anything starts."""
        if self._trove is None:
            try:
                env = trove_env.ensure(self.trove_spec)
                trove_env.check_interfaces(env, REPO_ROOT)
            except trove_env.TroveSpecError as exc:
                raise CloudError(str(exc)) from None
            self._trove = env
        return self._trove

    def _restore_database(self, trove: trove_env.TroveEnv) -> None:
        family = f"trove-{trove.spec.key()}-"
        golden = cache_dir() / "bootstrap" / f"{family}{_golden_key(trove)}.sqlite"
        if not golden.exists():
            golden.parent.mkdir(parents=True, exist_ok=True)
            result = subprocess.run(
                [str(trove.python), "-m", "trove_it.localcloud.lifecycle.bootstrap",
                 "--config-file", str(self.layout.trove_conf)],
                capture_output=True, text=True, env=self._bootstrap_env(), timeout=300)
            if result.returncode != 0 or not self.layout.database.exists():
                detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
                raise CloudError(f"bootstrapping the Trove database failed: {detail[0]}")
            tmp = golden.with_suffix(f".{os.getpid()}.tmp")  # two runs may bootstrap at once
            shutil.copyfile(self.layout.database, tmp)
            tmp.replace(golden)
            for stale in golden.parent.glob(f"{family}*.sqlite"):
                if stale != golden:
                    stale.unlink(missing_ok=True)
        else:
            shutil.copyfile(golden, self.layout.database)

    def _launch(self, tie_to_parent: bool, trove: trove_env.TroveEnv
                ) -> subprocess.Popen[bytes]:
        argv = [str(trove.python), "-m", "trove_it.localcloud.server",
                "--config-file", str(self.layout.trove_conf)]
        proc = processes.spawn(
            argv, log=self.layout.root / "server.out", pidfile=self.layout.server_pidfile,
            env=self._bootstrap_env(),
            death_signal=signal.SIGTERM if tie_to_parent else 0, new_session=True)
        return proc

    def _wait_until_ready(self, desc: CloudDescriptor) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if not processes.alive(desc.pid):
                status = ""
                if self._process is not None and self._process.poll() is not None:
                    status = f" with status {self._process.returncode}"
                raise CloudError(
                    f"the local cloud server exited{status} during start-up; see "
                    f"{self.layout.server_log}:\n"
                    f"{_tail(self.layout.root / 'server.out', 5)}\n"
                    f"{_tail(self.layout.server_log, 10)}")
            if _http_ok(f"{desc.url}/identity") and _http_ok(f"{desc.url}/"):
                return
            time.sleep(0.05)
        raise CloudError(f"the local cloud did not answer within {START_TIMEOUT:.0f}s; "
                         f"see {self.layout.server_log}")

    # ------------------------------------------------- restart on another Trove
    def hand_over(self) -> None:
        """Stop the server of a survivable cloud the way a control plane is
        stopped for an upgrade: its API is gone, its engines keep running, and
        its state waits on disk for ``resume``."""
        with self._lock():
            desc = self._live_descriptor()
            if desc is None:
                raise CloudError(f"the local cloud {self.name} is not running")
            if read_option(self.layout.trove_conf, "trove_it", "survivable") != "True":
                raise CloudError(f"the local cloud {self.name} was not started survivable; "
                                 f"its engines die with its server")
            self.layout.hand_over_request.write_text(f"{os.getpid()}\n")
            # SIGTERM: oslo.service stops the API and the task manager, then the
            # server writes the hand-over instead of stopping its engines.
            processes.terminate(desc.pid, timeout=STOP_TIMEOUT, sig=signal.SIGTERM)
            self.layout.server_pidfile.unlink(missing_ok=True)
            if not self.layout.hand_over.exists():
                self.layout.hand_over_request.unlink(missing_ok=True)
                raise CloudError(f"the local cloud {self.name} stopped without handing over; "
                                 f"see {self.layout.server_log}:\n"
                                 f"{_tail(self.layout.server_log, 10)}")

    def resume(self, trove: str | None = None) -> CloudDescriptor:
        """Start the server again after ``hand_over``, on the Trove of ``trove``
        (a ``--trove`` spec; default: the one it ran). That Trove's ``db_sync``
        runs first, as in an upgrade; the server then adopts the guests and
        their engines (``hand_over``)."""
        if trove is not None:
            self.trove_spec, self._trove = trove_env.parse(trove), None
        with self._lock():
            old = self.descriptor
            if old is None or not self.layout.hand_over.exists():
                raise CloudError(f"the local cloud {self.name} has no handed-over state "
                                 f"to resume from")
            if self._live_descriptor() is not None:
                raise CloudError(f"the local cloud {self.name} is running")
            env = self._trove_env()
            self._db_sync(env)
            self._process = self._launch(False, env)
            desc = dataclasses.replace(
                old, pid=self._process.pid, started_at=time.time(), trove=env.describe(),
                trove_spec=env.spec.text)
            desc.save(self.layout)
            self._wait_until_ready(desc)
            return desc

    def _db_sync(self, trove: trove_env.TroveEnv) -> None:
        """The new Trove's ``trove-manage db_sync``, before its server starts
        (``lifecycle/manage``: its upgrade tasks need the handed-over nova)."""
        result = subprocess.run(
            [str(trove.python), "-m", "trove_it.localcloud.lifecycle.manage",
             "--config-file", str(self.layout.trove_conf)],
            capture_output=True, text=True, env=self._bootstrap_env(), timeout=300)
        self.layout.db_sync_output.write_text(result.stdout + result.stderr)
        if result.returncode != 0:
            detail = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["?"]
            raise CloudError(f"trove-manage db_sync on {trove.describe()} failed: {detail[0]}; "
                             f"see {self.layout.server_log}")

    def db_sync_output(self) -> list[str]:
        """What the last ``resume``'s db_sync printed (its upgrade tasks say what
        they did to the servers)."""
        try:
            return self.layout.db_sync_output.read_text().strip().splitlines()
        except OSError:
            return []

    # --------------------------------------------------------------- down
    def down(self) -> None:
        """Stop the server and every engine, and remove the state directory."""
        with self._lock():
            self._stop_locked()
        # The lock file goes with the state, or every run's own cloud would
        # leave one. The cost: a start of this same name racing this stop may
        # lock the unlinked file; runs never share a name they start.
        Path(self._lock().lock_file).unlink(missing_ok=True)

    def _stop_locked(self) -> None:
        """Kill the server outright: everything it holds is removed next. Its
        engines die with it (each asked the kernel for SIGKILL when it does),
        and ``_remove_state`` reaps any left by pidfile (a survivable cloud's).
        A graceful stop would only wait for idle client connections to close.

        A vm cloud's server is asked first (SIGTERM): it stops its QEMU guests,
        message bus and registry and reaps them itself, which a machine whose
        init reaps no orphans would otherwise keep as zombies."""
        pid = processes.read_pidfile(self.layout.server_pidfile)
        if self._process is not None:
            pid = self._process.pid
        if pid is not None and processes.alive(pid):
            vm = read_option(self.layout.trove_conf, "trove_it", "profile") == "vm"
            processes.terminate(pid, timeout=VM_STOP_TIMEOUT if vm else STOP_TIMEOUT,
                                sig=signal.SIGTERM if vm else signal.SIGKILL)
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
            self._process = None
        self._remove_state()

    def _remove_state(self) -> None:
        # Engines of a survivable cloud do not die with a server: never drop
        # their pidfiles while they run.
        for pidfile in self.layout.engine_pidfiles():
            processes.reap_pidfile(pidfile)
        vm_services.reap(self.layout)
        memory_disk.remove_instances(self.layout.instances)
        if self.layout.root.exists():
            shutil.rmtree(self.layout.root, ignore_errors=True)
        address_ranges.release(self.layout.root)

    # -------------------------------------------------------------- info
    def cloud_names(self) -> dict[str, str]:
        return cloud_names(self.name)


def describe(desc: CloudDescriptor) -> str:
    names = cloud_names(desc.name)
    return json.dumps({"cloud": names["member"], "admin_cloud": names["admin"],
                       "alt_cloud": names["alt_member"], "clouds_yaml": desc.clouds_yaml,
                       "url": desc.url, "network_cidr": desc.network_cidr,
                       "state_dir": desc.state_dir, "pid": desc.pid}, indent=2)
