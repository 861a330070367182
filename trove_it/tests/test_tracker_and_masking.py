"""Cleanup order and keep policies; masking of secrets."""

from __future__ import annotations

import functools

from trove_it.masking import MASK, mask, register_secret
from trove_it.tracker import KeepPolicy, Tracker


def _tracker(policy: KeepPolicy, log: list[str]) -> Tracker:
    tracker = Tracker("t", policy)
    for name in ("first", "second", "third"):
        tracker.add("instance", name, name, functools.partial(log.append, name))
    return tracker


def test_cleanup_is_last_in_first_out() -> None:
    log: list[str] = []
    report = _tracker(KeepPolicy(), log).cleanup()
    assert log == ["third", "second", "first"]
    assert [r.id for r in report.deleted] == ["third", "second", "first"]


def test_keep_all_deletes_nothing_and_says_so() -> None:
    log: list[str] = []
    report = _tracker(KeepPolicy(keep_all=True), log).cleanup()
    assert log == [] and len(report.kept) == 3
    assert report.lines()[0].startswith("kept instance third")


def test_keep_on_failure_only_when_failed() -> None:
    log: list[str] = []
    assert _tracker(KeepPolicy(keep_on_failure=True), log).cleanup(failed=False).deleted
    log.clear()
    report = _tracker(KeepPolicy(keep_on_failure=True), log).cleanup(failed=True)
    assert log == [] and len(report.kept) == 3


def test_reused_instance_is_never_deleted() -> None:
    log: list[str] = []
    report = _tracker(KeepPolicy(protected=frozenset({"second"})), log).cleanup()
    assert log == ["third", "first"] and [r.id for r in report.kept] == ["second"]


def test_a_failing_delete_does_not_stop_the_others() -> None:
    log: list[str] = []
    tracker = Tracker("t", KeepPolicy())
    tracker.add("instance", "a", "a", lambda: log.append("a"))

    def boom() -> None:
        raise RuntimeError("password=hunter22 rejected")

    tracker.add("instance", "b", "b", boom)
    report = tracker.cleanup()
    assert log == ["a"]
    assert "could not delete instance b" in report.lines()[0]
    assert "hunter22" not in report.lines()[0]


def test_forget() -> None:
    log: list[str] = []
    tracker = _tracker(KeepPolicy(), log)
    tracker.forget("second")
    tracker.cleanup()
    assert log == ["third", "first"]


def test_masking_by_pattern_and_by_registration() -> None:
    assert "s3cret" not in mask('{"password": "s3cret", "name": "u"}')
    assert "tok123" not in mask("X-Auth-Token: tok123")
    assert "pw9" not in mask("mysql://user:pw9@host/db")
    assert mask("root_password=abc") == f"root_password={MASK}"
    register_secret("correct-horse-battery")
    assert mask("the value correct-horse-battery leaked") == f"the value {MASK} leaked"
    assert mask("nothing secret here") == "nothing secret here"
