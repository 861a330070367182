"""A vm local cloud, end to end, with an image built from elements/.

Needs that image (``TROVE_IT_TEST_IMAGE``, a container-mode mariadb or
postgresql image), root and the vm profile's packages; ``.ci/image-job``
runs it (``TROVE_IT_VM_TESTS=1``). Each test starts a vm cloud of its own
and checks, once it is down, that nothing of it is left: no process naming
its state directory, no namespace, no instance directory.

- The stock ``openstack database instance create`` with the image's version
  reaches ACTIVE, and the datastore's own client logs in at the address Trove
  reports, inside the cloud's namespace (``trove-it cloud exec``), as the
  user created through the API.
- A broken image (agent not enabled, a wrong datastore manager, no database
  image in the guest or the registry) fails its instance's wait within five
  minutes of its create, not Trove's build timeout, with the cause named; the
  three boot side by side on one cloud.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it import waiters
from trove_it.clients import CloudClients, connect
from trove_it.guest_watch import GuestWatch
from trove_it.images import defects, manifest, registry
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.launcher import LocalCloud
from trove_it.localcloud.lifecycle.layout import default_state_root
from trove_it.localcloud.vm import netns
from trove_it.localcloud.vm.services import missing_tools
from trove_it.targets.base import LocalControl
from trove_it.tests.process_scan import processes_mentioning

IMAGE = os.environ.get("TROVE_IT_TEST_IMAGE")
FAIL_FAST = 300.0
"""A broken image's instance fails within this (Trove's build timeout is 30 minutes)."""
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.skipif(
    not IMAGE or not os.environ.get("TROVE_IT_VM_TESTS") or os.geteuid() != 0,
    reason="boots QEMU guests: needs a built image in TROVE_IT_TEST_IMAGE, "
           "TROVE_IT_VM_TESTS=1 and root (the image CI job)")


def _record() -> tuple[Path, manifest.Manifest]:
    image = Path(str(IMAGE)).resolve()
    record = manifest.load(image)
    assert record is not None and record.mode == "container", \
        f"{image} is not a container-mode image with a manifest"
    return image, record


class VmCloud:
    def __init__(self, tag: str):
        self.name = f"trove-it-vmtest-{tag}-{os.getpid()}"
        self.cloud = LocalCloud(self.name, state_dir=default_state_root() / self.name,
                                profile="vm")
        self.clouds_yaml = Path()

    def up(self) -> None:
        missing = missing_tools()
        assert not missing, f"the vm profile's packages are missing: {missing}"
        self.clouds_yaml = Path(self.cloud.up(tie_to_parent=True).clouds_yaml)

    def clients(self, role: str = "admin") -> CloudClients:
        return connect(cloud_names(self.name)[role], self.clouds_yaml)

    def control(self) -> LocalControl:
        descriptor = self.cloud.descriptor
        assert descriptor is not None
        return LocalControl(descriptor.url, self.clients())

    def down_and_check(self) -> None:
        state = str(self.cloud.layout.root)
        namespace = netns.name_for(self.cloud.layout.root)
        self.cloud.down()
        assert processes_mentioning(state) == [], "processes of the cloud survived it"
        assert not netns.exists(namespace), f"namespace {namespace} survived the cloud"
        assert not self.cloud.layout.root.exists()


@pytest.fixture
def vm_cloud(request: pytest.FixtureRequest) -> Iterator[VmCloud]:
    cloud = VmCloud(request.node.name.split("[")[-1].strip("]")[:12].replace("_", "-"))
    cloud.up()
    try:
        yield cloud
    finally:
        cloud.down_and_check()


def _openstack(cloud: VmCloud, *args: str, role: str = "member") -> str:
    env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(cloud.clouds_yaml),
               OS_CLOUD=cloud_names(cloud.name)[role])
    result = subprocess.run([str(BIN / "openstack"), *args], env=env, capture_output=True,
                            text=True, timeout=300, check=False)
    assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr[-600:]}"
    return result.stdout.strip()


def test_stock_client_create_and_native_login(vm_cloud: VmCloud) -> None:
    image, record = _record()
    admin = vm_cloud.clients()
    registry.load_image(admin, image, record.datastore, record.version, active=True)
    registry.activate(admin, record.datastore, record.version)
    password = f"Pw{secrets.token_hex(8)}"
    instance_id = _openstack(
        vm_cloud, "database", "instance", "create", "vmtest", "--flavor", "d3", "--size", "1",
        "--datastore", record.datastore, "--datastore-version", record.version,
        "--database", "db1", "--users", f"alice:{password}", "-f", "value", "-c", "id")
    started = time.monotonic()
    watch = GuestWatch(vm_cloud.control())
    waiters.watch_guests(watch.verdict)
    try:
        waiters.wait_for_instance(vm_cloud.clients("member").trove, instance_id,
                                  operating_status=None, timeout=900)
    finally:
        waiters.watch_guests(None)
    print(f"create -> ACTIVE in {time.monotonic() - started:.0f} s")
    address = _openstack(vm_cloud, "database", "instance", "show", instance_id, "-f", "value",
                         "-c", "ip").split(",")[0].strip("[]' ")
    if record.datastore == "postgresql":
        login = [shutil.which("psql") or "psql", "-h", address, "-U", "alice", "-d", "db1",
                 "-tAc", "SELECT current_database()"]
        env = dict(os.environ, PGPASSWORD=password)
    else:
        login = [shutil.which("mariadb") or "mysql", "-h", address, "-u", "alice",
                 f"-p{password}", "db1", "-NBe", "SELECT DATABASE()"]
        env = dict(os.environ)
    result = subprocess.run([str(BIN / "trove-it"), "cloud", "exec", "--name", vm_cloud.name,
                             "--state-dir", str(vm_cloud.cloud.layout.root), "--", *login],
                            env=env, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "db1", \
        f"alice could not log in at {address}: {result.stderr[-400:]}"
    _openstack(vm_cloud, "database", "instance", "delete", instance_id)
    waiters.wait_for_instance_gone(vm_cloud.clients("member").trove, instance_id)


CAUSES = {
    "agent-not-enabled": "the guest agent never started",
    "wrong-datastore-manager": "Manager class not registered for datastore manager redis",
    "no-database-image": "neither in the guest nor in the registry",
}


class Broken:
    """One instance per broken variant, all booting at once on one cloud:
    each test then waits for its own, timed from its own create."""

    def __init__(self, cloud: VmCloud, tmp: Path):
        self.cloud = cloud
        self.created: dict[str, tuple[str, float]] = {}
        image, record = _record()
        admin = cloud.clients()
        member = cloud.clients("member")
        raw = defects.raw_copy(image, tmp)
        for defect in sorted(CAUSES):
            variant = defects.derive(image, raw, defect, tmp)
            # The cloud's registry stays empty: what the variant lacks is not
            # pulled from anywhere (a good image would have put the database
            # image there).
            loaded = registry.upload(admin, variant, tags=[], name=variant.stem)
            name = f"{record.version}-{defect}"
            registry.register(admin, record.datastore, name, loaded.id, active=True,
                              number=record.version)
            created = member.trove.instances.create(
                f"broken-{defect}", "d3", volume={"size": 1}, datastore=record.datastore,
                datastore_version=name)
            self.created[defect] = (created.id, time.monotonic())
        raw.unlink()


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Broken]:
    cloud = VmCloud("broken")
    cloud.up()
    try:
        yield Broken(cloud, tmp_path_factory.mktemp("variants"))
    finally:
        cloud.down_and_check()


@pytest.mark.parametrize("defect", sorted(CAUSES))
def test_broken_image_fails_fast_naming_its_cause(defect: str, broken: Broken) -> None:
    instance_id, created_at = broken.created[defect]
    watch = GuestWatch(broken.cloud.control(), interval=2.0)
    waiters.watch_guests(watch.verdict)
    try:
        with pytest.raises(waiters.WaitError) as failed:
            waiters.wait_for_instance(
                broken.cloud.clients("member").trove, instance_id, operating_status=None,
                timeout=max(1.0, FAIL_FAST - (time.monotonic() - created_at)))
    finally:
        waiters.watch_guests(None)
    took = time.monotonic() - created_at
    message = str(failed.value)
    print(f"{defect}: failed {took:.0f} s after its create: {message}")
    assert not isinstance(failed.value, waiters.WaitTimeout), \
        f"{defect}: no verdict within {FAIL_FAST:.0f} s: {message}"
    assert CAUSES[defect] in message, f"{defect}: the cause is not named: {message}"


def test_a_run_without_a_guest_image_is_refused_in_one_line(tmp_path: Path) -> None:
    """A run's own vm cloud registers only the stand-in image, which holds no
    system: the run says so in one line and leaves nothing (no namespace, no
    process of its cloud, no state)."""
    before = set(netns.stale(set()))
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--local-profile=vm", "--datastore=mariadb",
         "-m", "smoke", "-p", "no:cacheprovider", "--run-id", "vmnoimage"],
        cwd=Path(__file__).resolve().parents[2], env=env, capture_output=True, text=True,
        timeout=600, check=False)
    assert result.returncode != 0
    said = [line for line in (result.stdout + result.stderr).splitlines()
            if "boots no guest image on the vm local cloud" in line]
    assert len(said) == 1, result.stdout[-2000:] + result.stderr[-2000:]
    assert "Traceback" not in result.stdout + result.stderr
    assert set(netns.stale(set())) == before, "the run left a network namespace"
    assert processes_mentioning("trove-it-vmnoimage") == []
    assert not (default_state_root() / "trove-it-vmnoimage").exists()
