"""``trove-it image``: build, inspect, boot, load and activate guest images."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser("image", help="build, load and validate guest images")
    commands = parser.add_subparsers(dest="command", metavar="ACTION")
    commands.required = True
