"""Which live processes name a given text (a state directory, a run id) in
their command line: how the self-tests prove nothing of a run survives it."""

from __future__ import annotations

import os
from pathlib import Path

from trove_it.localcloud.lifecycle import processes


def processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                errors="replace")
        except OSError:
            continue  # gone meanwhile
        if text in cmdline and processes.alive(int(proc.name)):
            found.append(int(proc.name))
    return found
