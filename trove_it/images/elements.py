"""The project's DIB elements, read the way diskimage-builder reads them.

The validation suite derives the packages an image must contain from the
same ``package-installs.yaml`` and ``pkg-map`` files the build used, so the
two cannot drift apart.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

FAMILIES = {"debian": "debian", "ubuntu": "debian", "centos": "redhat"}


def elements_dir() -> Path:
    """``elements/`` of this checkout (TROVE_IT_ELEMENTS overrides it)."""
    override = os.environ.get("TROVE_IT_ELEMENTS")
    if override:
        return Path(override).resolve()
    return Path(__file__).resolve().parents[2] / "elements"


def datastore_element(datastore: str) -> str:
    return f"trove-it-ds-{datastore}"


def names(root: Path | None = None) -> list[str]:
    root = root or elements_dir()
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def _package_installs(element: Path) -> dict[str, Any]:
    path = element / "package-installs.yaml"
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping of package names")
    return data


def _pkg_map(element: Path) -> dict[str, Any]:
    path = element / "pkg-map"
    return json.loads(path.read_text()) if path.exists() else {}


def map_package(pkg_map: dict[str, Any], name: str, distro: str, release: str) -> list[str]:
    """DIB's pkg-map lookup: release, then distro, then family, then default."""
    family = FAMILIES.get(distro, distro)
    for table in (pkg_map.get("release", {}).get(distro, {}).get(release, {}),
                  pkg_map.get("distro", {}).get(distro, {}),
                  pkg_map.get("family", {}).get(family, {}),
                  pkg_map.get("default", {})):
        if name in table:
            return str(table[name]).split()
    return [name]


def _applies(spec: Any, env: dict[str, str]) -> bool:
    """Whether a package-installs entry applies: install phase, not build-only or an
    uninstall, and its ``when`` conditions hold."""
    specs = spec if isinstance(spec, list) else [spec or {}]
    for one in specs:
        if one.get("uninstall") or one.get("build-only"):
            continue
        conditions = one.get("when", [])
        conditions = [conditions] if isinstance(conditions, str) else conditions
        if all(_holds(c, env) for c in conditions):
            return True
    return False


def _holds(condition: str, env: dict[str, str]) -> bool:
    if "!=" in condition:
        key, value = (p.strip() for p in condition.split("!=", 1))
        return env.get(key, "") != value
    key, value = (p.strip() for p in condition.split("=", 1))
    return env.get(key, "") == value


def installed_packages(element: str, distro: str, release: str,
                       env: dict[str, str] | None = None, root: Path | None = None) -> list[str]:
    """The distribution package names an element installs for distro/release."""
    path = (root or elements_dir()) / element
    pkg_map = _pkg_map(path)
    result: list[str] = []
    for name, spec in _package_installs(path).items():
        if _applies(spec, env or {}):
            result += map_package(pkg_map, str(name), distro, release)
    return result


def mapped(element: str, name: str, distro: str, release: str,
           root: Path | None = None) -> list[str]:
    return map_package(_pkg_map((root or elements_dir()) / element), name, distro, release)
