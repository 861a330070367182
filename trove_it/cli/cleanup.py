"""``trove-it cleanup``: remove what earlier runs left behind."""

from __future__ import annotations

import argparse


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    subparsers.add_parser("cleanup", help="remove leftovers of earlier runs")
