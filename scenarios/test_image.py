"""Image validation: ``pytest --image PATH --datastore D -m image``.

Offline checks of the image's file system (what it runs, what it must not
carry), then one boot under QEMU with a NoCloud seed that passes when the
network is up, the datastore engine answers and the guest agent has started.
Each failure names the defect. The boot tests have "boot" in their names,
so ``-k "not boot"`` runs the offline checks alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from trove_it.images import checks, manifest

if TYPE_CHECKING:
    from fixtures.image import ImageUnderTest
    from trove_it.images.boot import BootResult

pytest_plugins = ["fixtures.image"]
pytestmark = pytest.mark.image


def _reject(defects: list[str]) -> None:
    if defects:
        pytest.fail("\n".join(defects), pytrace=False)


# ------------------------------------------------------------------ offline
def test_files_match_manifest(image_under_test: ImageUnderTest) -> None:
    _reject(manifest.verify(image_under_test.record, image_under_test.path.parent))


def test_os_release(image_root: Path, image_under_test: ImageUnderTest) -> None:
    _reject(checks.check_os_release(image_root, image_under_test.expected))


def test_datastore_packages(image_root: Path, image_under_test: ImageUnderTest) -> None:
    _reject(checks.check_datastore_packages(image_root, image_under_test.expected))


def test_engine_service_enabled(image_root: Path, image_under_test: ImageUnderTest) -> None:
    _reject(checks.check_engine_enabled(image_root, image_under_test.expected))


def test_guest_agent_installed_and_enabled(image_root: Path,
                                           image_under_test: ImageUnderTest) -> None:
    _reject(checks.check_guest_agent(image_root, image_under_test.expected))


def test_guest_agent_configuration(image_root: Path, image_under_test: ImageUnderTest) -> None:
    _reject(checks.check_agent_config(image_root, image_under_test.expected))


def test_no_ssh_key_unless_dev_mode(image_root: Path, image_under_test: ImageUnderTest) -> None:
    _reject(checks.check_ssh_keys(image_root, image_under_test.expected))


def test_no_build_leftovers(image_root: Path, image_under_test: ImageUnderTest) -> None:
    _reject(checks.check_leftovers(image_root, image_under_test.expected))


def test_size_within_budget(image_under_test: ImageUnderTest) -> None:
    _reject(checks.check_size(image_under_test.path, image_under_test.expected,
                              image_under_test.extra_files()))


# ------------------------------------------------------------------ boot
def _probe_failed(result: BootResult, what: str) -> None:
    diagnostics = "\n".join(result.report.diagnostics[-20:])
    pytest.fail(f"{what}: {result.summary()}\n--- probe diagnostics ---\n{diagnostics}\n"
                f"--- console (last lines) ---\n{result.console_excerpt()}", pytrace=False)


def test_boot_network_comes_up(booted_guest: BootResult) -> None:
    if booted_guest.report.net.get("status") != "ok":
        _probe_failed(booted_guest, "no network address after boot")


def test_boot_engine_answers(booted_guest: BootResult,
                             image_under_test: ImageUnderTest) -> None:
    engine = booted_guest.report.engine
    if engine.get("status") != "ok":
        _probe_failed(booted_guest, f"the {image_under_test.record.datastore} engine did not "
                                    f"answer")
    if image_under_test.record.mode == "package":
        assert engine.get("version", "").startswith(image_under_test.record.version), \
            f"the engine reports version {engine.get('version')}, built as " \
            f"{image_under_test.record.version}"


def test_boot_guest_agent_starts(booted_guest: BootResult, image_root: Path,
                                 image_under_test: ImageUnderTest) -> None:
    datastore = image_under_test.record.datastore
    managers = checks.agent_managers(image_root)
    if datastore not in managers:
        pytest.skip(f"the image's guest agent has no manager for {datastore} (it knows "
                    f"{', '.join(managers) or 'none'}): it cannot start for this datastore")
    if booted_guest.report.agent.get("status") != "ok":
        _probe_failed(booted_guest, "the guest agent did not start")
