"""``trove-it``: the harness's command line.

Each command group lives in its own module with a ``register(subparsers)``
function; a command function returns the exit status. Errors the user can
fix are one line on stderr and a non-zero status, never a traceback.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Callable, Sequence

from trove_it.cli import cleanup, cloud, devstack, image
from trove_it.errors import UserError

GROUPS: Sequence[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None]] = (
    cloud.register, image.register, cleanup.register, devstack.register)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trove-it", description="Trove integration test harness: local cloud, "
                                     "guest images and cleanup.")
    subparsers = parser.add_subparsers(dest="group", metavar="COMMAND")
    subparsers.required = True
    for register in GROUPS:
        register(subparsers)
    return parser


def _interrupt_on_sigterm() -> None:
    """SIGTERM cleans up as Ctrl-C does: an image build killed by a CI runner's
    timeout must still release its chroot's mounts and loop devices."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, interrupt)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _interrupt_on_sigterm()
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"trove-it: error: {exc}", file=sys.stderr)
        return exc.exit_status
    except KeyboardInterrupt:
        print("trove-it: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
