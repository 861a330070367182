"""The validation suite rejects broken images, each with a message naming the
defect, and passes the image they were derived from.

Needs a built image (``TROVE_IT_TEST_IMAGE``, set by ``.ci/image-job``) and
root for loop mounts. Each variant is a copy of that image with one defect
made in place (``trove_it.images.defects``) and its own manifest; the suite
runs on it exactly as a user runs it, minus the boot tests
(``-k "not boot"``): every defect here is visible without booting.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from trove_it.images import defects, manifest

IMAGE = os.environ.get("TROVE_IT_TEST_IMAGE")
REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not IMAGE or os.geteuid() != 0,
    reason="needs a built image in TROVE_IT_TEST_IMAGE and root (the image CI job)")

# defect -> (tests that must fail, words their message must contain), by the
# image's mode: a package-mode image has the server's packages, a container-mode
# one its preloaded images.
COMMON = {
    "no-guest-agent": ({"test_guest_agent_installed_and_enabled"},
                       "guest agent missing: /opt/guest-agent-venv/bin/trove-guestagent"),
    "dev-key-in-non-dev-image": ({"test_no_ssh_key_unless_dev_mode"},
                                 "SSH key in a non-dev image"),
    "agent-not-enabled": ({"test_guest_agent_installed_and_enabled"},
                          "guest agent unit is not enabled at boot"),
    "wrong-datastore-manager": ({"test_guest_agent_configuration"},
                                "sets datastore_manager"),
}
BY_MODE = {
    "package": {"no-datastore-packages": (
        {"test_datastore_packages", "test_engine_service_enabled"},
        "datastore packages missing: mariadb-server")},
    "container": {"no-database-image": ({"test_guest_agent_configuration"},
                                        "is not preloaded in the image's Docker storage")},
}


def _mode() -> str:
    record = manifest.load(Path(str(IMAGE))) if IMAGE else None
    return record.mode if record is not None else "container"


EXPECTED = {**COMMON, **BY_MODE[_mode()]}


def _suite(image: Path, datastore: str, junit: Path) -> tuple[int, dict[str, str], str]:
    """Run the validation suite offline; (exit status, {failed test: message}, output)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_ADDOPTS"}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "--image", str(image), "--datastore", datastore,
         "-m", "image", "-k", "not boot", "-p", "no:cacheprovider", f"--junitxml={junit}",
         "-q"], cwd=REPO, env=env, capture_output=True, text=True, timeout=900)
    failed = {}
    for case in ET.parse(junit).iter("testcase"):
        for problem in list(case.iter("failure")) + list(case.iter("error")):
            name = case.get("name", "").split("[", 1)[0]
            failed[name] = problem.get("message", "") + "\n" + (problem.text or "")
    return result.returncode, failed, result.stdout[-3000:]


@pytest.fixture(scope="module")
def original() -> tuple[Path, manifest.Manifest]:
    image = Path(str(IMAGE)).resolve()
    record = manifest.load(image)
    assert record is not None, f"{image} has no manifest"
    return image, record


@pytest.fixture(scope="module")
def variants(original: tuple[Path, manifest.Manifest],
             tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    image, _ = original
    directory = tmp_path_factory.mktemp("broken-images")
    raw = defects.raw_copy(image, directory)
    try:
        return {defect: defects.derive(image, raw, defect, directory)
                for defect in EXPECTED}
    finally:
        raw.unlink()


def test_the_original_image_passes(original: tuple[Path, manifest.Manifest],
                                   tmp_path: Path) -> None:
    image, record = original
    status, failed, output = _suite(image, record.datastore, tmp_path / "original.xml")
    assert status == 0 and not failed, output


@pytest.mark.parametrize("defect", sorted(EXPECTED))
def test_broken_image_is_rejected_naming_the_defect(
        defect: str, variants: dict[str, Path], original: tuple[Path, manifest.Manifest],
        tmp_path: Path) -> None:
    image = variants[defect]
    record = manifest.load(image)
    assert record is not None and record.derived_from == {
        "image": original[0].name, "defect": defect}
    assert manifest.verify(record, image.parent) == []
    status, failed, output = _suite(image, record.datastore, tmp_path / f"{defect}.xml")
    tests, words = EXPECTED[defect]
    assert status == 1, output
    assert set(failed) == tests, f"expected exactly {tests} to fail, got {set(failed)}"
    for name in tests:
        if name == "test_engine_service_enabled":
            assert "is not enabled at boot" in failed[name]
        else:
            assert words in failed[name], failed[name]
