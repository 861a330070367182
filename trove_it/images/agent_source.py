"""Where the guest agent in an image comes from: ``pypi:VERSION``,
``path:DIR`` or ``git:URL@REF``.

The same string goes to the guest-agent element (``DIB_TROVE_IT_GUEST_AGENT``),
which turns it into DIB's install type and source-repositories overrides, so
this module only validates it and says what the manifest records.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

DEFAULT = "pypi:26.0.0"
_VERSION = re.compile(r"^[0-9][0-9A-Za-z.+!-]*$")


class AgentSourceError(ValueError):
    """A bad --guest-agent value; the message is one line."""


@dataclass(frozen=True)
class AgentSource:
    kind: str
    """pypi, path or git."""
    spec: str
    """The value passed to the element (paths made absolute)."""
    detail: str
    """What the manifest records beyond the spec (a git commit, for a checkout)."""

    @property
    def needs_source_repositories(self) -> bool:
        return self.kind == "git"

    @property
    def pypi_version(self) -> str | None:
        return self.spec.removeprefix("pypi:") if self.kind == "pypi" else None


def _git_head(path: Path) -> str:
    try:
        result = subprocess.run(["git", "-C", str(path), "rev-parse", "HEAD"],
                                capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


def parse(value: str | None) -> AgentSource:
    """Validate a --guest-agent value; raise AgentSourceError with one line."""
    value = (value or DEFAULT).strip()
    kind, sep, rest = value.partition(":")
    if not sep or not rest:
        raise AgentSourceError(f"--guest-agent must be pypi:VERSION, path:DIR or git:URL@REF, "
                               f"not '{value}'")
    if kind == "pypi":
        if not _VERSION.match(rest):
            raise AgentSourceError(f"--guest-agent pypi:VERSION needs a release number such "
                                   f"as 26.0.0, not '{rest}'")
        return AgentSource("pypi", f"pypi:{rest}", f"trove=={rest} from PyPI")
    if kind == "path":
        path = Path(rest).expanduser().resolve()
        if not path.is_dir():
            raise AgentSourceError(f"--guest-agent path:{rest}: no such directory")
        if not (path / "setup.cfg").exists() and not (path / "pyproject.toml").exists():
            raise AgentSourceError(f"--guest-agent path:{rest} is not a Python project "
                                   f"(no setup.cfg or pyproject.toml)")
        head = _git_head(path)
        detail = f"checkout {path} at {head}" if head else f"source tree {path}"
        return AgentSource("path", f"path:{path}", detail)
    if kind == "git":
        url, at, ref = rest.rpartition("@")
        if not at or not url or not ref or ":" in ref:
            raise AgentSourceError(f"--guest-agent git:URL@REF needs a ref after the last "
                                   f"'@' (a branch, tag or commit), not '{rest}'")
        return AgentSource("git", f"git:{url}@{ref}", f"{url} at {ref}")
    raise AgentSourceError(f"--guest-agent must start with pypi:, path: or git:, not "
                           f"'{kind}:'")
