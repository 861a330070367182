"""Which ISO 9660 writer this host has, for NoCloud seeds and config drives.

Both are small ISO images cloud-init reads by their volume label; any of
genisoimage, mkisofs or xorriso's mkisofs emulation writes them the same way.
"""

from __future__ import annotations

import shutil

INSTALL_HINT = "apt-get install genisoimage"


def writer() -> list[str] | None:
    """The command (and its leading arguments) that writes an ISO, or None."""
    for tool in ("genisoimage", "mkisofs"):
        if shutil.which(tool):
            return [tool]
    if shutil.which("xorriso"):
        return ["xorriso", "-as", "mkisofs"]
    return None
