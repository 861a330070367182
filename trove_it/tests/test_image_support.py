"""The buildable-pairs table: complete, honest, and the same in the code and
in elements/README.md."""

from __future__ import annotations

import pytest

from trove_it import catalogue
from trove_it.images import elements, support


def test_every_datastore_has_an_element_and_a_row() -> None:
    assert set(support.MATRIX) == set(catalogue.DATASTORE_NAMES)
    names = elements.names()
    for datastore in catalogue.DATASTORE_NAMES:
        assert elements.datastore_element(datastore) in names
        assert set(support.MATRIX[datastore]) == set(support.DISTROS)


def test_only_debian_archive_pairs_are_buildable_here() -> None:
    buildable = {(ds, distro) for ds in catalogue.DATASTORE_NAMES for distro in support.DISTROS
                 if support.buildable_here(ds, distro)[0]}
    assert buildable == {("mariadb", "debian"), ("postgresql", "debian"), ("redis", "debian")}


def test_readme_table_is_generated_from_the_matrix() -> None:
    readme = (elements.elements_dir() / "README.md").read_text()
    start, end = "<!-- support-table:start -->\n", "\n<!-- support-table:end -->"
    assert start in readme and end in readme
    table = readme.split(start, 1)[1].split(end, 1)[0]
    assert table == support.markdown_table(), \
        "elements/README.md is stale: regenerate with python -m trove_it.images.support"


@pytest.mark.parametrize("datastore,distro,release,version,message", [
    ("db2", "debian", None, None, "db2 cannot be built on debian: IBM supports Db2"),
    ("mariadb", "debian", "bookworm", "11.4", "debian bookworm ships mariadb 10.11, not 11.4"),
    ("mariadb", "debian", "sid", None, "unknown debian release 'sid'"),
    ("mariadb", "gentoo", None, None, "unknown distro 'gentoo'"),
    ("nosuch", "debian", None, None, "unknown datastore 'nosuch'"),
    ("percona", "debian", None, "5.7", "installs version 8.0 or 8.4 from repo.percona.com"),
])
def test_refusals_say_why(datastore: str, distro: str, release: str | None,
                          version: str | None, message: str) -> None:
    with pytest.raises(support.SupportError, match=message):
        support.resolve(datastore, distro, release, version)


def test_versions_come_from_the_release_or_the_vendor() -> None:
    assert support.resolve("mariadb", "debian", None, None)[1:] == ("bookworm", "10.11")
    assert support.resolve("postgresql", "ubuntu", "jammy", None)[1:] == ("jammy", "14")
    assert support.resolve("mysql", "debian", None, "8.4")[1:] == ("bookworm", "8.4")
    source = support.resolve("mongodb", "centos", None, None)[0]
    assert source.kind == "vendor" and source.url and source.url_env


def test_element_distro_guards_match_the_matrix() -> None:
    """Each datastore element refuses exactly the distributions the matrix does."""
    for datastore in catalogue.DATASTORE_NAMES:
        element = elements.elements_dir() / elements.datastore_element(datastore)
        guard = element / "pre-install.d" / f"01-{element.name}-distro"
        words = guard.read_text().split("trove-it-require-distro", 1)[1].split()
        allowed = set(words[1:])
        expected = {d for d in support.DISTROS
                    if not isinstance(support.MATRIX[datastore][d], support.Unsupported)}
        assert allowed == expected, datastore
