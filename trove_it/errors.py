"""Errors a user can fix: shown as one line, with a non-zero exit, no traceback."""

from __future__ import annotations


class UserError(Exception):
    """Something the user can fix; the message says what is wrong and how."""

    exit_status = 2

    def __init__(self, message: str, exit_status: int | None = None):
        super().__init__(message)
        if exit_status is not None:
            self.exit_status = exit_status


class CloudUnreachable(UserError):
    """The target cloud cannot be reached or refuses the credentials."""

    exit_status = 3
