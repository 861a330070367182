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
from trove_it.localcloud.vm.services import VmSettings

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
    vm: VmSettings | None = None
    """The vm profile's ports and bus credentials."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def auth_url(self) -> str:
        return f"{self.url}/identity/v3"

    @property
    def guest_url(self) -> str:
        """The server as a guest reaches it: itself, or through a vm cloud's gateway."""
        if self.vm is not None:
            return f"http://{profiles.VM_GATEWAY}:{self.port}"
        return self.url

    @property
    def guest_config(self) -> str:
        return str(self.layout.root / "trove-guestagent.conf")


def _messaging(settings: CloudSettings) -> list[str]:
    """How the control plane reaches its guests: in process (the stand-in guests
    and ``fake:/``), or over the vm cloud's RabbitMQ to Trove's own agents."""
    if settings.vm is None:
        # One API process: the task manager shares its in-memory fake:/
        # transport, which a forked worker would not see.
        return ["transport_url = fake:/",
                f"remote_guest_client = {CLIENTS}.guest_client"]
    return [
        f"transport_url = {settings.vm.bus.url('127.0.0.1')}",
        # Trove injects this file into every guest (get_injected_files).
        f"guest_config = {settings.guest_config}",
        f"docker_insecure_registries = {profiles.VM_REGISTRY}",
        "use_nova_server_config_drive = True",
        # Stopping the cloud stops its guests; idle API connections need no wait.
        "graceful_shutdown_timeout = 5",
        # Emulated guests (TCG) are slow to answer; KVM ones are not.
        "agent_call_low_timeout = 120",
        "agent_call_high_timeout = 900",
    ]


def render_guest_conf(settings: CloudSettings) -> str:
    """trove-guestagent.conf for a vm cloud's guests: the bus and the services
    at the gateway, and this project's container images in the cloud's registry."""
    assert settings.vm is not None
    lines = [
        "[DEFAULT]",
        f"transport_url = {settings.vm.bus.url(profiles.VM_GATEWAY, profiles.VM_RABBIT_PORT)}",
        "control_exchange = trove",
        "debug = True",
        "log_dir = /var/log/trove",
        "log_file = trove-guestagent.log",
        f"swift_url = {settings.guest_url}/object-store/v1/AUTH_",
        # Emulated guests start databases slowly.
        "state_change_wait_time = 600",
        "command_process_timeout = 300",
        "",
        "[oslo_messaging_notifications]",
        "driver = noop",
        "",
    ]
    for datastore in ("mariadb", "postgresql"):
        lines += [f"[{datastore}]",
                  f"docker_image = {profiles.VM_REGISTRY}/trove-it/{datastore}",
                  f"backup_docker_image = {profiles.VM_REGISTRY}/trove-it/{datastore}-backup",
                  ""]
    return "\n".join(lines)


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
        "trove_api_workers = 1",
        *_messaging(settings),
        "control_exchange = trove",
        "taskmanager_manager = trove.taskmanager.manager.Manager",
        f"remote_nova_client = {CLIENTS}.nova_client",
        f"remote_cinder_client = {CLIENTS}.cinder_client",
        f"remote_neutron_client = {CLIENTS}.neutron_client",
        f"remote_glance_client = {CLIENTS}.glance_client",
        f"remote_swift_client = {CLIENTS}.swift_client",
        # The task manager builds a swift client itself only to read its URL,
        # which it hands the guest for backups and restores; without this it
        # looks in an empty service catalog.
        f"swift_url = {settings.guest_url}/object-store/v1/AUTH_",
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
        *([] if settings.vm else ["agent_call_high_timeout = 120"]),
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
        # (A vm cloud has no management network: Trove's isolation plugs the
        # user port into the container through docker-hostnic, which its
        # guests do not have.)
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
        *_vm_options(settings),
        "",
    ]
    return "\n".join(lines)


def _vm_options(settings: CloudSettings) -> list[str]:
    if settings.vm is None:
        return []
    bus = settings.vm.bus
    return [f"vm_bus_port = {bus.port}", f"vm_epmd_port = {bus.epmd_port}",
            f"vm_dist_port = {bus.dist_port}", f"vm_bus_password = {bus.password}",
            f"vm_registry_port = {settings.vm.registry_port}"]


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
    if settings.vm is not None:
        guest = Path(settings.guest_config)
        guest.write_text(render_guest_conf(settings))
        guest.chmod(0o600)
    settings.layout.paste_ini.write_text(PASTE_INI)


def read_option(conf_path: Path, section: str, key: str) -> str | None:
    """Read one value back from a rendered trove.conf (used by the CLI)."""
    import configparser

    parser = configparser.ConfigParser(interpolation=None)
    parser.read(conf_path)
    return parser.get(section, key, fallback=None)
