"""Package mirrors for a build, taken from this machine's own apt sources.

A build machine's apt sources are the archive it is known to reach (CI
machines often reach nothing else), so a Debian build on a Debian host uses
the same mirror for the distribution and for the security suite. DIB's
default security host is not reachable from every network, so both
DIB_DISTRIBUTION_MIRROR and DIB_DEBIAN_SECURITY_MIRROR are set together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

APT_DIR = Path("/etc/apt")


@dataclass(frozen=True)
class AptSource:
    uri: str
    suites: tuple[str, ...]


@dataclass(frozen=True)
class Mirrors:
    distribution: str | None
    security: str | None

    def environment(self, distro: str) -> dict[str, str]:
        env: dict[str, str] = {}
        if self.distribution:
            env["DIB_DISTRIBUTION_MIRROR"] = self.distribution
        if distro == "debian" and self.security:
            env["DIB_DEBIAN_SECURITY_MIRROR"] = self.security
        return env


def _strip(uri: str) -> str:
    return uri.rstrip("/")


def parse_one_line(text: str) -> Iterator[AptSource]:
    """Entries of a sources.list file (``deb [opts] URI SUITE COMPONENTS``)."""
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line.startswith("deb "):
            continue
        words = re.sub(r"\[[^\]]*\]", " ", line[4:]).split()
        if len(words) >= 2:
            yield AptSource(_strip(words[0]), (words[1],))


def parse_deb822(text: str) -> Iterator[AptSource]:
    """Entries of a .sources file (deb822 stanzas)."""
    for stanza in re.split(r"\n\s*\n", text):
        fields: dict[str, str] = {}
        key = None
        for raw in stanza.splitlines():
            if raw.startswith("#") or not raw.strip():
                continue
            if raw[0] in " \t" and key:
                fields[key] += " " + raw.strip()
                continue
            key, _, value = raw.partition(":")
            key = key.strip().lower()
            fields[key] = value.strip()
        if "deb" not in fields.get("types", "").split():
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        suites = tuple(fields.get("suites", "").split())
        for uri in fields.get("uris", "").split():
            yield AptSource(_strip(uri), suites)


def host_sources(apt_dir: Path = APT_DIR) -> list[AptSource]:
    sources: list[AptSource] = []
    main = apt_dir / "sources.list"
    if main.is_file():
        sources += parse_one_line(main.read_text(errors="replace"))
    parts = apt_dir / "sources.list.d"
    if parts.is_dir():
        for path in sorted(parts.iterdir()):
            if path.suffix == ".list":
                sources += parse_one_line(path.read_text(errors="replace"))
            elif path.suffix == ".sources":
                sources += parse_deb822(path.read_text(errors="replace"))
    return sources


def choose(sources: Iterable[AptSource]) -> Mirrors:
    """The first archive and the first security archive among the sources."""
    distribution = security = None
    for source in sources:
        is_security = any(s.endswith("-security") or s.endswith("/updates")
                          for s in source.suites)
        if is_security and security is None:
            security = source.uri
        elif not is_security and distribution is None:
            distribution = source.uri
    return Mirrors(distribution, security)


def host_distro(os_release: Path = Path("/etc/os-release")) -> str | None:
    try:
        text = os_release.read_text()
    except OSError:
        return None
    match = re.search(r"^ID=\"?([^\"\n]+)\"?$", text, re.M)
    return match.group(1) if match else None


def for_build(distro: str, apt_dir: Path = APT_DIR,
              os_release: Path = Path("/etc/os-release")) -> Mirrors:
    """The host's mirrors when the host runs the distribution being built;
    otherwise none (DIB's defaults apply)."""
    if distro not in ("debian", "ubuntu") or host_distro(os_release) != distro:
        return Mirrors(None, None)
    return choose(host_sources(apt_dir))
