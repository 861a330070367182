"""What pip uses when the project installs into something it builds.

The guest agent's virtualenv in an image and the backup program's in a
container image are installed with the project's pins (``constraints.txt``,
the set the pinned Trove release is tested with), trusting what this host's
pip trusts and looking where it looks.
"""

from __future__ import annotations

from pathlib import Path

from trove_it.images import elements


def constraints_file() -> Path | None:
    """The project's pins, which the guest agent's virtualenv is installed with."""
    path = elements.elements_dir().parent / "constraints.txt"
    return path if path.exists() else None


def pip_settings(environ: dict[str, str]) -> dict[str, str]:
    """What pip inside the image build trusts and where it looks: the CA bundle
    this host's pip uses (a TLS-intercepting network's CA is known here, not in
    the image) and an HTTP(S) index, if this host is pointed at one."""
    env = {}
    for key in ("DIB_TROVE_IT_PIP_CERT", "PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE"):
        value = environ.get(key)
        if value and Path(value).is_file():
            env["DIB_TROVE_IT_PIP_CERT"] = value
            break
    else:
        system = Path("/etc/ssl/certs/ca-certificates.crt")
        if system.is_file():
            env["DIB_TROVE_IT_PIP_CERT"] = str(system)
    index = environ.get("DIB_TROVE_IT_PIP_INDEX_URL") or environ.get("PIP_INDEX_URL", "")
    if index.startswith(("http://", "https://")):
        env["DIB_TROVE_IT_PIP_INDEX_URL"] = index
    return env
