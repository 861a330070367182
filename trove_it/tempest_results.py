"""Reading a tempest run's results against the list of failures it may have.

tempest writes its results as subunit; ``subunit2csv`` turns them into rows
of (test id, status). A class whose set-up or tear-down failed
reports a ``setUpClass (module.Class)`` row: it counts as a test of its own,
and the tests its failed set-up kept from running count as failed. Every
failure must be on the expected-failures list, with its reason; a listed
test that passes is reported so the list stays true.
"""

from __future__ import annotations

import csv
import fnmatch
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from trove_it.errors import UserError

FIXTURE_ROW = re.compile(r"^(setUpClass|tearDownClass) \((?P<cls>[\w.]+)\)$")
OUTCOMES = {"success": "passed", "fail": "failed", "skip": "skipped", "xfail": "passed",
            "uxsuccess": "failed"}


@dataclass(frozen=True)
class Expected:
    """A test (or ``fnmatch`` pattern) allowed to fail, why, and whose fault."""

    test: str
    reason: str
    kind: str  # "plugin bug", "trove bug" or "not served"

    def covers(self, test_id: str) -> bool:
        return fnmatch.fnmatchcase(test_id, self.test)


def load_expected(path: Path) -> list[Expected]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
        return [Expected(str(e["test"]), str(e["reason"]), str(e["kind"]))
                for e in data.get("expected_failures", [])]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: not a readable expected-failures list ({exc!r})") from None


@dataclass
class Results:
    outcomes: dict[str, str] = field(default_factory=dict)  # test id -> outcome
    class_failures: list[str] = field(default_factory=list)

    @classmethod
    def from_csv(cls, path: Path, listed: list[str]) -> Results:
        """``listed``: every test id the run selected (``tempest run --list-tests``),
        so tests that a failed set-up kept from running count as failed."""
        results = cls()
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                test_id = row["test"].split("[")[0]
                status = OUTCOMES.get(row["status"], "failed")
                fixture = FIXTURE_ROW.match(test_id)
                if fixture:
                    # its own entry: a tear-down that fails (a leak, a stuck
                    # delete) fails the run even when every test passed
                    results.outcomes[f"{fixture['cls']}.{fixture[1]}"] = status
                    if status == "failed":
                        results.class_failures.append(fixture["cls"])
                    continue
                results.outcomes[test_id] = status
        for test_id in listed:
            results.outcomes.setdefault(test_id, "failed")  # selected, never reported
        return results

    def by_module(self) -> dict[str, Counter[str]]:
        modules: dict[str, Counter[str]] = {}
        for test_id, outcome in sorted(self.outcomes.items()):
            module = test_id.rsplit(".", 2)[0].rsplit(".", 1)[-1]
            modules.setdefault(module, Counter())[outcome] += 1
        return modules


@dataclass(frozen=True)
class Verdict:
    unexpected: list[str]
    excused: list[tuple[str, Expected]]
    stale: list[Expected]

    @property
    def ok(self) -> bool:
        return not self.unexpected


def judge(results: Results, expected: list[Expected]) -> Verdict:
    unexpected, excused = [], []
    for test_id, outcome in sorted(results.outcomes.items()):
        if outcome != "failed":
            continue
        reason = next((e for e in expected if e.covers(test_id)), None)
        if reason is None:
            unexpected.append(test_id)
        else:
            excused.append((test_id, reason))
    stale = [e for e in expected
             if any(e.covers(t) and o == "passed" for t, o in results.outcomes.items())]
    return Verdict(unexpected, excused, stale)


def parse_listing(text: str) -> list[str]:
    """Test ids from ``tempest run --list-tests`` output."""
    return [line.split("[")[0].strip() for line in text.splitlines()
            if line.strip().startswith("trove_tempest_plugin.")]
