"""``--trove SPEC``: the local cloud runs the Trove a developer points it at.

A Trove checkout is made from the pinned release's sdist (from PyPI), with
one visible change to its code: the API's version document. The cloud runs
it (installed editable in a virtualenv of its own), its API shows the
change, the api scenarios pass on it, and a second edit shows at the next
start. A spec that does not install is one line and leaves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from trove_it.localcloud.lifecycle import trove_env
from trove_it.localcloud.lifecycle.launcher import LocalCloud, cache_dir
from trove_it.tests.conftest import require_engine

REPO = Path(__file__).resolve().parents[2]
RELEASE = "26.0.0"
STOCK = '"updated": "2012-08-01T00:00:00Z"'


def _version_doc(url: str) -> dict[str, str]:
    with urllib.request.urlopen(f"{url}/", timeout=10) as answer:
        data: dict[str, list[dict[str, str]]] = json.load(answer)
    return data["versions"][0]


@pytest.mark.parametrize("spec, kind, value", [
    (None, "installed", ""), ("pypi:25.1.0", "pypi", "25.1.0"),
    ("git:https://opendev.org/openstack/trove@stable/2025.2", "git",
     "https://opendev.org/openstack/trove@stable/2025.2"),
])
def test_specs_parse(spec: str | None, kind: str, value: str) -> None:
    parsed = trove_env.parse(spec)
    assert (parsed.kind, parsed.value) == (kind, value)


def test_git_spec_names_the_ref() -> None:
    spec = trove_env.parse("git:https://opendev.org/openstack/trove@stable/2025.2")
    assert spec.requirement() == ["git+https://opendev.org/openstack/trove@stable/2025.2"
                                  "#egg=trove"]


@pytest.mark.parametrize("spec, says", [
    ("26.0.0", "--trove takes pypi:VERSION, path:DIR or git:URL@REF"),
    ("svn:x", "--trove takes"),
    ("path:/nonexistent-trove", "not a Trove checkout"),
])
def test_bad_specs_are_one_line(spec: str, says: str) -> None:
    with pytest.raises(trove_env.TroveSpecError, match=says):
        trove_env.parse(spec)


@pytest.fixture(scope="module")
def checkout() -> Iterator[Path]:
    """The pinned release's sdist, unpacked in a fixed place (so its virtualenv
    is made once per machine) and committed, then changed."""
    root = cache_dir() / "selftest-trove-checkout"
    sdist_dir = cache_dir() / "selftest-trove-sdist"
    sdist = sdist_dir / f"trove-{RELEASE}.tar.gz"
    if not sdist.exists():
        result = subprocess.run(
            [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--no-binary",
             ":all:", f"trove=={RELEASE}", "-d", str(sdist_dir)],
            capture_output=True, text=True, timeout=300)
        if result.returncode != 0:
            pytest.skip(f"cannot fetch the trove {RELEASE} sdist: {result.stderr[-300:]}")
    shutil.rmtree(root, ignore_errors=True)  # a plain source tree: no mounts
    root.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        for member in archive.getmembers():
            member.name = member.name.split("/", 1)[1] if "/" in member.name else ""
        archive.extractall(root, members=[m for m in archive.getmembers() if m.name],
                           filter="data")
    git = ["git", "-C", str(root), "-c", "user.email=selftest@trove-it", "-c",
           "user.name=trove-it"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "trove sdist"], check=True)
    yield root


def _edit(checkout: Path, updated: str) -> None:
    versions = checkout / "trove" / "versions.py"
    text = versions.read_text()
    assert STOCK in text or '"updated": "' in text
    start = text.index('"updated": "')
    end = text.index('"', start + len('"updated": "'))
    versions.write_text(text[:start] + f'"updated": "{updated}' + text[end:])


def test_a_checkout_runs_and_its_change_shows(checkout: Path) -> None:
    require_engine("mariadb")
    _edit(checkout, "2031-01-01T00:00:00Z")
    spec = f"path:{checkout}"
    cloud = LocalCloud(f"trove-it-checkout-{os.getpid()}", trove=spec)
    try:
        desc = cloud.up()
        assert _version_doc(desc.url)["updated"] == "2031-01-01T00:00:00Z"
        assert desc.trove.startswith(f"trove checkout {checkout} at ")
        assert desc.trove.endswith("(dirty)")
        result = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
             "--datastore=mysql", f"--local-cloud={cloud.name}", f"--trove={spec}",
             "scenarios/test_api.py"], cwd=REPO, capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stdout[-3000:]
        assert f"(default profile, trove checkout {checkout} at " in result.stdout
        # Editable: the next start runs the next edit, with no reinstall.
        cloud.down()
        _edit(checkout, "2032-02-02T00:00:00Z")
        desc = LocalCloud(cloud.name, trove=spec).up()
        assert _version_doc(desc.url)["updated"] == "2032-02-02T00:00:00Z"
    finally:
        LocalCloud(cloud.name).down()


def test_a_trove_that_does_not_install_is_one_line() -> None:
    spec = trove_env.parse("pypi:0.0.0.dev0")
    result = subprocess.run(
        [sys.executable, "-m", "trove_it.cli.main", "cloud", "up", "--name",
         f"trove-it-noinstall-{os.getpid()}", "--trove", spec.text],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "--trove pypi:0.0.0.dev0: pip could not install it" in lines[0]
    assert not (trove_env.venvs_root() / spec.key()).exists(), "a broken virtualenv is left"
