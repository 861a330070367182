"""``--api-faults RATE[:METHODS[:KINDS]]``: transient failures on a share of
the local cloud's Trove API requests, to prove the suite rides them out.

``0.1`` fails 10 % of reads (GET and HEAD) with a 503 or a dropped
connection; ``1:POST:503`` answers every create and action with 503. The
harness retries idempotent reads through keystoneauth's own retry settings
(``read_retries``) and never retries a create, delete or action: such a
failure fails the test, whose report names the request and its answers.
"""

from __future__ import annotations

from dataclasses import dataclass

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
KINDS = ("503", "drop")
READS = ("GET", "HEAD")


class ApiFaultsError(ValueError):
    """A bad ``--api-faults`` value; the message is the user's one line."""


@dataclass(frozen=True)
class ApiFaults:
    rate: float
    methods: tuple[str, ...] = READS
    kinds: tuple[str, ...] = KINDS

    def body(self) -> dict[str, object]:
        """What the local cloud's control endpoint takes."""
        return {"rate": self.rate, "methods": list(self.methods), "kinds": list(self.kinds)}

    def describe(self) -> str:
        return (f"{self.rate:.0%} of Trove API {'/'.join(self.methods)} requests fail "
                f"({' or '.join('dropped connection' if k == 'drop' else k for k in self.kinds)})")


def parse(spec: str) -> ApiFaults:
    parts = str(spec).strip().split(":")
    usage = ("--api-faults takes RATE[:METHODS[:KINDS]], e.g. 0.1 or 0.2:GET,POST:503 (RATE "
             f"between 0 and 1, METHODS from {','.join(METHODS)}, KINDS from {','.join(KINDS)})")
    if not parts[0] or len(parts) > 3:
        raise ApiFaultsError(f"{usage}, not {spec!r}")
    try:
        rate = float(parts[0])
    except ValueError:
        raise ApiFaultsError(f"{usage}, not {spec!r}") from None
    if not 0 < rate <= 1:
        raise ApiFaultsError(f"{usage}, not {spec!r}")
    methods = _names(parts[1], METHODS, usage, spec) if len(parts) > 1 else READS
    kinds = _names(parts[2], KINDS, usage, spec) if len(parts) > 2 else KINDS
    return ApiFaults(rate, methods, kinds)


def _names(text: str, allowed: tuple[str, ...], usage: str, spec: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip().upper() if n.strip().upper() in allowed else
                                n.strip().lower() for n in text.split(",") if n.strip()))
    if not names or any(n not in allowed for n in names):
        raise ApiFaultsError(f"{usage}, not {spec!r}")
    return names
