"""The container registry of a ``vm`` cloud (Debian's docker-registry).

Trove's agent asks a registry for its backup image before every backup, and
pulls any image its guest does not hold. Each cloud runs its own registry on
a loopback port, storing into its state directory; the guests reach it at
the gateway (``profiles.VM_REGISTRY``), which is also the name guest images
built for the vm profile preload their images under. ``trove-it image
load`` pushes the images a guest image was built with (``containers.push``).
"""

from __future__ import annotations

import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

from trove_it.localcloud.lifecycle import processes

START_TIMEOUT = 30.0


class RegistryError(RuntimeError):
    """The registry did not start; the message says why."""


def binary() -> str | None:
    return shutil.which("docker-registry")


def missing() -> str | None:
    return None if binary() else "docker-registry (apt-get install docker-registry)"


class Registry:
    def __init__(self, root: Path, port: int):
        self.root = root
        self.port = port

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: warn\n"
            "storage:\n"
            f"  filesystem:\n    rootdirectory: {self.root / 'storage'}\n"
            "  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{self.port}\n")
        command = binary()
        if command is None:
            raise RegistryError(f"the vm profile needs {missing()}")
        process = processes.spawn([command, "serve", str(config)], log=self.root / "registry.log",
                                  pidfile=self.root / "registry.pid")
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RegistryError(f"docker-registry exited ({process.returncode}); see "
                                    f"{self.root / 'registry.log'}")
            try:
                with urllib.request.urlopen(f"{self.url}/v2/", timeout=1):
                    return
            except urllib.error.HTTPError:
                return
            except OSError:
                time.sleep(0.1)
        raise RegistryError(f"docker-registry did not answer on {self.url} within "
                            f"{START_TIMEOUT:.0f} s")

    def stop(self) -> None:
        reap(self.root)


def reap(root: Path) -> None:
    processes.reap_pidfile(root / "registry.pid")
