"""API basics: versions, datastores and versions, flavors, limits."""

import pytest

pytestmark = pytest.mark.api


def test_datastore_version_is_listed(member, datastore):
    versions = [v.name for v in member.trove.datastore_versions.list(datastore.name)]
    assert datastore.version in versions


def test_shared_instance_is_healthy(member, instance):
    shown = member.trove.instances.get(instance.id)
    assert (shown.status, shown.operating_status) == ("ACTIVE", "HEALTHY")
