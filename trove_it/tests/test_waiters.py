"""Waiters: target reached, fail fast, transient API errors, timeouts, messages.

The observed resource is a scripted sequence of states, so each rule is
checked exactly; the polling schedule and tenacity are the real ones.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from typing import Any

import pytest

from trove_it import waiters
from trove_it.timing import LEDGER, WaitLedger


@pytest.fixture(autouse=True)
def _keep_the_ledger_clean() -> Iterator[None]:
    """These scripted waits are not real ones: keep them out of the summary."""
    saved = copy.deepcopy(dict(LEDGER.totals))
    yield
    LEDGER.totals.clear()
    LEDGER.totals.update(saved)
    LEDGER.drain()


class FakeHttpError(Exception):
    def __init__(self, status: int):
        super().__init__(f"HTTP {status}")
        self.http_status = status


class Instance:
    def __init__(self, status: str, operating: str = ""):
        self.id = "i-1"
        self.status = status
        self.operating_status = operating
        self.fault = {"message": "disk is too small", "details": "Traceback...\nBoom: no"} \
            if status == "ERROR" else None


class ScriptedTrove:
    """A Trove client whose instance walks through scripted states."""

    def __init__(self, script: list[Any]):
        self._script: Iterator[Any] = iter(script)
        self._last: Any = None
        self.instances = self

    def get(self, instance_id: str) -> Any:
        step = next(self._script, self._last)
        self._last = step
        if isinstance(step, Exception):
            raise step
        return step


def test_reaches_active_healthy() -> None:
    trove = ScriptedTrove([Instance("BUILD"), Instance("BUILD", "BUILD"),
                           Instance("ACTIVE", "HEALTHY")])
    result = waiters.wait_for_instance(trove, "i-1", timeout=5)
    assert (result.status, result.operating_status) == ("ACTIVE", "HEALTHY")


def test_fails_fast_on_error_with_fault() -> None:
    trove = ScriptedTrove([Instance("BUILD"), Instance("ERROR")])
    start = time.monotonic()
    with pytest.raises(waiters.UnexpectedState) as raised:
        waiters.wait_for_instance(trove, "i-1", timeout=60)
    assert time.monotonic() - start < 5
    message = str(raised.value)
    assert "instance i-1 to become ACTIVE/HEALTHY" in message
    assert "went to ERROR" in message and "disk is too small" in message


def test_timeout_says_what_last_state_and_time() -> None:
    trove = ScriptedTrove([Instance("BUILD")])
    with pytest.raises(waiters.WaitTimeout) as raised:
        waiters.wait_for_instance(trove, "i-1", timeout=1.0)
    message = str(raised.value)
    assert message.startswith("timed out after 1.")
    assert "waiting for instance i-1 to become ACTIVE/HEALTHY" in message
    assert "last state BUILD" in message


def test_transient_server_errors_are_retried() -> None:
    trove = ScriptedTrove([FakeHttpError(503), FakeHttpError(502), Instance("ACTIVE", "HEALTHY")])
    assert waiters.wait_for_instance(trove, "i-1", timeout=5).status == "ACTIVE"


def test_client_errors_are_never_retried() -> None:
    trove = ScriptedTrove([FakeHttpError(403), Instance("ACTIVE", "HEALTHY")])
    with pytest.raises(FakeHttpError):
        waiters.wait_for_instance(trove, "i-1", timeout=5)


def test_too_many_server_errors_end_the_wait() -> None:
    trove = ScriptedTrove([FakeHttpError(500)] * (waiters.TRANSIENT_API_RETRIES + 1))
    with pytest.raises(FakeHttpError):
        waiters.wait_for_instance(trove, "i-1", timeout=10)


def test_notices_change_within_half_a_second() -> None:
    """However long the wait, the change is seen within 0.5 s (the ledger says so)."""
    flips_at = time.monotonic() + 4.0

    class Flipping:
        def __init__(self) -> None:
            self.instances = self

        def get(self, instance_id: str) -> Instance:
            if time.monotonic() >= flips_at:
                return Instance("ACTIVE", "HEALTHY")
            return Instance("BUILD")

    waiters.wait_for_instance(Flipping(), "i-1", timeout=10, operation="restart")
    assert time.monotonic() - flips_at < 0.5
    assert 0.0 < LEDGER.totals["restart"].notice <= 0.5


def test_gone_wait_succeeds_on_404() -> None:
    trove = ScriptedTrove([Instance("SHUTDOWN"), FakeHttpError(404)])
    waiters.wait_for_instance_gone(trove, "i-1", timeout=5)


def test_waits_are_recorded_in_the_ledger() -> None:
    ledger = WaitLedger()
    ledger.record("build", 2.0, notice=0.3)
    ledger.record("build", 3.0, ok=False, notice=0.9)
    assert ledger.totals["build"].count == 2 and ledger.totals["build"].failed == 1
    assert ledger.drain() == [("build", 2.0, True, 0.3), ("build", 3.0, False, 0.9)]
    assert ledger.drain() == []
    # Only successful waits noticed a change; a timed-out one says nothing of it.
    assert ledger.worst_notice() == 0.3
    assert "build" in ledger.lines()[0] and "noticed within 0.30s" in ledger.lines()[0]


def test_timeout_scale_applies_to_waits_without_a_timeout_of_their_own() -> None:
    """--timeout-scale multiplies the default timeout of every operation (600 s for
    a build, here scaled down to about a second) as well as explicit ones."""
    class Stuck:
        def __init__(self) -> None:
            self.instances = self

        def get(self, instance_id: str) -> Instance:
            return Instance("BUILD")

    waiters.scale_timeouts(0.002)
    try:
        started = time.monotonic()
        with pytest.raises(waiters.WaitTimeout, match="timed out after 1"):
            waiters.wait_for_instance(Stuck(), "i-1")
        assert time.monotonic() - started < 3
        with pytest.raises(waiters.WaitTimeout):
            waiters.wait_until("never", lambda: False, timeout=500)
    finally:
        waiters.scale_timeouts(1.0)
