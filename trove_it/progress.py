"""Live progress of long waits on the terminal, even while output is captured.

Waiters call the returned function every ten seconds of a wait; under
pytest-xdist a worker has no terminal, so there is none (its waits still
show in the summary).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from trove_it.masking import mask


def terminal_progress(config: Any) -> Callable[[str], None] | None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is None or hasattr(config, "workerinput"):
        return None

    def write(message: str) -> None:
        if capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(f"trove-it: {mask(message)}")
        else:
            reporter.write_line(f"trove-it: {mask(message)}")

    return write
