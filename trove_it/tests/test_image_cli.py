"""``trove-it image``: bad input is one clear line and a non-zero exit, and a
build that fails or is interrupted leaves no loop device, mount or
half-written artifact.

The build-failure tests run the real disk-image-create (a few seconds to a
minute each); they need root, sudo and debootstrap and run when
TROVE_IT_IMAGE_TESTS=1 (the image CI job sets it).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trove_it.images import build, loops
from trove_it.tests.conftest import interruptible

TROVE_IT = [sys.executable, "-m", "trove_it.cli.main"]
HEAVY = os.environ.get("TROVE_IT_IMAGE_TESTS") == "1"


def _cli(*args: str, env: dict[str, str] | None = None,
         timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*TROVE_IT, "image", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def _one_line_error(result: subprocess.CompletedProcess[str], words: str,
                    progress: bool = False) -> None:
    """A non-zero exit whose error is one line (the last); a build may print
    progress lines before it, nothing else may."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("trove-it: error: ")]
    assert errors == lines[-1:], result.stderr
    assert words in errors[0], errors[0]
    assert progress or len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("args,words", [
    (["build", "--datastore", "nosuch"], "unknown datastore 'nosuch'; choose from cassandra"),
    (["build", "--datastore", "db2", "--distro", "debian", "--mode", "package"],
     "db2 cannot be built on debian: IBM supports Db2 on Ubuntu"),
    (["build", "--datastore", "mariadb", "--version", "11.4", "--mode", "package"],
     "debian bookworm ships mariadb 10.11, not 11.4"),
    (["build", "--datastore", "mariadb", "--guest-agent", "git:https://x.example/trove"],
     "needs a ref after the last '@'"),
    (["build", "--datastore", "redis", "--mode", "container"],
     "container mode: Trove 26's guest agent runs only"),
    (["load", "--image", "/nonexistent.qcow2", "--datastore", "mariadb", "--version", "1"],
     "--image /nonexistent.qcow2: no such file"),
    (["activate", "--datastore", "nosuch", "--version", "1"], "unknown datastore 'nosuch'"),
])
def test_bad_input_is_one_line(args: list[str], words: str, tmp_path: Path) -> None:
    _one_line_error(_cli(*args, "--output", str(tmp_path)) if args[0] == "build"
                    else _cli(*args), words)


def test_load_without_a_running_local_cloud(tmp_path: Path) -> None:
    image = tmp_path / "x.qcow2"
    image.write_bytes(b"x")
    result = _cli("load", "--image", str(image), "--datastore", "mariadb", "--version", "1",
                  "--local-cloud", "trove-it-no-such-cloud")
    _one_line_error(result, "the local cloud 'trove-it-no-such-cloud' is not running")


def test_missing_disk_image_create(tmp_path: Path) -> None:
    result = _cli("build", "--datastore", "mariadb", "--output", str(tmp_path),
                  env={"TROVE_IT_DISK_IMAGE_CREATE": str(tmp_path / "nowhere")})
    _one_line_error(result, "disk-image-create not found")
    assert list(tmp_path.iterdir()) == []


def test_disk_image_create_is_found_beside_python_then_on_path(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TROVE_IT_DISK_IMAGE_CREATE", raising=False)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert build.find_dib() is None
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "disk-image-create").write_text("#!/bin/sh\n")
    (bin_dir / "disk-image-create").chmod(0o755)
    monkeypatch.setenv("PATH", str(bin_dir))
    assert build.find_dib() == bin_dir / "disk-image-create"


def _heavy() -> None:
    if not HEAVY:
        pytest.skip("runs the real disk-image-create: set TROVE_IT_IMAGE_TESTS=1")
    if os.geteuid() != 0 or not shutil.which("sudo") or not shutil.which("debootstrap"):
        pytest.skip("needs root, sudo and debootstrap")


def _leftovers(output: Path) -> list[str]:
    found = [p.name for p in output.iterdir() if not p.name.endswith(".build.log")]
    found += loops.mounts_under(output) + loops.loops_backed_under(output)
    return found


def test_failed_build_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    _heavy()
    loops_before = set(Path("/sys/block").glob("loop*/loop/backing_file"))
    result = _cli("build", "--datastore", "mariadb", "--output", str(tmp_path),
                  env={"DIB_DISTRIBUTION_MIRROR": "http://127.0.0.1:9/debian"}, timeout=900)
    _one_line_error(result, "disk-image-create failed (exit 1): E: Failed getting release "
                            "file http://127.0.0.1:9/debian", progress=True)
    assert "log: " in result.stderr and result.stdout == ""
    assert _leftovers(tmp_path) == []
    assert set(Path("/sys/block").glob("loop*/loop/backing_file")) <= loops_before


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupted_build_leaves_nothing(tmp_path: Path, sig: signal.Signals) -> None:
    """Ctrl-C (or a CI runner's SIGTERM) while DIB has its chroot mounted: DIB is
    stopped, its mounts released, the work directory removed; exit status 130."""
    _heavy()
    process = subprocess.Popen([*TROVE_IT, "image", "build", "--datastore", "mariadb",
                                "--output", str(tmp_path), "--no-compress"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=interruptible)
    try:
        log = tmp_path / "trove-it-mariadb-10.11-debian-bookworm.build.log"
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            if log.exists() and "pre-install.d" in log.read_text(errors="replace") \
                    and loops.mounts_under(tmp_path):
                break
            assert process.poll() is None, process.communicate()
            time.sleep(1)
        else:
            pytest.fail("the build never reached pre-install.d")
        process.send_signal(sig)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1] == "trove-it: interrupted"
    assert _leftovers(tmp_path) == []


def test_build_failing_with_its_disk_attached_leaves_nothing(tmp_path: Path) -> None:
    """A root file system too small for the content fails while DIB has the
    image on a loop device and mounted: both are gone afterwards."""
    _heavy()
    cached = build.image_cache() / "debootstrap-debian-bookworm-amd64.tar.gz"
    base = ["--base-image", "cached"] if cached.exists() else []
    result = _cli("build", "--datastore", "mariadb", "--output", str(tmp_path),
                  "--image-size", "2", "--no-compress", *base, timeout=1800)
    _one_line_error(result, "disk-image-create failed", progress=True)
    log = (tmp_path / "trove-it-mariadb-10.11-debian-bookworm.build.log").read_text()
    # Container mode fails in the preload (dockerd's "no space left on
    # device"), package mode while installing (the kernel's capitalised one).
    assert "losetup" in log and "no space left on device" in log.lower()
    assert _leftovers(tmp_path) == []
