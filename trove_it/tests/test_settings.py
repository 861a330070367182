"""Settings: command line over pytest.ini over environment, and one-line errors."""

from __future__ import annotations

from typing import Any

import pytest

from trove_it import catalogue
from trove_it.settings import OPTIONS, OptionSpec, Settings, SettingsError, build_settings


def settings(**given: Any) -> Settings:
    def get(spec: OptionSpec) -> tuple[Any, bool]:
        if spec.name in given:
            return given[spec.name], True
        return spec.default, False

    return build_settings(get)


def test_defaults() -> None:
    s = settings()
    assert s.datastores == ("mysql",)
    assert s.cloud == "local" and s.timeout_scale == 1.0 and s.volume_size == 1
    assert s.prefix == f"trove-it-{s.run_id}-"
    assert not (s.keep or s.keep_on_failure or s.build_image)


def test_datastore_list_and_all() -> None:
    assert settings(datastore="postgresql, mysql").datastores == ("postgresql", "mysql")
    assert settings(datastore="all").datastores == ("mariadb", "mysql", "postgresql")
    assert settings(datastore="all", include_emulated=True).datastores == \
        catalogue.DATASTORE_NAMES
    assert settings(datastore="mysql,mysql").datastores == ("mysql",)


def test_emulated_datastores_only_on_the_local_cloud() -> None:
    assert settings(datastore="redis").datastores == ("redis",)  # emulated, but asked for
    with pytest.raises(SettingsError, match="datastore redis has no guest agent in Trove 26"):
        settings(datastore="mysql,redis", os_cloud="mycloud")
    with pytest.raises(SettingsError, match="--include-emulated needs the local cloud"):
        settings(datastore="all", include_emulated=True, os_cloud="mycloud")
    assert settings(datastore="all", os_cloud="mycloud").datastores == \
        catalogue.AGENT_DATASTORE_NAMES


def test_the_vm_profile_runs_only_what_trove_has_an_agent_for() -> None:
    """Its guests run Trove 26's own agent: no stand-in emulates the rest."""
    assert settings(local_profile="vm", datastore="mariadb,postgresql").local_profile == "vm"
    for given in ({"datastore": "redis"}, {"datastore": "all", "include_emulated": True}):
        with pytest.raises(SettingsError, match="--local-profile=vm runs Trove 26's own guest "
                                                "agent, which has no manager for"):
            settings(local_profile="vm", **given)


def test_catalogue_says_which_datastores_have_a_guest_agent() -> None:
    agents = {d.name for d in catalogue.DATASTORES if d.guest_agent}
    assert agents == {"mysql", "mariadb", "postgresql"}
    assert all(d.emulated for d in catalogue.DATASTORES if d.name not in agents)


def test_os_cloud_implies_existing() -> None:
    s = settings(os_cloud="mycloud")
    assert (s.cloud, s.os_cloud) == ("existing", "mycloud")


def test_existing_uses_os_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OS_CLOUD", "from-env")
    assert settings(cloud="existing").os_cloud == "from-env"


def test_run_id_and_names() -> None:
    s = settings(run_id="ci-42")
    assert s.name("mysql-shared") == "trove-it-ci-42-mysql-shared"


BAD_INPUTS = [
    ({"datastore": "oracle"}, "unknown datastore 'oracle'; choose from"),
    ({"datastore": ""}, "--datastore is empty"),
    ({"cloud": "aws"}, "--cloud must be one of local, existing, devstack"),
    ({"cloud": "existing"}, "--cloud=existing needs a clouds.yaml cloud"),
    ({"timeout_scale": "-1"}, "--timeout-scale must be a number greater than 0"),
    ({"timeout_scale": "fast"}, "--timeout-scale must be a number greater than 0"),
    ({"volume_size": "0"}, "--volume-size must be a whole number of GB"),
    ({"run_id": "Has Spaces"}, "--run-id must be 1-24 lowercase letters"),
    ({"image": "x.qcow2", "build_image": True}, "--image and --build-image exclude"),
    ({"cloud": "local", "os_cloud": "x"}, "--os-cloud names an existing cloud"),
]


@pytest.mark.parametrize(("given", "message"), BAD_INPUTS,
                         ids=[m.split(";")[0][:40] for _, m in BAD_INPUTS])
def test_bad_values_are_one_line(monkeypatch: pytest.MonkeyPatch, given: dict[str, Any],
                                 message: str) -> None:
    monkeypatch.delenv("OS_CLOUD", raising=False)
    with pytest.raises(SettingsError) as raised:
        settings(**given)
    text = str(raised.value)
    assert message in text
    assert "\n" not in text


def test_every_option_has_cli_ini_and_env_names() -> None:
    for spec in OPTIONS:
        assert spec.cli.startswith("--") and spec.ini.startswith("trove_it_")
        assert spec.env == "TROVE_IT_" + spec.name.upper()
        assert spec.help


def test_guest_agent_goes_with_build_image() -> None:
    built = settings(build_image=True, guest_agent="pypi:26.0.0")
    assert built.guest_agent == "pypi:26.0.0"
    with pytest.raises(SettingsError, match="give --build-image too"):
        settings(guest_agent="pypi:26.0.0")
    with pytest.raises(SettingsError, match="--guest-agent: "):
        settings(build_image=True, guest_agent="latest")
