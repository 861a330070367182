"""Which Trove the local cloud runs: the pinned release, or ``--trove SPEC``.

A Trove developer wants to test *their change*, and a Zuul job on a Trove
change wants to test the speculative checkout. SPEC is one of:

- ``pypi:VERSION``: that release from PyPI;
- ``path:DIR``: a Trove checkout, installed editable, so an edit shows at
  the next cloud start;
- ``git:URL@REF``: a branch, tag or commit of a Trove repository.

Without a spec the cloud runs the Trove installed beside the harness (the
pinned ``trove==26.0.0``). Every other spec gets a virtualenv of its own,
made once and cached per spec under ``~/.cache/trove-it/trove-venvs/``:
Trove from the spec plus the few clients the local cloud's engines use. The
harness itself stays importable there through ``PYTHONPATH``. Before a cloud
starts on such a Trove, ``trove_interfaces`` imports every driver against it,
so a Trove the drivers cannot work with is one line naming what is missing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import venv
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock

INSTALLED = "installed"
KINDS = ("pypi", "path", "git")
# What the local cloud imports beyond Trove's own requirements.
SERVER_EXTRAS = ("filelock>=3.12", "PyMySQL>=1.1", "pg8000>=1.30", "redis>=5", "PyYAML>=6")
PIP_TIMEOUT = 1800


class TroveSpecError(ValueError):
    """A spec that cannot name or install a Trove; the message is one line."""


@dataclass(frozen=True)
class TroveSpec:
    kind: str
    value: str = ""

    @property
    def text(self) -> str:
        return INSTALLED if self.kind == INSTALLED else f"{self.kind}:{self.value}"

    def requirement(self) -> list[str]:
        """pip arguments that install this Trove."""
        if self.kind == "pypi":
            return [f"trove=={self.value}"]
        if self.kind == "path":
            return ["-e", self.value]
        url, _, ref = self.value.rpartition("@") if "@" in self.value else (self.value, "", "")
        return [f"git+{url}@{ref}#egg=trove" if ref else f"git+{url}#egg=trove"]

    def key(self) -> str:
        return hashlib.sha256(self.text.encode()).hexdigest()[:12]


def parse(spec: str | None) -> TroveSpec:
    if not spec or spec == INSTALLED:
        return TroveSpec(INSTALLED)
    kind, sep, value = spec.partition(":")
    if not sep or kind not in KINDS or not value:
        raise TroveSpecError(f"--trove takes pypi:VERSION, path:DIR or git:URL@REF, not "
                             f"{spec!r}")
    if kind == "path":
        path = Path(value).expanduser().resolve()
        if not (path / "trove" / "__init__.py").is_file():
            raise TroveSpecError(f"--trove path:{value}: not a Trove checkout (no "
                                 f"trove/__init__.py there)")
        value = str(path)
    return TroveSpec(kind, value)


def venvs_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trove-it" / "trove-venvs"


@dataclass(frozen=True)
class TroveEnv:
    """A Python that imports the Trove of a spec."""

    spec: TroveSpec
    python: Path

    @functools.cache  # noqa: B019 - few envs per process; a cloud start asks twice
    def _probe(self) -> dict[str, str]:
        if self.spec.kind == INSTALLED:  # this very Python: no process to start
            from importlib import metadata

            return {"version": metadata.version("trove"), "path": ""}
        code = ("import json, importlib.metadata as m, trove, pathlib; "
                "print(json.dumps({'version': m.version('trove'), "
                "'path': str(pathlib.Path(trove.__file__).parents[1])}))")
        result = subprocess.run([str(self.python), "-c", code], capture_output=True, text=True,
                                timeout=120)
        if result.returncode != 0:
            raise TroveSpecError(f"--trove {self.spec.text}: its Trove does not import: "
                                 f"{_last_line(result.stderr)}")
        data: dict[str, str] = json.loads(result.stdout)
        return data

    def version(self) -> str:
        return self._probe()["version"]

    def describe(self) -> str:
        """The version, or the checkout's commit and whether it is dirty."""
        probe = self._probe()
        if self.spec.kind != "path":
            return f"trove {probe['version']}" + ("" if self.spec.kind == INSTALLED
                                                  else f" ({self.spec.text})")
        return f"trove checkout {self.spec.value} {_commit(Path(self.spec.value))}"

    def fingerprint(self) -> str:
        """What the bootstrapped database depends on: the version, and for a
        checkout its commit and the state of its migrations."""
        probe = self._probe()
        digest = hashlib.sha256(probe["version"].encode())
        if self.spec.kind == "path":
            migrations = Path(self.spec.value) / "trove" / "db"
            for path in sorted(migrations.rglob("*.py")):
                digest.update(path.read_bytes())
        return digest.hexdigest()[:16]


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:240] if lines else "no output"


def _commit(path: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, timeout=30)
        dirty = subprocess.run(["git", "-C", str(path), "status", "--porcelain"],
                               capture_output=True, text=True, timeout=30)
    except OSError:
        return "(not a git checkout)"
    if head.returncode != 0:
        return "(not a git checkout)"
    return f"at {head.stdout.strip()}" + (" (dirty)" if dirty.stdout.strip() else " (clean)")


def ensure(spec: TroveSpec) -> TroveEnv:
    """The environment of ``spec``, made first if this machine has none yet."""
    if spec.kind == INSTALLED:
        return TroveEnv(spec, Path(sys.executable))
    root = venvs_root() / spec.key()
    root.parent.mkdir(parents=True, exist_ok=True)
    python = root / "bin" / "python"
    with FileLock(str(root.parent / f".{spec.key()}.lock")):
        done = root / ".trove-it-ready"
        if not done.exists():
            venv.EnvBuilder(with_pip=True, clear=True).create(root)
            env = dict(os.environ)
            if spec.kind == "path":
                # pbr reads the version from git; a tree unpacked from an sdist has none.
                env.setdefault("PBR_VERSION", _sdist_version(Path(spec.value)) or "0.0.0")
            result = subprocess.run(
                [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                 *spec.requirement(), *SERVER_EXTRAS],
                capture_output=True, text=True, env=env, timeout=PIP_TIMEOUT)
            if result.returncode != 0:
                shutil.rmtree(root, ignore_errors=True)  # a venv holds no mounts
                raise TroveSpecError(f"--trove {spec.text}: pip could not install it: "
                                     f"{_last_line(result.stderr or result.stdout)}")
            done.write_text(spec.text)
    return TroveEnv(spec, python)


def _sdist_version(path: Path) -> str | None:
    info = path / "PKG-INFO"
    if not info.is_file():
        return None
    for line in info.read_text(errors="replace").splitlines():
        if line.startswith("Version:"):
            return line.split(":", 1)[1].strip()
    return None


def check_interfaces(env: TroveEnv, repo_root: Path) -> None:
    """Import the local cloud's drivers against this Trove; one line if they cannot."""
    if env.spec.kind == INSTALLED:
        return
    environ = dict(os.environ, PYTHONPATH=str(repo_root), PYTHONWARNINGS="ignore")
    result = subprocess.run(
        [str(env.python), "-m", "trove_it.localcloud.lifecycle.trove_interfaces"],
        capture_output=True, text=True, env=environ, timeout=300)
    if result.returncode != 0:
        raise TroveSpecError(f"--trove {env.spec.text}: the local cloud's drivers cannot "
                             f"work with this Trove: {_last_line(result.stdout + result.stderr)}")
