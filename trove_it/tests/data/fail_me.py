"""Run by test_plugin_runs.py: fails with an instance in play."""


def test_fails_with_an_instance(instance_factory):
    own = instance_factory("failing")
    assert own.status == "SOMETHING ELSE", "deliberate failure: the dossier must explain it"
