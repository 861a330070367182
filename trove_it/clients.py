"""Clients for a target cloud, built from clouds.yaml.

Credentials come through openstacksdk's own config loader (clouds.yaml,
secure.yaml, ``OS_*``), so a cloud works here exactly as with the
``openstack`` CLI. Trove is driven with python-troveclient on the same
keystoneauth session: openstacksdk's database proxy cannot create instances.
Every way this can fail ends in one ``UserError`` line that says what to fix.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trove_it import api_retries
from trove_it.errors import CloudUnreachable, UserError

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")


@dataclass
class CloudClients:
    """One account on one cloud: an openstacksdk connection and a Trove client."""

    cloud: str
    conn: Any
    trove: Any

    @property
    def session(self) -> Any:
        return self.conn.session

    @property
    def project_id(self) -> str:
        return str(self.conn.current_project_id)

    @property
    def trove_endpoint(self) -> str:
        return str(self.conn.endpoint_for("database"))

    def swift(self) -> Any:
        """A swiftclient connection on this account's session (for troveclient's log
        reader, which otherwise needs a password it cannot get from a session)."""
        import swiftclient

        return swiftclient.Connection(session=self.session,
                                      os_options={"region_name": self.conn.config.region_name})

    def raw_trove(self) -> Any:
        """A keystoneauth adapter on the Trove endpoint, for calls troveclient lacks."""
        return self.conn.database


def _config_files(clouds_yaml: Path | None) -> list[str] | None:
    return [str(clouds_yaml)] if clouds_yaml else None


def check_clouds_files(clouds_yaml: Path | None = None) -> None:
    """Fail with one line if a clouds.yaml that would be read is broken.

    openstacksdk skips a file it cannot parse and then reports the cloud as
    unknown, which sends the user looking in the wrong place.
    """
    import os

    import openstack.config.loader
    import yaml

    if clouds_yaml is not None:
        candidates = [str(clouds_yaml)]
    else:
        candidates = [os.environ["OS_CLIENT_CONFIG_FILE"]] \
            if os.environ.get("OS_CLIENT_CONFIG_FILE") else []
        candidates += list(openstack.config.loader.CONFIG_FILES)
    for candidate in candidates:
        path = Path(candidate)
        if not path.exists():
            continue
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise UserError(f"cannot read clouds.yaml at {path}: {detail}") from None
        if data is not None and not isinstance(data, dict):
            raise UserError(f"cannot read clouds.yaml at {path}: expected a mapping with "
                            f"'clouds:', found {type(data).__name__}")


def load_region(cloud: str, clouds_yaml: Path | None = None) -> Any:
    """Read one cloud's configuration, or fail with one line saying why."""
    import openstack.config
    from openstack.config import exceptions as config_exc

    if clouds_yaml is not None and not clouds_yaml.exists():
        raise UserError(f"clouds.yaml not found at {clouds_yaml}")
    check_clouds_files(clouds_yaml)
    try:
        config = openstack.config.OpenStackConfig(config_files=_config_files(clouds_yaml))
        return config.get_one(cloud=cloud)
    except config_exc.OpenStackConfigException as exc:
        message = str(exc).splitlines()[0]
        if "was not found" in message or "not found" in message.lower():
            known = _known_clouds(clouds_yaml)
            where = f" in {clouds_yaml}" if clouds_yaml else " in any clouds.yaml"
            raise UserError(f"cloud '{cloud}' not found{where}; known clouds: "
                            f"{', '.join(known) or 'none'}") from None
        raise UserError(f"cannot read the configuration of cloud '{cloud}': {message}") \
            from None
    except Exception as exc:  # noqa: BLE001 - YAML errors and friends
        raise UserError(f"cannot read clouds.yaml for cloud '{cloud}': "
                        f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None


def _known_clouds(clouds_yaml: Path | None) -> list[str]:
    import openstack.config

    try:
        config = openstack.config.OpenStackConfig(config_files=_config_files(clouds_yaml))
        return sorted(config.get_cloud_names())
    except Exception:  # noqa: BLE001
        return []


def _root_cause(exc: BaseException) -> BaseException:
    """openstacksdk wraps keystoneauth's errors; find the one that says what happened."""
    seen = exc
    while seen.__cause__ is not None or seen.__context__ is not None:
        seen = seen.__cause__ or seen.__context__  # type: ignore[assignment]
        if type(seen).__module__.startswith("keystoneauth1"):
            return seen
    return exc


def _authorize(cloud: str, region: Any, conn: Any) -> None:
    from keystoneauth1 import exceptions as ks_exc

    auth_args = region.get_auth_args()
    auth_url = auth_args.get("auth_url", "?")
    try:
        conn.authorize()
    except Exception as exc:  # noqa: BLE001 - mapped to one line below
        cause = _root_cause(exc)
        text = str(cause) or str(exc)
        if isinstance(cause, ks_exc.Unauthorized) or "401" in text.split("(HTTP")[-1]:
            raise CloudUnreachable(
                f"authentication to cloud '{cloud}' failed for user "
                f"'{auth_args.get('username', '?')}' at {auth_url}: check the password and "
                f"project in clouds.yaml") from None
        if isinstance(cause, (ks_exc.ConnectFailure, ks_exc.ConnectTimeout,
                              ks_exc.DiscoveryFailure)) or "connection" in text.lower():
            raise CloudUnreachable(f"cannot reach cloud '{cloud}' at {auth_url}: "
                                   f"{text.splitlines()[0][:160]}") from None
        raise CloudUnreachable(f"cloud '{cloud}' at {auth_url} refused authentication: "
                               f"{text.splitlines()[0][:160]}") from None
    try:
        conn.endpoint_for("database")
    except Exception:  # noqa: BLE001
        raise UserError(f"cloud '{cloud}' has no database (Trove) endpoint in its "
                        f"service catalog") from None


def load_client_libraries() -> None:
    """Import openstacksdk and troveclient (most of a second), e.g. while a cloud starts."""
    import openstack.connection  # noqa: F401
    from troveclient.v1 import client  # noqa: F401


def connect(cloud: str, clouds_yaml: Path | None = None, check: bool = True) -> CloudClients:
    """Authenticate to ``cloud`` and return its clients."""
    import openstack.connection
    from troveclient.v1 import client as trove_client

    region = load_region(cloud, clouds_yaml)
    conn = openstack.connection.Connection(config=region)
    api_retries.install(conn.session)
    if check:
        _authorize(cloud, region, conn)
    trove = trove_client.Client(session=conn.session, region_name=region.region_name,
                                endpoint_type=region.get_interface() or "public")
    return CloudClients(cloud, conn, trove)
