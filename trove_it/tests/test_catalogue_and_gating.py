"""The datastore catalogue's shape, and capability gating."""

from __future__ import annotations

import pytest

from trove_it import catalogue, gating
from trove_it.settings import OptionSpec, Settings, build_settings

SEED = {"cassandra", "couchbase", "couchdb", "db2", "mariadb", "mongodb", "mysql", "percona",
        "postgresql", "pxc", "redis", "vertica"}


def test_all_twelve_datastores() -> None:
    assert set(catalogue.DATASTORE_NAMES) == SEED


@pytest.mark.parametrize("name", sorted(SEED))
def test_entries_are_consistent(name: str) -> None:
    ds = catalogue.get(name)
    assert ds.capabilities <= catalogue.CAPABILITIES
    assert ds.flavor in catalogue.FLAVORS
    assert ds.port > 0
    if ds.has("users"):
        assert ds.users and ds.helper_user, "a datastore with users needs user definitions"
        for user in ds.users:
            assert set(user.databases) <= {d.name for d in ds.databases}
    if ds.has("configuration"):
        assert ds.config.dynamic or ds.config.non_dynamic
        assert ds.config.invalid
    assert set(ds.user_logs).isdisjoint(ds.sys_logs)


def test_trove_26_gates_accounts_to_three_datastores() -> None:
    with_accounts = {n for n in SEED if catalogue.get(n).has("users", "databases", "root")}
    assert with_accounts == {"mysql", "mariadb", "postgresql"}


def test_unknown_datastore_message() -> None:
    with pytest.raises(KeyError, match="unknown datastore 'sybase'"):
        catalogue.get("sybase")


def _settings(**given: object) -> Settings:
    def get(spec: OptionSpec) -> tuple[object, bool]:
        return (given[spec.name], True) if spec.name in given else (spec.default, False)

    return build_settings(get)


def test_gating_reasons() -> None:
    local = _settings()
    assert gating.reason_to_deselect(gating.TestNeeds("mysql", ("backup",)), local) is None
    assert gating.reason_to_deselect(gating.TestNeeds("redis", ("users",)), local) == \
        "redis lacks users"
    assert gating.reason_to_deselect(gating.TestNeeds("vertica", ("backup", "root")),
                                     local) == "vertica lacks backup, root"
    assert gating.reason_to_deselect(gating.TestNeeds(None, image=True), local) == \
        "image validation needs --image or --build-image"
    existing = _settings(os_cloud="somewhere")
    assert gating.reason_to_deselect(gating.TestNeeds("mysql", fault_injection=True),
                                     existing) == "fault injection needs the local cloud"
    vm = _settings(local_profile="vm", datastore="mariadb")
    assert gating.reason_to_deselect(gating.TestNeeds("mariadb", fault_injection=True), vm) \
        == "fault injection needs the local cloud's stand-in guest, not Trove's own agent"
    assert gating.reason_to_deselect(gating.TestNeeds("mariadb", ("backup",)), vm) is None


def test_real_data_tests_are_deselected_only_for_emulated_datastores_on_the_local_cloud(
        ) -> None:
    local, existing = _settings(), _settings(os_cloud="somewhere")
    needs = gating.TestNeeds("cassandra", real_data=True)
    assert gating.reason_to_deselect(needs, local) == \
        "cassandra runs on the local cloud's in-memory engine (no data)"
    assert gating.reason_to_deselect(needs, existing) is None
    for real in ("mysql", "mariadb", "postgresql", "redis"):
        assert gating.reason_to_deselect(gating.TestNeeds(real, real_data=True), local) is None


def test_tests_of_an_absent_capability_run_only_where_it_is_absent() -> None:
    local = _settings()
    needs = gating.TestNeeds("mysql", lacking=("replication",))
    assert gating.reason_to_deselect(needs, local) == \
        "mysql has replication (the test is of its absence)"
    assert gating.reason_to_deselect(gating.TestNeeds("cassandra", lacking=("replication",)),
                                     local) is None


def test_gating_rejects_unknown_capabilities() -> None:
    with pytest.raises(ValueError, match="unknown capability 'telepathy'"):
        gating.reason_to_deselect(gating.TestNeeds("mysql", ("telepathy",)), _settings())


def test_deselection_summary_counts() -> None:
    counts = gating.Deselections()
    for reason in ("redis lacks users", "redis lacks users", "needs --image"):
        counts.add(reason)
    assert list(counts.lines()) == ["   2 deselected: redis lacks users",
                                    "   1 deselected: needs --image"]
    assert counts.total == 3
