"""Render trove.conf and api-paste.ini for a local cloud.

Every setting that departs from a stock deployment carries the reason, since
each was needed to run Trove's real API and task manager in one process
without OpenStack around it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from trove_it.localcloud.lifecycle import profiles
from trove_it.localcloud.lifecycle.layout import StateLayout

CLIENTS = "trove_it.localcloud.trove_clients"


@dataclass(frozen=True)
class CloudSettings:
    name: str
    layout: StateLayout
    port: int
    network_cidr: str
    heartbeat_interval: float = 2.0
    debug: bool = False
    profile: profiles.Profile = profiles.PROFILES[profiles.DEFAULT]
    survivable: bool = False
    """Engines outlive the server, which can hand its state over to a restart
    on another Trove (``lifecycle/hand_over``, ``trove-it cloud upgrade-run``)."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/identity/v3"


def render_trove_conf(settings: CloudSettings, admin_password: str) -> str:
    layout = settings.layout
    profile = settings.profile
    plan = profiles.NetworkPlan(settings.network_cidr, profile.management_network)
    lines = [
        "[DEFAULT]",
        f"debug = {settings.debug}",
        f"log_file = {layout.server_log}",
        "use_stderr = False",
        "bind_host = 127.0.0.1",
        f"bind_port = {settings.port}",
        f"api_paste_config = {layout.paste_ini}",
        # One API process: the task manager shares its in-memory fake:/
        # transport, which a forked worker would not see.
        "trove_api_workers = 1",
        "transport_url = fake:/",
        "control_exchange = trove",
        "taskmanager_manager = trove.taskmanager.manager.Manager",
        f"remote_nova_client = {CLIENTS}.nova_client",
        f"remote_cinder_client = {CLIENTS}.cinder_client",
        f"remote_neutron_client = {CLIENTS}.neutron_client",
        f"remote_glance_client = {CLIENTS}.glance_client",
        f"remote_swift_client = {CLIENTS}.swift_client",
        f"remote_guest_client = {CLIENTS}.guest_client",
        # The task manager builds a swift client itself to read its URL when
        # restoring or seeding a replica; without this it looks in an empty
        # service catalog.
        f"swift_url = {settings.url}/object-store/v1/AUTH_",
        "trove_volume_support = True",
        "trove_dns_support = False",
        f"management_networks = {plan.management_network_id if profile.management_network else ''}",
        # Instances live on 127.x addresses, which the default filters hide.
        "ip_regex = .*",
        "black_list_regex = ^$",
        # Speed: poll the guest every second rather than every five.
        "usage_sleep_time = 1",
        "state_change_poll_time = 1",
        "max_accepted_volume_size = 20",
        f"max_instances_per_tenant = {-1 if profile.unlimited_quotas else 50}",
        f"max_volumes_per_tenant = {-1 if profile.unlimited_quotas else 200}",
        f"max_backups_per_tenant = {-1 if profile.unlimited_quotas else 200}",
        f"volume_rootdisk_support = {profile.boot_from_volume}",
        "volume_rootdisk_size = 4",
        *([f"cinder_volume_type = {profile.volume_type}"] if profile.volume_type else []),
        "agent_call_high_timeout = 120",
        "default_datastore = mysql",
        "",
        "[database]",
        f"connection = sqlite:///{layout.database}",
        # A cloud's database lives as long as its run: no fsync per commit.
        "sqlite_synchronous = False",
        "",
        "[network]",
        # Isolation plugs the user port into the database's container: with
        # a management network the database listens on the tenant port only.
        f"network_isolation = {profile.management_network}",
        # The tenant subnet has a router (drivers/network), so Trove's access
        # check runs as on a devstack; public instances get floating IPs here.
        "enable_access_check = True",
        f"public_network_id = {plan.public_network_id}",
        "",
        "[service_credentials]",
        f"auth_url = {settings.auth_url}",
        "username = admin",
        f"password = {admin_password}",
        "project_name = admin",
        "user_domain_name = Default",
        "project_domain_name = Default",
        "region_name = RegionOne",
        "",
        "[oslo_messaging_notifications]",
        "driver = noop",
        "",
        "[trove_it]",
        f"name = {settings.name}",
        f"state_dir = {layout.root}",
        f"network_cidr = {settings.network_cidr}",
        f"profile = {profile.name}",
        f"heartbeat_interval = {settings.heartbeat_interval}",
        f"public_url = {settings.url}",
        f"survivable = {settings.survivable}",
        "",
    ]
    return "\n".join(lines)


PASTE_INI = """\
[composite:trove]
use = call:trove.common.wsgi:versioned_urlmap
/: versions
/v1.0: troveapi
/identity: identity
/compute: compute
/network: network
/volume: volume
/image: image
/object-store: objectstore
/key-manager: keymanager
/_trove_it: control

[app:versions]
paste.app_factory = trove.versions:app_factory

[pipeline:troveapi]
# Stock pipeline, with keystonemiddleware replaced by the local token check,
# the rate limiter dropped (a test run is a burst by design) and the
# transient-fault filter in front.
pipeline = flakyapi cors request_id http_proxy_to_wsgi faultwrapper localauth
           authorization contextwrapper extensions troveapp

[filter:flakyapi]
# Transient failures on a share of requests, when the harness asks for them.
paste.filter_factory = trove_it.localcloud.endpoints.flaky_api:filter_factory

[filter:localauth]
paste.filter_factory = trove_it.localcloud.endpoints.keystone:filter_factory

[filter:extensions]
paste.filter_factory = trove.common.extensions:factory

[filter:authorization]
paste.filter_factory = trove.common.auth:AuthorizationMiddleware.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = trove

[filter:request_id]
paste.filter_factory = oslo_middleware.request_id:RequestId.factory

[filter:contextwrapper]
paste.filter_factory = trove.common.wsgi:ContextMiddleware.factory

[filter:faultwrapper]
paste.filter_factory = trove.common.wsgi:FaultWrapper.factory

[filter:http_proxy_to_wsgi]
use = egg:oslo.middleware#http_proxy_to_wsgi

[app:troveapp]
paste.app_factory = trove.common.api:app_factory

[app:identity]
paste.app_factory = trove_it.localcloud.endpoints.keystone:identity_app_factory

[app:compute]
paste.app_factory = trove_it.localcloud.endpoints.compute:app_factory

[app:network]
paste.app_factory = trove_it.localcloud.endpoints.network:app_factory

[app:volume]
paste.app_factory = trove_it.localcloud.endpoints.volume:app_factory

[app:image]
paste.app_factory = trove_it.localcloud.endpoints.image:app_factory

[app:objectstore]
paste.app_factory = trove_it.localcloud.endpoints.objectstore:app_factory

[app:keymanager]
paste.app_factory = trove_it.localcloud.endpoints.key_manager:app_factory

[app:control]
paste.app_factory = trove_it.localcloud.endpoints.control:app_factory
"""


def write_config(settings: CloudSettings, admin_password: str) -> None:
    settings.layout.trove_conf.write_text(render_trove_conf(settings, admin_password))
    settings.layout.trove_conf.chmod(0o600)
    settings.layout.paste_ini.write_text(PASTE_INI)


def read_option(conf_path: Path, section: str, key: str) -> str | None:
    """Read one value back from a rendered trove.conf (used by the CLI)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf_path)
    return parser.get(section, key, fallback=None)
