"""A test whose cleanup fails while a SIGTERM passes through it, replacing
the KeyboardInterrupt; the run must stop anyway (the second test never runs)."""

import time
from pathlib import Path


def test_first(tmp_path: Path) -> None:
    Path(__file__).with_suffix(".started").write_text("")
    try:
        time.sleep(60)
    finally:
        raise RuntimeError("cleanup failed while interrupted")


def test_second() -> None:
    Path(__file__).with_suffix(".second-ran").write_text("")
