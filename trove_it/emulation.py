"""What a run says about the datastores it tests: real or emulated.

Trove 26 ships guest agents for mysql, mariadb and postgresql only. The
other nine datastores run only on the local cloud, whose guest stands in
for the agent Trove lacks; most of them also run on its in-memory engine,
which keeps the API's semantics but has no data to read. A result for an
emulated datastore says how the harness's emulation behaves under Trove's
API and task manager, not how a Trove 26 deployment would: the run header
and summary say so for each one.
"""

from __future__ import annotations

from trove_it import catalogue


def _engine(name: str) -> str | None:
    from trove_it.localcloud.datastores import served

    entry = served(name)
    return entry.engine if entry else None


def describe(name: str, local: bool) -> str:
    """One datastore as the run header lists it."""
    entry = catalogue.get(name)
    engine = _engine(name) if local else None
    if not entry.emulated:
        return name if engine is None else f"{name} (real {engine} engine)"
    if engine == "memory":
        return (f"{name} (emulated: Trove 26 has no {name} guest agent; in-memory engine, "
                f"data tests deselected)")
    return f"{name} (emulated: Trove 26 has no {name} guest agent; real {engine} engine)"


def summary_line(names: tuple[str, ...], local: bool) -> str | None:
    """The summary's reminder, when the run tested emulated datastores."""
    emulated = [n for n in names if catalogue.get(n).emulated]
    if not emulated:
        return None
    return (f"emulated: {', '.join(emulated)}: Trove 26 has no guest agent for "
            f"{'it' if len(emulated) == 1 else 'them'}; these results are of the local "
            f"cloud's emulation, not of a Trove 26 deployment")
