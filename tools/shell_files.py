"""List the project's shell scripts (by ``#!`` line or a ``.sh``/``.bash`` name)
under the given directories, for bashate in ``tox -e pep8``; with ``--bashate``
run it on them, ignoring E006 (long lines) as OpenStack projects do.

Usage: python tools/shell_files.py [--bashate] DIR|FILE...
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

SHEBANG = re.compile(rb"^#!.*\b(ba)?sh\b")
# devstack's settings file is sourced, so it has no #! line (bashate's E005).
SOURCED = ("devstack/settings", "devstack/upgrade/settings")


def shell_files(roots: list[Path]) -> list[Path]:
    found: list[Path] = []
    for root in roots:
        candidates = [root] if root.is_file() else sorted(p for p in root.rglob("*")
                                                          if p.is_file())
        for path in candidates:
            if path.suffix in (".sh", ".bash") or path.as_posix().endswith(SOURCED):
                found.append(path)
                continue
            with path.open("rb") as handle:
                if SHEBANG.match(handle.readline()):
                    found.append(path)
    return found


def main(argv: list[str]) -> int:
    run_bashate = "--bashate" in argv
    roots = [Path(arg) for arg in argv if arg != "--bashate"]
    files = shell_files(roots)
    if not run_bashate:
        print("\n".join(map(str, files)))
        return 0
    result = subprocess.run(["bashate", "--ignore", "E006,E005", *map(str, files)])
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
