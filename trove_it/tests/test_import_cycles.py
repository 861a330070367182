"""No module of ``trove_it`` is part of an import cycle.

A cycle means two modules can only be understood (and changed) together;
the local cloud's runtime hands its drivers their collaborators instead of
letting them import it back.
"""

from __future__ import annotations

from pathlib import Path

import trove_it
from trove_it.tests.import_graph import cycles, import_graph

PACKAGE = Path(trove_it.__file__).resolve().parent


def test_no_module_of_trove_it_is_in_an_import_cycle() -> None:
    found = cycles(import_graph(PACKAGE, skip=("tests",)))
    described = ["; ".join(f"{m.replace('.', '/')}.py" for m in group) for group in found]
    assert not found, "import cycles among: " + " | ".join(described)


def test_the_walker_finds_a_cycle_through_any_kind_of_import(tmp_path: Path) -> None:
    """The walker itself: a cycle made of a function-level import and a
    TYPE_CHECKING import is found, and a plain chain is not a cycle."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.sub import b\n")
    (package / "sub" / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .. import a\n")
    (package / "c.py").write_text("from pkg import a\n")
    graph = import_graph(package)
    assert graph["pkg.c"] == {"pkg", "pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.sub.b"]]
