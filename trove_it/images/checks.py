"""Offline checks of an image's root file system. Each returns the defects it
found, one line each that names the defect, so a failing test says exactly
what is wrong with the image.

What an image must contain comes from its manifest and the elements it was
built from (their package-installs.yaml and pkg-map), not from a second list.
"""

from __future__ import annotations

import ast
import configparser
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from trove_it.images import elements, support
from trove_it.images.inspect import resolve_in
from trove_it.images.manifest import Manifest
from trove_it.images.plan import public_key_fingerprint

AGENT_VENV = "opt/guest-agent-venv"
AGENT_UNIT = "etc/systemd/system/guest-agent.service"
IMAGE_CONF = "etc/trove/conf.d/00-trove-it-image.conf"
MAX_IMAGE_BYTES = {"package": int(2.5 * 1024**3), "container": 4 * 1024**3}
MIN_IMAGE_BYTES = 200 * 1024**2
DATABASE_UID = 1001
"""Trove's [<manager>] database_service_uid default."""


@dataclass(frozen=True)
class Expected:
    """What the image under test must be."""

    datastore: str
    version: str
    mode: str
    distro: str
    release: str
    dev_mode: bool
    dev_key_fingerprint: str | None
    guest_user: str
    agent_kind: str
    agent_version: str | None
    container_image: str | None = None
    backup_image: str | None = None

    @classmethod
    def from_manifest(cls, record: Manifest) -> Expected:
        spec = record.guest_agent.get("source", "")
        return cls(datastore=record.datastore, version=record.version, mode=record.mode,
                   distro=record.distro, release=record.release, dev_mode=record.dev_mode,
                   dev_key_fingerprint=record.dev_key_fingerprint,
                   guest_user=record.guest_user, agent_kind=record.guest_agent.get("kind", ""),
                   agent_version=spec.removeprefix("pypi:") if spec.startswith("pypi:")
                   else None, container_image=record.container_image,
                   backup_image=record.backup_image)


# ----------------------------------------------------------------- reading
def os_release(root: Path) -> dict[str, str]:
    path = resolve_in(root, "/etc/os-release")
    values = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            key, sep, value = line.partition("=")
            if sep:
                values[key.strip()] = value.strip().strip('"')
    return values


def dpkg_installed(root: Path) -> dict[str, str]:
    """Installed packages and their versions, from dpkg's status file."""
    status = root / "var/lib/dpkg/status"
    if not status.is_file():
        return {}
    installed = {}
    for stanza in status.read_text(errors="replace").split("\n\n"):
        fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", stanza, re.M))
        if fields.get("Status", "").endswith(" installed") and "Package" in fields:
            installed[fields["Package"]] = fields.get("Version", "")
    return installed


def rpm_installed(root: Path) -> dict[str, str]:
    """Installed package names from rpm's sqlite database (versions live in binary
    headers, so they are not read)."""
    database = root / "var/lib/rpm/rpmdb.sqlite"
    if not database.is_file():
        return {}
    import sqlite3

    connection = sqlite3.connect(f"file:{database}?mode=ro&immutable=1", uri=True)
    try:
        return {str(row[0]): "" for row in connection.execute("SELECT key FROM Name")}
    finally:
        connection.close()


def installed_packages(root: Path) -> dict[str, str]:
    return dpkg_installed(root) or rpm_installed(root)


def passwd(root: Path) -> dict[str, tuple[int, str]]:
    """Accounts in the image: name -> (uid, home)."""
    path = root / "etc/passwd"
    accounts = {}
    if path.is_file():
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split(":")
            if len(parts) >= 7 and parts[2].isdigit():
                accounts[parts[0]] = (int(parts[2]), parts[5])
    return accounts


def agent_site_packages(root: Path) -> Path | None:
    found = sorted((root / AGENT_VENV / "lib").glob("python3*/site-packages"))
    return found[-1] if found else None


def agent_version(root: Path) -> str | None:
    site = agent_site_packages(root)
    if site is None:
        return None
    for info in site.glob("trove-*.dist-info"):
        metadata = info / "METADATA"
        if metadata.is_file():
            match = re.search(r"^Version: (\S+)$", metadata.read_text(errors="replace"), re.M)
            if match:
                return match.group(1)
    return None


def agent_managers(root: Path) -> list[str]:
    """Datastore managers the installed agent knows (trove.common.constants)."""
    site = agent_site_packages(root)
    path = site / "trove/common/constants.py" if site else None
    if path is None or not path.is_file():
        return []
    tree = ast.parse(path.read_text(errors="replace"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "REGISTRY_EXT_DEFAULTS" for t in node.targets):
            value = ast.literal_eval(node.value)
            return sorted(value) if isinstance(value, dict) else []
    return []


def unit_enabled(root: Path, unit: str, target: str = "multi-user.target") -> bool:
    """Enabled for ``target``, with the link pointing at a unit file the image has."""
    link = f"/etc/systemd/system/{target}.wants/{unit}"
    return (root / link.lstrip("/")).is_symlink() and resolve_in(root, link).is_file()


def service_name(datastore: str, distro: str) -> str:
    """The engine's systemd unit, from the datastore element's svc-map."""
    path = elements.elements_dir() / elements.datastore_element(datastore) / "svc-map"
    data = yaml.safe_load(path.read_text()) if path.exists() else {}
    family = elements.FAMILIES.get(distro, distro)
    for mapping in (data or {}).values():
        return str(mapping.get(distro) or mapping.get(family) or mapping.get("default"))
    return datastore


def expected_packages(expected: Expected) -> list[str]:
    env = {"DIB_TROVE_IT_DATASTORE_VERSION": expected.version, "DIB_RELEASE": expected.release}
    return elements.installed_packages(elements.datastore_element(expected.datastore),
                                       expected.distro, expected.release, env)


def _strip_epoch(version: str) -> str:
    return version.split(":", 1)[1] if ":" in version else version


# ----------------------------------------------------------------- checks
def check_manifest_matches(expected: Expected, datastore: str) -> list[str]:
    if expected.datastore != datastore:
        return [f"image was built for {expected.datastore} (manifest), but the suite runs "
                f"with --datastore {datastore}"]
    return []


def check_os_release(root: Path, expected: Expected) -> list[str]:
    values = os_release(root)
    if not values:
        return ["no /etc/os-release: not a Linux root file system, or the wrong partition"]
    distro, codename = values.get("ID", ""), values.get("VERSION_CODENAME", "")
    if distro != expected.distro:
        return [f"OS is {values.get('PRETTY_NAME', distro)}, expected {expected.distro}"]
    if expected.distro == "centos":
        release = f"{values.get('VERSION_ID', '')}-stream"
        if release != expected.release:
            return [f"OS is CentOS {release}, expected {expected.release}"]
    elif codename != expected.release:
        return [f"OS is {values.get('PRETTY_NAME', codename)}, expected {expected.distro} "
                f"{expected.release}"]
    return []


def check_datastore_packages(root: Path, expected: Expected) -> list[str]:
    """The engine's packages are installed, in the datastore's version series."""
    if expected.mode == "container":
        return []
    installed = installed_packages(root)
    if not installed:
        return ["no package database (dpkg or rpm) in the image"]
    wanted = expected_packages(expected)
    missing = [name for name in wanted if name not in installed]
    if missing:
        return [f"datastore packages missing: {', '.join(missing)} (the {expected.datastore} "
                f"engine is not installed)"]
    server = support.SERVER_PACKAGES.get(expected.datastore)
    if server:
        names = elements.mapped(elements.datastore_element(expected.datastore), server,
                                expected.distro, expected.release)
        for name in names:
            version = _strip_epoch(installed.get(name, ""))
            if version and not re.match(rf"^{re.escape(expected.version)}([.+~-]|$)", version):
                return [f"{name} is version {version}, not the datastore version "
                        f"{expected.version}"]
    return []


def check_engine_enabled(root: Path, expected: Expected) -> list[str]:
    if expected.mode == "container":
        return []
    unit = service_name(expected.datastore, expected.distro)
    if not unit_enabled(root, f"{unit}.service"):
        return [f"the {expected.datastore} service ({unit}.service) is not enabled at boot"]
    return []


def check_guest_agent(root: Path, expected: Expected) -> list[str]:
    """The agent is installed, runnable in the image, enabled, and the version built."""
    defects = []
    command = root / AGENT_VENV / "bin/trove-guestagent"
    if not command.is_file():
        return [f"guest agent missing: /{AGENT_VENV}/bin/trove-guestagent does not exist"]
    python = resolve_in(root, f"/{AGENT_VENV}/bin/python3")
    if not python.is_file():
        defects.append(f"guest agent's Python is missing: /{AGENT_VENV}/bin/python3 does not "
                       f"resolve inside the image")
    version = agent_version(root)
    if version is None:
        defects.append("guest agent missing: no trove distribution in its virtualenv")
    elif expected.agent_version and version != expected.agent_version:
        defects.append(f"guest agent is trove {version}, the image was built with "
                       f"{expected.agent_version}")
    unit = root / AGENT_UNIT
    if not unit.is_file():
        defects.append(f"guest agent unit missing: /{AGENT_UNIT}")
    else:
        text = unit.read_text(errors="replace")
        match = re.search(r"^ExecStart=(\S+)", text, re.M)
        if not match or not resolve_in(root, match.group(1)).is_file():
            defects.append(f"guest agent unit starts {match.group(1) if match else 'nothing'}, "
                           f"which is not in the image")
        user = re.search(r"^User=(\S+)", text, re.M)
        if user and user.group(1) not in passwd(root):
            defects.append(f"guest agent unit runs as {user.group(1)}, an account the image "
                           f"does not have")
        if not unit_enabled(root, "guest-agent.service"):
            defects.append("guest agent unit is not enabled at boot")
    if expected.distro in ("debian", "ubuntu"):
        if not any(resolve_in(root, p).is_file() for p in ("/usr/sbin/dockerd",
                                                           "/usr/bin/dockerd")):
            defects.append("Docker is missing: Trove's agent exits at start-up without it")
        elif not unit_enabled(root, "docker.service"):
            defects.append("Docker is not enabled at boot: Trove's agent exits without it")
        if not any(resolve_in(root, p).is_file() for p in ("/usr/sbin/apparmor_parser",
                                                           "/sbin/apparmor_parser")):
            defects.append("apparmor_parser is missing: Docker cannot start unprivileged "
                           "containers (Trove's backups) under the guest's AppArmor")
    return defects


def check_agent_config(root: Path, expected: Expected) -> list[str]:
    """Configuration, directories, sudo, log rotation and cloud-init datasources."""
    defects = []
    accounts = passwd(root)
    user = expected.guest_user
    if user not in accounts:
        return [f"the guest agent's account {user} does not exist (Trove injects its files "
                f"owned by it)"]
    uid = accounts[user][0]
    taken = [name for name, (number, _) in accounts.items() if number == DATABASE_UID]
    if taken:
        defects.append(f"uid {DATABASE_UID} belongs to {taken[0]}: Trove's agent creates its "
                       f"'database' account with that uid and exits when it is taken")
    conf = root / IMAGE_CONF
    parser = configparser.ConfigParser()
    try:
        parser.read_string(conf.read_text())
        if parser.get("DEFAULT", "log_dir", fallback="") != "/var/log/trove":
            defects.append(f"/{IMAGE_CONF} does not send the agent's log to /var/log/trove")
    except (OSError, configparser.Error) as exc:
        defects.append(f"guest agent configuration /{IMAGE_CONF} unreadable: "
                       f"{type(exc).__name__}")
    for directory in ("etc/trove/conf.d", "var/log/trove", "var/lib/trove",
                      "opt/trove-guestagent"):
        path = root / directory
        if not path.is_dir():
            defects.append(f"/{directory} is missing")
        elif path.stat().st_uid != uid:
            defects.append(f"/{directory} is not owned by {user}")
    sudoers = root / "etc/sudoers.d/60-trove-it-guest"
    if not sudoers.is_file() or not re.search(rf"^{re.escape(user)}\s+ALL=.*NOPASSWD",
                                               sudoers.read_text(), re.M):
        defects.append(f"{user} has no password-less sudo (the agent formats and mounts the "
                       f"volume through sudo)")
    defects += _injected_keys_preset(root)
    rotate = root / "etc/logrotate.d/trove-guestagent"
    if not rotate.is_file() or "/var/log/trove" not in rotate.read_text():
        defects.append("no log rotation for /var/log/trove")
    sources = root / "etc/cloud/cloud.cfg.d/91-dib-cloud-init-datasources.cfg"
    if not sources.is_file():
        defects.append("cloud-init datasources are not configured")
    elif "ConfigDrive" not in sources.read_text():
        defects.append("cloud-init cannot read Nova's config drive (ConfigDrive not in its "
                       "datasources)")
    if expected.mode == "container":
        defects += _container_defects(root, expected)
    return defects


INJECTED_KEYS = ("guest_id", "datastore_manager", "datastore_version", "tenant_id")
"""What Trove's injected guest_info.conf says of each instance."""


def _injected_keys_preset(root: Path) -> list[str]:
    """An image file that sets what Trove injects per instance overrides it (the
    agent reads the directory in name order, a later file winning)."""
    defects = []
    for conf in sorted((root / "etc/trove/conf.d").glob("*.conf")):
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(conf.read_text(errors="replace"))
        except configparser.Error:
            defects.append(f"/{conf.relative_to(root)} is not a readable configuration file")
            continue
        for key in INJECTED_KEYS:
            if parser.has_option("DEFAULT", key):
                defects.append(f"/{conf.relative_to(root)} sets {key}, which Trove's injected "
                               f"guest_info.conf must decide for each instance")
    return defects


def preloaded_images(root: Path) -> set[str]:
    """``repository:tag`` names in the image's own Docker storage."""
    path = root / "var/lib/docker/image/overlay2/repositories.json"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return set()
    return {name for tags in data.get("Repositories", {}).values() for name in tags
            if "@" not in name}


def _container_defects(root: Path, expected: Expected) -> list[str]:
    defects = []
    conf = root / "etc/trove/conf.d/05-trove-it-container.conf"
    parser = configparser.ConfigParser()
    try:
        parser.read_string(conf.read_text())
        if not parser.get(expected.datastore, "docker_image", fallback=""):
            defects.append(f"no [{expected.datastore}] docker_image in /{conf.relative_to(root)}")
    except (OSError, configparser.Error):
        defects.append("the container image configuration is missing")
    loaded = preloaded_images(root)
    for role, name in (("database", expected.container_image),
                       ("backup", expected.backup_image)):
        if name and name not in loaded:
            defects.append(f"the {role} container image {name} is not preloaded in the "
                           f"image's Docker storage (a first boot would have to pull it)")
    return defects


def _key_files(root: Path) -> Iterator[Path]:
    homes = [root / "root"] + sorted(p for p in (root / "home").glob("*") if p.is_dir())
    for home in homes:
        ssh = home / ".ssh"
        if ssh.is_dir():
            yield from sorted(p for p in ssh.iterdir() if p.is_file())
    yield from sorted((root / "etc/ssh").glob("authorized_keys*"))


def _fingerprints(path: Path) -> list[str]:
    prints = []
    for line in path.read_text(errors="replace").splitlines():
        try:
            prints.append(public_key_fingerprint(line))
        except ValueError:
            continue
    return prints


def check_ssh_keys(root: Path, expected: Expected) -> list[str]:
    """No login keys unless built in dev mode (then exactly the dev key), and never
    baked host keys or private keys."""
    defects = []
    host_keys = sorted((root / "etc/ssh").glob("ssh_host_*_key"))
    if host_keys:
        defects.append(f"SSH host keys baked into the image ({host_keys[0].name}, ...): "
                       f"every instance would share them")
    dev_key_found = False
    for path in _key_files(root):
        where = "/" + str(path.relative_to(root))
        text = path.read_text(errors="replace")
        if "PRIVATE KEY" in text:
            defects.append(f"private SSH key in the image: {where}")
            continue
        prints = _fingerprints(path)
        if not prints:
            continue
        if not expected.dev_mode:
            defects.append(f"SSH key in a non-dev image: {where} ({len(prints)} key(s), "
                           f"{prints[0]})")
            continue
        others = [p for p in prints if p != expected.dev_key_fingerprint]
        if others:
            defects.append(f"unexpected SSH key in the dev image: {where} ({others[0]})")
        if expected.dev_key_fingerprint in prints:
            dev_key_found = True
    if expected.dev_mode and not dev_key_found:
        defects.append(f"dev image without its SSH key ({expected.dev_key_fingerprint})")
    return defects


def check_leftovers(root: Path, expected: Expected) -> list[str]:
    """Nothing of the build left: package lists, package and pip caches, scratch
    files, the daemon blocker or the agent's source tree."""
    found = []
    lists = root / "var/lib/apt/lists"
    if lists.is_dir():
        stale = [p.name for p in lists.iterdir() if p.name not in ("lock", "partial")]
        stale += [f"partial/{p.name}" for p in (lists / "partial").glob("*")]
        if stale:
            found.append(f"apt package lists ({len(stale)} files in /var/lib/apt/lists)")
    debs = list((root / "var/cache/apt/archives").glob("*.deb"))
    if debs:
        found.append(f"downloaded packages ({len(debs)} .deb files in /var/cache/apt/archives)")
    for cache in [root / "root/.cache/pip", *(root / "home").glob("*/.cache/pip"),
                  root / AGENT_VENV / ".cache", root / "tmp/pip"]:
        if cache.exists() and any(cache.iterdir()):
            found.append(f"pip cache /{cache.relative_to(root)}")
    for scratch in ("tmp", "var/tmp"):
        entries = [p.name for p in (root / scratch).glob("*")]
        if entries:
            found.append(f"files in /{scratch} ({', '.join(sorted(entries)[:3])})")
    for path, what in (("usr/sbin/policy-rc.d", "the build's daemon blocker (no service "
                                                "would start)"),
                       ("opt/guest-agent-src", "the guest agent's source tree"),
                       ("etc/resolv.conf.ORIG", "the build's resolv.conf backup")):
        if (root / path).exists() or (root / path).is_symlink():
            found.append(f"{what}: /{path}")
    return [f"build leftover: {item}" for item in found]


def check_size(image: Path, expected: Expected, extra_files: list[Path]) -> list[str]:
    total = image.stat().st_size + sum(p.stat().st_size for p in extra_files)
    limit = MAX_IMAGE_BYTES[expected.mode]
    if total > limit:
        return [f"image is {total / 1024**3:.2f} GiB, over the {limit / 1024**3:.1f} GiB "
                f"budget for {expected.mode}-mode images"]
    if total < MIN_IMAGE_BYTES:
        return [f"image is only {total / 1024**2:.0f} MiB: too small to hold a guest"]
    return []
