"""Every harness option, read once into one typed settings object.

Each option can be given on the command line, in ``pytest.ini`` (as
``trove_it_<name>``) or in the environment (as ``TROVE_IT_<NAME>``), in that
order of precedence. A bad value is a usage error of one line that says
what is allowed.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trove_it import upgrade_state
from trove_it.api_faults import ApiFaults, ApiFaultsError
from trove_it.api_faults import parse as parse_api_faults
from trove_it.catalogue import AGENT_DATASTORE_NAMES, BY_NAME, DATASTORE_NAMES
from trove_it.images import agent_source
from trove_it.localcloud.lifecycle import profiles, trove_env
from trove_it.localcloud.lifecycle.layout import cloud_name_problem

CLOUD_KINDS = ("local", "existing", "devstack")
RUN_ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,23}$")


class SettingsError(ValueError):
    """A bad option value; the message is the one line shown to the user."""


@dataclass(frozen=True)
class OptionSpec:
    name: str
    help: str
    default: Any = None
    flag: bool = False
    metavar: str | None = None

    @property
    def cli(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def ini(self) -> str:
        return f"trove_it_{self.name}"

    @property
    def env(self) -> str:
        return f"TROVE_IT_{self.name.upper()}"


OPTIONS: tuple[OptionSpec, ...] = (
    OptionSpec("datastore", "datastore(s) to test: a name, a comma list, or 'all' (the "
               "three Trove 26 has guest agents for)", "mysql", metavar="NAME[,NAME]|all"),
    OptionSpec("include_emulated", "with --datastore=all, also the nine datastores Trove 26 "
               "has no guest agent for, which only the local cloud emulates", False,
               flag=True),
    OptionSpec("datastore_version", "datastore version (default: the datastore's default)",
               metavar="VERSION"),
    OptionSpec("cloud", "target: 'local' (embedded cloud, the default), 'existing' "
               "(a clouds.yaml cloud) or 'devstack'", "local", metavar="KIND"),
    OptionSpec("os_cloud", "clouds.yaml cloud to test (implies --cloud=existing; OS_CLOUD "
               "is used when --cloud=existing is given without it)", metavar="NAME"),
    OptionSpec("os_cloud_admin", "clouds.yaml cloud with admin credentials "
               "(default: <os-cloud>-admin, or devstack-admin on devstack)", metavar="NAME"),
    OptionSpec("os_cloud_alt", "clouds.yaml cloud of a second non-admin project for "
               "cross-tenant checks (default: <os-cloud>-alt, or devstack-alt-member)",
               metavar="NAME"),
    OptionSpec("local_cloud", "name of a local cloud to start or share (default: a cloud "
               "of the run's own, or the 'trove-it cloud up' one)", "trove-it-local",
               metavar="NAME"),
    OptionSpec("local_profile", "how the local cloud is deployed: 'default', "
               "'production' (management network, zone az-1, unlimited quotas, boot from "
               "volume, a default volume type) or 'vm' (QEMU guests running Trove's own "
               "agent; needs --image or --build-image)", "default", metavar="PROFILE"),
    OptionSpec("trove", "the Trove the local cloud runs: pypi:VERSION, path:DIR (a "
               "checkout, installed editable) or git:URL@REF (default: the pinned release)",
               metavar="SPEC"),
    OptionSpec("network", "network(s) for test instances, by name or id (a comma list; "
               "default: Trove's, or the tenant network of a production-profile local "
               "cloud)", metavar="NAME|ID[,...]"),
    OptionSpec("availability_zone", "availability zone for test instances (default: the "
               "cloud's)", metavar="ZONE"),
    OptionSpec("volume_type", "volume type for test instances (default: Trove's "
               "cinder_volume_type)", metavar="TYPE"),
    OptionSpec("image", "guest image to use: a file to load, or a Glance image id",
               metavar="PATH|ID"),
    OptionSpec("build_image", "build the datastore's guest image from elements/ first",
               False, flag=True),
    OptionSpec("guest_agent", "with --build-image: where the image's Trove guest agent "
               "comes from, pypi:VERSION, path:DIR (a Trove checkout) or git:URL@REF "
               "(default: the pinned release)", metavar="SPEC"),
    OptionSpec("flavor", "flavor for test instances (default: the datastore's test flavor)",
               metavar="NAME|ID"),
    OptionSpec("volume_size", "volume size of test instances in GB", "1", metavar="GB"),
    OptionSpec("keep", "delete nothing the run created", False, flag=True),
    OptionSpec("keep_on_failure", "keep the resources of failed tests and say how to reach "
               "them", False, flag=True),
    OptionSpec("reuse_instance", "run against this existing instance instead of creating "
               "the shared one (never deleted)", metavar="ID"),
    OptionSpec("timeout_scale", "multiply every wait's timeout by this factor", "1.0",
               metavar="F"),
    OptionSpec("run_id", "id that prefixes every resource name (default: random)",
               metavar="ID"),
    OptionSpec("devstack_dir", "devstack checkout to provision with --provision "
               "(--cloud=devstack)", metavar="DIR"),
    OptionSpec("provision", "with --cloud=devstack: render local.conf into --devstack-dir and "
               "run stack.sh before testing", False, flag=True),
    OptionSpec("upgrade_phase", "run one upgrade-survival phase (grenade's): create, "
               "verify, verify_noapi or destroy", metavar="PHASE"),
    OptionSpec("upgrade_side", "which side of the upgrade the phase runs on: pre or post",
               "pre", metavar="SIDE"),
    OptionSpec("upgrade_state", "file the upgrade phases record their resources in "
               "(default: ~/.cache/trove-it/upgrade-state.json)", metavar="FILE"),
    OptionSpec("api_faults", "local cloud only: fail this share of Trove API requests "
               "with a 503 or a dropped connection (default methods GET,HEAD)",
               metavar="RATE[:METHODS[:KINDS]]"),
)


@dataclass(frozen=True)
class Settings:
    datastores: tuple[str, ...]
    include_emulated: bool
    datastore_version: str | None
    cloud: str
    os_cloud: str | None
    os_cloud_admin: str | None
    os_cloud_alt: str | None
    local_cloud: str
    local_profile: str
    trove: str
    networks: tuple[str, ...]
    availability_zone: str | None
    volume_type: str | None
    image: str | None
    build_image: bool
    guest_agent: str | None
    flavor: str | None
    volume_size: int
    keep: bool
    keep_on_failure: bool
    reuse_instance: str | None
    timeout_scale: float
    run_id: str
    api_faults: ApiFaults | None = None
    devstack_dir: Path | None = None
    provision: bool = False
    upgrade_phase: str | None = None
    upgrade_side: str = "pre"
    upgrade_state: Path = field(default_factory=upgrade_state.default_path)
    explicit: frozenset[str] = field(default_factory=frozenset)

    @property
    def prefix(self) -> str:
        """Every resource this run creates is named with this prefix."""
        return f"trove-it-{self.run_id}-"

    def name(self, purpose: str) -> str:
        return f"{self.prefix}{purpose}"



def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def parse_datastores(value: str, include_emulated: bool = False) -> tuple[str, ...]:
    """Names from ``--datastore``; 'all' is the datastores Trove 26 has guest
    agents for, and every datastore with ``include_emulated``."""
    names = [part.strip().lower() for part in str(value).split(",") if part.strip()]
    if not names:
        raise SettingsError("--datastore is empty; give a datastore name, a comma list or 'all'")
    if names == ["all"]:
        return DATASTORE_NAMES if include_emulated else AGENT_DATASTORE_NAMES
    unknown = [n for n in names if n not in DATASTORE_NAMES]
    if unknown:
        raise SettingsError(f"unknown datastore '{unknown[0]}'; choose from "
                            f"{', '.join(DATASTORE_NAMES)}, or 'all'")
    return tuple(dict.fromkeys(names))


def _refuse_emulated_off_the_local_cloud(datastores: tuple[str, ...],
                                         include_emulated: bool) -> None:
    if include_emulated:
        raise SettingsError("--include-emulated needs the local cloud: only its guest "
                            "emulates the datastores Trove 26 has no guest agent for")
    emulated = [name for name in datastores if not BY_NAME[name].guest_agent]
    if emulated:
        raise SettingsError(f"datastore {emulated[0]} has no guest agent in Trove 26, so no "
                            f"Trove 26 cloud can run its instances; test it on the local "
                            f"cloud, which emulates one, or choose from "
                            f"{', '.join(AGENT_DATASTORE_NAMES)}")


def _refuse_emulated_on_real_guests(datastores: tuple[str, ...],
                                    include_emulated: bool) -> None:
    """The vm profile runs Trove's own agent: what it has no manager for cannot run."""
    emulated = [name for name in datastores if not BY_NAME[name].guest_agent]
    if include_emulated or emulated:
        name = emulated[0] if emulated else "the emulated datastores"
        raise SettingsError(f"--local-profile=vm runs Trove 26's own guest agent, which has "
                            f"no manager for {name}; emulated datastores run on the default "
                            f"and production profiles. Choose from "
                            f"{', '.join(AGENT_DATASTORE_NAMES)}")


def _positive_float(option: str, value: Any) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"--{option} must be a number greater than 0, not {value!r}") \
            from None
    if not number > 0:
        raise SettingsError(f"--{option} must be a number greater than 0, not {value!r}")
    return number


def _positive_int(option: str, value: Any) -> int:
    try:
        number = int(str(value))
    except ValueError:
        raise SettingsError(f"--{option} must be a whole number of GB, at least 1, not "
                            f"{value!r}") from None
    if number < 1:
        raise SettingsError(f"--{option} must be a whole number of GB, at least 1, not "
                            f"{value!r}")
    return number


def build_settings(get: Callable[[OptionSpec], tuple[Any, bool]]) -> Settings:
    """Turn raw values into Settings; ``get`` returns (value, given-explicitly)."""
    raw: dict[str, Any] = {}
    explicit = set()
    for spec in OPTIONS:
        value, given = get(spec)
        raw[spec.name] = value
        if given:
            explicit.add(spec.name)
    cloud = str(raw["cloud"] or "local").lower()
    if cloud not in CLOUD_KINDS:
        raise SettingsError(f"--cloud must be one of {', '.join(CLOUD_KINDS)}, not {cloud!r}")
    os_cloud = raw["os_cloud"] or None
    if os_cloud and "cloud" not in explicit:
        cloud = "existing"
    if cloud == "existing" and not os_cloud:
        os_cloud = os.environ.get("OS_CLOUD") or None
        if not os_cloud:
            raise SettingsError("--cloud=existing needs a clouds.yaml cloud: give --os-cloud "
                                "NAME or set OS_CLOUD")
    if cloud == "local" and os_cloud and "cloud" in explicit:
        raise SettingsError("--os-cloud names an existing cloud; drop it or use "
                            "--cloud=existing")
    run_id = str(raw["run_id"] or secrets.token_hex(4)).lower()
    if not RUN_ID_PATTERN.match(run_id):
        raise SettingsError(f"--run-id must be 1-24 lowercase letters, digits or dashes, not "
                            f"{raw['run_id']!r}")
    local_cloud = str(raw["local_cloud"] or "trove-it-local")
    problem = cloud_name_problem(local_cloud)
    if problem:
        raise SettingsError(f"--local-cloud: {problem}")
    local_profile = str(raw["local_profile"] or "default")
    try:
        profiles.get(local_profile)
    except profiles.UnknownProfile as exc:
        raise SettingsError(f"--local-profile: {exc}") from None
    if "local_profile" in explicit and cloud != "local":
        raise SettingsError("--local-profile configures the local cloud; drop it with "
                            "--os-cloud or --cloud=devstack")
    try:
        trove = trove_env.parse(raw["trove"]).text
    except trove_env.TroveSpecError as exc:
        raise SettingsError(str(exc)) from None
    if "trove" in explicit and cloud != "local":
        raise SettingsError("--trove picks the Trove the local cloud runs; drop it with "
                            "--os-cloud or --cloud=devstack")
    include_emulated = _bool(raw["include_emulated"])
    datastores = parse_datastores(raw["datastore"] if "datastore" in explicit else "mysql",
                                  include_emulated)
    if cloud != "local":
        _refuse_emulated_off_the_local_cloud(datastores, include_emulated)
    elif profiles.get(local_profile).vm:
        _refuse_emulated_on_real_guests(datastores, include_emulated)
    provision = _bool(raw["provision"])
    devstack_dir = Path(raw["devstack_dir"]).expanduser() if raw["devstack_dir"] else None
    if provision:
        if cloud != "devstack":
            raise SettingsError("--provision deploys a devstack: give --cloud=devstack too")
        if devstack_dir is None or not (devstack_dir / "stack.sh").is_file():
            raise SettingsError(f"--provision needs --devstack-dir, a devstack checkout with "
                                f"stack.sh; {devstack_dir or 'none given'} is not one")
    phase = raw["upgrade_phase"] or None
    if phase is not None and phase not in upgrade_state.PHASES:
        raise SettingsError(f"--upgrade-phase must be one of {', '.join(upgrade_state.PHASES)}, "
                            f"not {phase!r}")
    side = str(raw["upgrade_side"] or "pre")
    if side not in upgrade_state.SIDES:
        raise SettingsError(f"--upgrade-side must be pre or post, not {side!r}")
    api_faults = None
    if raw["api_faults"]:
        if cloud != "local":
            raise SettingsError("--api-faults needs the local cloud, which injects them")
        try:
            api_faults = parse_api_faults(str(raw["api_faults"]))
        except ApiFaultsError as exc:
            raise SettingsError(str(exc)) from None
    if raw["image"] and _bool(raw["build_image"]):
        raise SettingsError("--image and --build-image exclude each other; give one")
    guest_agent = raw["guest_agent"] or None
    if guest_agent is not None:
        if not _bool(raw["build_image"]):
            raise SettingsError("--guest-agent says what --build-image puts in the image; "
                                "give --build-image too")
        try:
            guest_agent = agent_source.parse(str(guest_agent)).spec
        except agent_source.AgentSourceError as exc:
            raise SettingsError(f"--guest-agent: {exc}") from None
    return Settings(
        datastores=datastores,
        include_emulated=include_emulated,
        datastore_version=raw["datastore_version"] or None,
        cloud=cloud,
        os_cloud=os_cloud,
        os_cloud_admin=raw["os_cloud_admin"] or None,
        os_cloud_alt=raw["os_cloud_alt"] or None,
        local_cloud=local_cloud,
        local_profile=local_profile,
        trove=trove,
        networks=tuple(n.strip() for n in str(raw["network"] or "").split(",") if n.strip()),
        availability_zone=raw["availability_zone"] or None,
        volume_type=raw["volume_type"] or None,
        image=raw["image"] or None,
        build_image=_bool(raw["build_image"]),
        guest_agent=guest_agent,
        flavor=raw["flavor"] or None,
        volume_size=_positive_int("volume-size", raw["volume_size"]),
        keep=_bool(raw["keep"]),
        keep_on_failure=_bool(raw["keep_on_failure"]),
        reuse_instance=raw["reuse_instance"] or None,
        timeout_scale=_positive_float("timeout-scale", raw["timeout_scale"]),
        run_id=run_id,
        api_faults=api_faults,
        devstack_dir=devstack_dir,
        provision=provision,
        upgrade_phase=phase,
        upgrade_side=side,
        upgrade_state=Path(raw["upgrade_state"]) if raw["upgrade_state"]
        else upgrade_state.default_path(),
        explicit=frozenset(explicit),
    )


def from_pytest_config(config: Any) -> Settings:
    """Read every option from the command line, then pytest.ini, then the environment."""

    def get(spec: OptionSpec) -> tuple[Any, bool]:
        value = config.getoption(spec.name)
        if value not in (None, False):
            return value, True
        ini = config.getini(spec.ini)
        if ini not in (None, "", []):
            return ini, True
        env = os.environ.get(spec.env)
        if env:
            return env, True
        return spec.default, False

    return build_settings(get)
