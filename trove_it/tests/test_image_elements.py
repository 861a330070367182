"""The DIB elements follow DIB's conventions (dib-lint, READMEs, valid maps,
executable phase scripts) and their shell logic does what the Python side
assumes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from trove_it.images import elements

ROOT = elements.elements_dir()
PHASES = ("root.d", "extra-data.d", "pre-install.d", "install.d", "post-install.d",
          "finalise.d", "cleanup.d", "bin")


def _dib_elements() -> set[str]:
    import diskimage_builder

    return {p.name for p in (Path(diskimage_builder.__file__).parent / "elements").iterdir()
            if p.is_dir()}


def _scripts() -> list[Path]:
    found = []
    for element in elements.names():
        for phase in PHASES:
            found += [p for p in (ROOT / element / phase).rglob("*") if p.is_file()]
    return sorted(found)


def test_every_element_has_a_readme_and_known_dependencies() -> None:
    known = set(elements.names()) | _dib_elements()
    for element in elements.names():
        assert (ROOT / element / "README.rst").is_file(), element
        deps = (ROOT / element / "element-deps").read_text().split()
        assert deps, element
        assert not set(deps) - known, f"{element} depends on unknown {set(deps) - known}"


def test_maps_and_package_lists_parse() -> None:
    for element in elements.names():
        path = ROOT / element
        if (path / "pkg-map").exists():
            assert isinstance(json.loads((path / "pkg-map").read_text()), dict)
        if (path / "package-installs.yaml").exists():
            assert isinstance(yaml.safe_load((path / "package-installs.yaml").read_text()),
                              dict)
        if (path / "svc-map").exists():
            assert isinstance(yaml.safe_load((path / "svc-map").read_text()), dict)


def test_phase_scripts_are_executable_bash_that_parses() -> None:
    scripts = _scripts()
    assert len(scripts) > 30
    for script in scripts:
        assert os.access(script, os.X_OK), f"{script} is not executable"
        assert script.read_text().startswith("#!/bin/bash"), script
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script}: {result.stderr}"


def test_dib_lint_passes(tmp_path: Path) -> None:
    """DIB's own linter over a copy of the elements (it reads git and wants .rst docs,
    so it gets a throwaway repository without the top-level README.md)."""
    if shutil.which("git") is None:
        pytest.skip("dib-lint needs git")
    copy = tmp_path / "elements"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns("README.md"))
    (tmp_path / "lib").mkdir()
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    env = dict(os.environ, ELEMENTS_DIR="elements", LIB_DIR="lib",
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    result = subprocess.run([str(Path(sys.executable).parent / "dib-lint")], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=600)
    errors = [line for line in result.stdout.splitlines() if "ERROR" in line]
    assert result.returncode == 0 and "PASS" in result.stdout, "\n".join(errors[:20])


def test_package_lists_map_per_distribution() -> None:
    assert elements.installed_packages("trove-it-ds-mariadb", "debian", "bookworm") == \
        ["mariadb-server", "mariadb-client", "mariadb-backup"]
    assert elements.installed_packages("trove-it-ds-mariadb", "centos", "9-stream") == \
        ["mariadb-server", "mariadb", "mariadb-backup"]
    assert elements.installed_packages("trove-it-ds-redis", "centos", "9-stream") == ["redis"]
    java = elements.installed_packages("trove-it-ds-cassandra", "debian", "bookworm",
                                       {"DIB_TROVE_IT_DATASTORE_VERSION": "5.0"})
    assert java == ["cassandra", "openjdk-17-jre-headless"]


def _agent_env(value: str) -> dict[str, str]:
    """Source the guest-agent element's environment.d with DIB_TROVE_IT_GUEST_AGENT."""
    script = ROOT / "trove-it-guest-agent/environment.d/10-trove-it-guest-agent.bash"
    shell = (f"source {script} || exit 3; env | grep -E "
             f"'^(DIB_INSTALLTYPE|DIB_REPO|TROVE_IT_AGENT)' | sort")
    result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True,
                            env={"PATH": os.environ["PATH"], "DIB_TROVE_IT_GUEST_AGENT": value})
    if result.returncode:
        return {"error": result.stderr.strip()}
    return dict(line.split("=", 1) for line in result.stdout.splitlines())


def test_agent_source_becomes_install_type_and_repository_overrides() -> None:
    assert _agent_env("pypi:26.0.0")["DIB_INSTALLTYPE_trove_it_guest_agent"] == "pypi"
    assert _agent_env("pypi:26.0.0")["TROVE_IT_AGENT_PYPI_VERSION"] == "26.0.0"
    git = _agent_env("git:git@example.org:org/trove.git@stable/2025.1")
    assert git["DIB_INSTALLTYPE_trove_it_guest_agent"] == "source"
    assert git["DIB_REPOLOCATION_trove_it_guest_agent"] == "git@example.org:org/trove.git"
    assert git["DIB_REPOREF_trove_it_guest_agent"] == "stable/2025.1"
    assert _agent_env("path:/src/trove")["TROVE_IT_AGENT_PATH"] == "/src/trove"
    assert "must be pypi:VERSION" in _agent_env("path:relative/dir")["error"]
    assert "must be pypi:VERSION" in _agent_env("svn:whatever")["error"]
