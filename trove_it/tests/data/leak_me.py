"""Run by test_plugin_runs.py: leaks an instance on purpose (no cleanup)."""

from trove_it import waiters
from trove_it.instances import request_instance


def test_leak_an_instance(member, datastore, settings):
    instance = request_instance(member, datastore, settings.name("leaky"))
    waiters.wait_for_instance(member.trove, instance.id)
