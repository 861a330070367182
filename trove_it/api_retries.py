"""Idempotent reads ride out transient API failures; everything else fails
with the request and its answers in the report.

A real cloud's API sometimes answers 503 or drops a connection (a proxy
restarting, an API worker recycled). A read can simply be asked again, so
GET and HEAD go out with keystoneauth's own retry settings: connection
failures and 502/503/504 answers are retried with its exponential back-off.
A create, delete or action is never retried: a second POST could make a
second instance. When a request fails for good, ``failed_request_lines``
gives the report the method, URL, status and body, and the retries
keystoneauth made during the test.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

READS = frozenset({"GET", "HEAD"})
RETRIES = 6
"""With 10 % of reads failing, one read in a million fails seven times."""
RETRIABLE_STATUS = [502, 503, 504]
LOGGER = logging.getLogger("trove_it.api_retries")


class _RetryLog(logging.Handler):
    """The retries keystoneauth announces, kept (briefly) for failure reports."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.entries_lock = threading.Lock()
        self.entries: deque[tuple[float, str]] = deque(maxlen=200)

    def emit(self, record: logging.LogRecord) -> None:
        with self.entries_lock:
            self.entries.append((record.created, record.getMessage()))

    def since(self, start: float) -> list[str]:
        with self.entries_lock:
            return [message for when, message in self.entries if when >= start]


RETRY_LOG = _RetryLog()
LOGGER.addHandler(RETRY_LOG)
LOGGER.propagate = False  # keystoneauth's warnings go to the report, not the terminal


def install(session: Any) -> None:
    """Make ``session`` retry idempotent reads (once per session)."""
    if getattr(session, "_trove_it_read_retries", False):
        return
    original = session.request

    def request(url: str, method: str, **kwargs: Any) -> Any:
        if method.upper() in READS:
            kwargs["connect_retries"] = max(kwargs.get("connect_retries") or 0, RETRIES)
            kwargs["status_code_retries"] = max(kwargs.get("status_code_retries") or 0,
                                                RETRIES)
            kwargs["retriable_status_codes"] = RETRIABLE_STATUS
            kwargs["logger"] = LOGGER
        return original(url, method, **kwargs)

    session.request = request
    session._trove_it_read_retries = True


def _http_error(exc: BaseException | None) -> BaseException | None:
    """The first exception in the chain that describes an HTTP request."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if getattr(exc, "http_status", None) is not None or \
                type(exc).__module__.startswith("keystoneauth1"):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def failed_request_lines(exc: BaseException | None, since: float) -> list[str]:
    """The report's section on a request that failed the test, if one did."""
    error = _http_error(exc)
    retries = RETRY_LOG.since(since)
    if error is None and not retries:
        return []
    lines = ["== failed API request =="]
    if error is not None:
        response = getattr(error, "response", None)
        # The request as sent; troveclient fills its errors' method and url
        # fields in an order of its own, so they are a fallback only.
        sent = getattr(response, "request", None)
        method = getattr(sent, "method", None) or getattr(error, "method", None) or "?"
        url = getattr(sent, "url", None) or getattr(error, "url", None) or "?"
        status = getattr(error, "http_status", None)
        body = getattr(response, "text", None) or getattr(error, "details", None) or ""
        answer = f"HTTP {status}" if status is not None else type(error).__name__
        lines.append(f"{method} {url} -> {answer}: {str(error)[:300]}")
        if body:
            lines.append(f"  body: {str(body)[:500]}")
        if str(method).upper() not in READS:
            lines.append("  (not retried: only idempotent reads are)")
    if retries:
        lines.append(f"retries keystoneauth made during the test ({len(retries)}):")
        lines.extend(f"  {message}" for message in retries[-20:])
    return lines

