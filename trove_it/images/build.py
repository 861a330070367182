"""Run a build plan: check the host, run disk-image-create, keep only a
complete result.

DIB builds into a private work directory beside the output (its TMP_DIR,
so every loop device and mount it makes is under it). On success the files
move into place and the manifest is written last; on failure, interrupt or
a killed DIB, anything left under the work directory is unmounted and
detached and the directory removed, so no loop device, mount or half-written
artifact survives.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable
from pathlib import Path

from trove_it.errors import UserError
from trove_it.images import elements, loops, manifest, mirrors, pip_inputs
from trove_it.images.plan import BuildPlan

DIB_TIMEOUT = 3600.0
STOP_GRACE = 120.0
REPO_PROBE_TIMEOUT = 15.0
_PHASE = re.compile(r"dib-run-parts Running \S*/(?P<phase>[a-z-]+\.d)/(?P<script>\S+)")
_ERRORISH = re.compile(r"(error|failed|fatal|not found|no such|unable|cannot|E: |"
                       r"returned non-zero|exit \d)", re.I)
_NOISE = re.compile(r"(Unmount |INFO diskimage_builder|dib-run-parts .* completed|"
                    r"^\s*\+|State already cleaned)")

Progress = Callable[[str], None]


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def image_cache() -> Path:
    return Path(os.environ.get("DIB_IMAGE_CACHE") or Path.home() / ".cache" / "image-create")


def find_dib() -> Path | None:
    """disk-image-create: TROVE_IT_DISK_IMAGE_CREATE (a diskimage-builder installed
    elsewhere), else this Python's environment, else PATH."""
    explicit = os.environ.get("TROVE_IT_DISK_IMAGE_CREATE")
    if explicit:
        return Path(explicit) if Path(explicit).is_file() else None
    beside = Path(sys.executable).parent / "disk-image-create"
    if beside.exists():
        return beside
    found = shutil.which("disk-image-create")
    return Path(found) if found else None


def device_mapper_available() -> bool:
    """DIB partitions images with kpartx, which needs the kernel's device-mapper."""
    try:
        misc = Path("/proc/misc").read_text()
    except OSError:
        return False
    return ("device-mapper" in misc and Path("/dev/mapper/control").exists()
            and shutil.which("kpartx") is not None)


def _reachable(url: str) -> str | None:
    """None when ``url`` answers over HTTP (any status), else why not."""
    request = urllib.request.Request(url, method="HEAD")
    try:
        with urllib.request.urlopen(request, timeout=REPO_PROBE_TIMEOUT):
            return None
    except urllib.error.HTTPError:
        return None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return str(reason)


def check_host(plan: BuildPlan, dib: Path | None) -> None:
    """Everything the build needs from this machine, each failure one line."""
    request = plan.request
    if dib is None:
        where = os.environ.get("TROVE_IT_DISK_IMAGE_CREATE")
        raise UserError(f"disk-image-create not found{' at ' + where if where else ''}: "
                        f"install diskimage-builder (pip install -c constraints.txt "
                        f"'trove-it[image]')")
    if shutil.which("sudo") is None:
        raise UserError("diskimage-builder runs its steps through sudo, even as root: "
                        "install sudo (apt-get install sudo)")
    if os.geteuid() != 0:
        probe = subprocess.run(["sudo", "-n", "true"], capture_output=True, check=False)
        if probe.returncode != 0:
            raise UserError("diskimage-builder needs password-less sudo for this user")
    needs = {"debian-minimal": "debootstrap", "ubuntu-minimal": "debootstrap",
             "centos-minimal": "dnf", "centos": "qemu-img", "ubuntu": "tar"}
    tool = needs.get(plan.elements[0])
    if tool and shutil.which(tool) is None:
        raise UserError(f"building {plan.elements[0]} images needs '{tool}' on this host "
                        f"(apt-get install {tool})" if tool != "dnf" else
                        f"building {plan.elements[0]} images needs 'dnf' on this host; build "
                        f"CentOS images on a RHEL-family machine")
    if request.format == "qcow2" and shutil.which("qemu-img") is None:
        raise UserError("qcow2 images need qemu-img (apt-get install qemu-utils)")
    if plan.layout == "partitioned" and shutil.which("kpartx") is None:
        raise UserError("partitioned images need kpartx (apt-get install kpartx)")
    source = plan.source
    if source is not None and source.kind == "vendor" and source.url:
        url = os.environ.get(source.url_env or "") or source.url
        why = _reachable(url)
        if why:
            raise UserError(f"{request.datastore} packages for {request.distro} come from "
                            f"{source.where}, and {url} does not answer from this machine "
                            f"({why}); point {source.url_env} at a reachable mirror")
    if source is not None and source.kind == "licensed":
        var = f"DIB_TROVE_IT_{request.datastore.upper()}_PACKAGE"
        value = os.environ.get(var)
        if not value or not Path(value).is_file():
            raise UserError(f"{request.datastore} is licensed software with no public "
                            f"repository: download its installer and set {var} to the file")
    if request.mode == "container":
        _check_container(plan)
    try:
        request.output.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--output {request.output}: {exc.strerror or exc}") from None
    if not os.access(request.output, os.W_OK):
        raise UserError(f"--output {request.output} is not writable")


def _check_container(plan: BuildPlan) -> None:
    if plan.container_recipes:
        if shutil.which("unshare") is None:
            raise UserError("container images are assembled in a private mount namespace: "
                            "install util-linux (unshare)")
        return
    archive = plan.request.container_archive
    if archive is not None:
        if not archive.is_file():
            raise UserError(f"--container-archive {archive}: no such file")
        return
    docker = shutil.which("docker")
    answers = False
    if docker:
        answers = subprocess.run([docker, "info"], capture_output=True, timeout=60,
                                 check=False).returncode == 0
    if not answers:
        raise UserError(f"container mode needs the image {plan.container_image}: no Docker "
                        f"engine answers on this machine to pull it; give --container-archive "
                        f"FILE (made with 'docker save {plan.container_image}') instead")


def dib_environment(plan: BuildPlan, dib: Path, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(pip_inputs.pip_settings(env))
    for key, value in mirrors.for_build(plan.request.distro).environment(
            plan.request.distro).items():
        env.setdefault(key, value)
    env.update(plan.env)
    env["ELEMENTS_PATH"] = os.pathsep.join(
        [str(elements.elements_dir())] + [p for p in env.get("ELEMENTS_PATH", "").split(
            os.pathsep) if p])
    env["TMP_DIR"] = str(work / "tmp")
    env["PATH"] = os.pathsep.join([str(dib.parent), env.get("PATH", "/usr/bin:/bin")])
    return env


def _summary(tail: deque[str], last_script: str) -> str:
    for line in reversed(tail):
        text = line.split(" | ", 1)[-1].strip()
        if text and _ERRORISH.search(text) and not _NOISE.search(text):
            return text[:240]
    return f"the last step was {last_script}" if last_script else "no output"


def _stop_with_parent() -> None:
    """If trove-it is killed outright, DIB gets SIGTERM and runs its own cleanup."""
    import ctypes

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def sweep_stale_work(output: Path) -> list[Path]:
    """Release and remove work directories of builds whose process is gone."""
    swept = []
    for work in output.glob(".*.build-*"):
        pid = work.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or int(pid) == os.getpid() or Path(f"/proc/{pid}").exists():
            continue
        refused = loops.remove_released(work)
        if refused:
            raise UserError(f"an earlier build's work directory is still mounted: {refused}; "
                            f"unmount it by hand (umount -R) before building again")
        swept.append(work)
    return swept


def _stop(process: subprocess.Popen[str]) -> None:
    """Let DIB's own exit handlers unmount, then make sure it is gone."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _run_dib(cmd: list[str], env: dict[str, str], log_path: Path,
             progress: Progress) -> tuple[int, str]:
    started = time.monotonic()
    tail: deque[str] = deque(maxlen=300)
    last_phase = last_script = ""
    with log_path.open("w") as log:
        process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, text=True, errors="replace",
                                   env=env, start_new_session=True,
                                   preexec_fn=_stop_with_parent)
        try:
            assert process.stdout is not None
            for line in process.stdout:
                log.write(line)
                tail.append(line.rstrip("\n"))
                match = _PHASE.search(line)
                if match:
                    last_script = f"{match['phase']}/{match['script']}"
                    if match["phase"] != last_phase:
                        last_phase = match["phase"]
                        minutes, seconds = divmod(int(time.monotonic() - started), 60)
                        progress(f"  {minutes:2d}:{seconds:02d} {last_phase}")
                if time.monotonic() - started > DIB_TIMEOUT:
                    raise TimeoutError
            code = process.wait()
        except TimeoutError:
            _stop(process)
            return -1, f"timed out after {int(DIB_TIMEOUT)} s in {last_script}"
        except BaseException:
            _stop(process)
            raise
    return code, "" if code == 0 else _summary(tail, last_script)


def run(plan: BuildPlan, progress: Progress = _stderr) -> Path:
    """Build the image; returns the artifact path. UserError on any failure."""
    dib = find_dib()
    check_host(plan, dib)
    assert dib is not None
    output = plan.request.output.resolve()
    for stale in sweep_stale_work(output):
        progress(f"removed the work directory of an earlier build that was killed: {stale}")
    work = output / f".{plan.name}.build-{os.getpid()}"
    log_path = output / f"{plan.name}.build.log"
    for role, name in plan.file_roles.items():
        if (output / name).exists():
            progress(f"replacing the existing {role} {output / name}")
    (work / "tmp").mkdir(parents=True, exist_ok=True)
    started = time.time()
    archives = container_archives(plan, progress)
    try:
        cmd = [str(dib), *plan.dib_args, "-o", str(work / plan.name), *plan.elements]
        progress(f"building {plan.name} ({plan.layout} {plan.request.format}, elements: "
                 f"{' '.join(plan.elements)}); log: {log_path}")
        env = dib_environment(plan, dib, work)
        for name, path in archives.items():
            role = "CONTAINER" if name == plan.container_image else "BACKUP"
            env[f"DIB_TROVE_IT_{role}_ARCHIVE"] = str(path)
        code, why = _run_dib(cmd, env, log_path, progress)
        leftovers = loops.release_under(work)
        if code != 0:
            extra = f"; released {len(leftovers)} leftovers" if leftovers else ""
            raise UserError(f"disk-image-create failed (exit {code}): {why}; log: "
                            f"{log_path}{extra}")
        built = {role: work / name for role, name in plan.file_roles.items()}
        missing = [str(p.name) for p in built.values() if not p.exists()]
        if missing:
            raise UserError(f"disk-image-create exited 0 but did not write "
                            f"{', '.join(missing)}; log: {log_path}")
        return _publish(plan, built, output, started, archives)
    finally:
        refused = loops.remove_released(work)
        if refused:
            progress(f"warning: {refused}")


def container_archives(plan: BuildPlan, progress: Progress) -> dict[str, Path]:
    """The ``docker save`` archives of the images built here for the plan
    (made now unless cached), by the name the agent runs each image."""
    from trove_it.containers import build as containers
    from trove_it.containers import recipes

    found = {}
    for name, which in plan.container_recipes.items():
        datastore, kind = which.split("/")
        found[name] = containers.ensure(recipes.recipe(datastore, kind), progress=progress)
    return found


def _publish(plan: BuildPlan, built: dict[str, Path], output: Path, started: float,
             archives: dict[str, Path]) -> Path:
    """Move the files into place, then write the manifest that vouches for them."""
    artifact = output / plan.artifact_name
    stale = manifest.path_for(artifact)
    stale.unlink(missing_ok=True)  # the old manifest would vouch for new files
    entries = {}
    for role, path in built.items():
        target = output / path.name
        os.replace(path, target)
        entries[role] = manifest.entry_for(target)
    from importlib import metadata

    request = plan.request
    env_mirrors = mirrors.for_build(request.distro).environment(request.distro)
    record = manifest.Manifest(
        datastore=request.datastore, version=plan.version, mode=request.mode,
        distro=request.distro, release=plan.release, format=request.format,
        layout=plan.layout, elements=list(plan.elements),
        guest_agent={"source": plan.agent.spec, "kind": plan.agent.kind,
                     "detail": plan.agent.detail},
        guest_user=request.guest_user, dev_mode=request.dev_key is not None,
        dev_key_fingerprint=plan.dev_key_fingerprint, container_image=plan.container_image,
        backup_image=plan.backup_image,
        container_archives={name: {"file": str(path), "sha256": manifest.sha256_file(path)}
                            for name, path in archives.items()},
        files=entries, boot=dict(plan.boot),
        mirrors={k: os.environ.get(k, v) for k, v in env_mirrors.items()},
        built_at=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        build_seconds=round(time.time() - started, 1),
        builder={"diskimage_builder": metadata.version("diskimage-builder"),
                 "host": f"{platform.node()} {platform.platform()}"})
    manifest.write(record, artifact)
    return artifact
