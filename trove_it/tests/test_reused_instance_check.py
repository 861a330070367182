"""The ``--reuse-instance`` check's refusals for an instance that exists but
cannot serve (the unknown id runs end to end in ``test_bad_input``)."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from trove_it.errors import UserError
from trove_it.provisioning import reused_instance
from trove_it.settings import build_settings


def _settings(reuse: str, datastore: str = "mysql") -> Any:
    values = {"reuse_instance": reuse, "datastore": datastore}
    return build_settings(lambda spec: (values.get(spec.name, spec.default),
                                        spec.name in values))


def _member(status: str, datastore: str) -> Any:
    found = SimpleNamespace(id="i-1", status=status, datastore={"type": datastore})
    return SimpleNamespace(trove=SimpleNamespace(instances=SimpleNamespace(
        get=lambda _id: found)))


def test_an_active_instance_of_the_datastore_is_accepted() -> None:
    reused_instance.check(_member("HEALTHY", "mysql"), _settings("i-1"))


@pytest.mark.parametrize("status", ["BUILD", "ERROR", "SHUTDOWN", "RESTART_REQUIRED"])
def test_an_instance_that_is_not_active_is_refused(status: str) -> None:
    with pytest.raises(UserError, match=f"--reuse-instance i-1 is {status}, not ACTIVE"):
        reused_instance.check(_member(status, "mysql"), _settings("i-1"))


def test_an_instance_of_another_datastore_is_refused() -> None:
    with pytest.raises(UserError, match="is a postgresql instance, but the run tests mysql"):
        reused_instance.check(_member("ACTIVE", "postgresql"), _settings("i-1"))
