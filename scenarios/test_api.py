"""API basics: versions, datastores and their versions, flavors, limits.

These need no instance; they check what every other scenario relies on.
"""

from __future__ import annotations

from typing import Any

import pytest

from trove_it.clients import CloudClients
from trove_it.expect import api_error
from trove_it.instances import DatastoreUnderTest

pytestmark = pytest.mark.api


def _root_url(member: CloudClients) -> str:
    endpoint = member.trove_endpoint
    return endpoint.split("/v1.0", 1)[0] + "/"


def test_versions_document(member: CloudClients) -> None:
    response = member.session.get(_root_url(member), authenticated=False, raise_exc=False)
    assert response.status_code in (200, 300)
    versions = response.json()["versions"]
    current = [v for v in versions if v["status"] == "CURRENT"]
    assert [v["id"] for v in current] == ["v1.0"]
    assert all(link["href"] for v in versions for link in v["links"])


def test_datastore_is_listed_with_its_default(member: CloudClients,
                                              datastore: DatastoreUnderTest) -> None:
    listed = {ds.name: ds for ds in member.trove.datastores.list()}
    assert datastore.name in listed
    shown = member.trove.datastores.get(datastore.name)
    assert shown.id == listed[datastore.name].id
    assert member.trove.datastores.get(shown.id).name == datastore.name
    default = shown._info.get("default_version")
    assert default, f"{datastore.name} has no default version"


def test_datastore_version_by_name_and_by_id(member: CloudClients,
                                             datastore: DatastoreUnderTest) -> None:
    versions = {v.name: v for v in member.trove.datastore_versions.list(datastore.name)}
    assert datastore.version in versions
    by_name = member.trove.datastore_versions.get(datastore.name, datastore.version)
    by_id = member.trove.datastore_versions.get_by_uuid(by_name.id)
    assert by_id.name == datastore.version == by_name.name
    assert by_name.id == datastore.setup.version_id


def test_unknown_datastore_and_version(member: CloudClients,
                                      datastore: DatastoreUnderTest) -> None:
    api_error(404, member.trove.datastores.get, "no-such-datastore")
    # Trove 26 maps DatastoreVersionNotFound to 400, not 404.
    error = api_error(400, member.trove.datastore_versions.get, datastore.name,
                      "no-such-version")
    assert "cannot be found" in str(error)


def test_flavors(member: CloudClients, datastore: DatastoreUnderTest) -> None:
    flavors = {str(f.id): f for f in member.trove.flavors.list()}
    assert datastore.setup.flavor_id in flavors
    flavor = member.trove.flavors.get(datastore.setup.flavor_id)
    assert flavor.ram > 0
    api_error(404, member.trove.flavors.get, "no-such-flavor")


def test_limits(member: CloudClients) -> None:
    limits = {limit.verb: limit for limit in member.trove.limits.list()}
    assert "ABSOLUTE" in limits
    absolute: dict[str, Any] = limits["ABSOLUTE"]._info
    for key in ("max_instances", "max_volumes", "max_backups"):
        # -1 is unlimited, as many clouds configure Trove's quotas.
        assert int(absolute[key]) > 0 or int(absolute[key]) == -1, \
            f"{key} is {absolute.get(key)}"


@pytest.mark.requires("configuration")
@pytest.mark.known_bug("Trove 26 answers 500 listing parameters with float bounds "
                       "(int('1.0') in ConfigurationParameterView)", datastores=("cassandra",))
def test_configuration_parameters(member: CloudClients, datastore: DatastoreUnderTest) -> None:
    parameters = {p.name: p for p in member.trove.configuration_parameters.parameters(
        datastore.name, datastore.version)}
    config = datastore.entry.config
    for key in list(config.dynamic) + list(config.non_dynamic):
        assert key in parameters, f"{key} is not a configuration parameter of {datastore.name}"
    for key in config.dynamic:
        assert parameters[key].restart_required is False, f"{key} should be dynamic"
    if config.non_dynamic:
        assert any(parameters[k].restart_required for k in config.non_dynamic), \
            "the non-dynamic group has no parameter that requires a restart"
