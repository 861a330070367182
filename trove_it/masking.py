"""Mask passwords and tokens in anything the harness prints or reports.

Known secrets (registered when the harness learns them) are replaced
verbatim; password- and token-like fields are masked by pattern as well, so
a secret the harness never saw (a user password in an API body, say) does
not leak either.
"""

from __future__ import annotations

import re
import threading

MASK = "***"
_PATTERNS = (
    # "password": "x", 'password': 'x', password=x, X-Auth-Token: x ...
    re.compile(r"""(?i)(["']?(?:[a-z_]*password|passwd|pw|secret|token|x-auth-token|"""
               r"""x-subject-token|auth_token)["']?\s*[:=]\s*["']?)([^"'\s,}&]+)"""),
    re.compile(r"(?i)(--password[= ]\s*)(\S+)"),
    re.compile(r"(?i)(://[^:/@\s]+:)([^@/\s]+)(@)"),
)

_known: set[str] = set()
_lock = threading.Lock()


def register_secret(secret: str | None) -> None:
    """Remember a secret so it is masked wherever it appears later."""
    if secret and len(secret) >= 4:
        with _lock:
            _known.add(secret)


def mask(text: str) -> str:
    with _lock:
        known = sorted(_known, key=len, reverse=True)
    for secret in known:
        text = text.replace(secret, MASK)
    for pattern in _PATTERNS:
        if pattern.groups == 3:
            text = pattern.sub(lambda m: f"{m.group(1)}{MASK}{m.group(3)}", text)
        else:
            text = pattern.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return text
