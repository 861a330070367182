"""Turn a build request into the disk-image-create command that builds it.

Pure: no commands run and nothing is written, so every rule (which elements,
which variables, which layout) is unit-tested. ``build`` checks the host and
runs the plan.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from trove_it.containers import recipes
from trove_it.images import agent_source, elements, support
from trove_it.images.manifest import ROOT_LABEL
from trove_it.localcloud.lifecycle import profiles

FORMATS = ("qcow2", "tar")
LAYOUTS = ("auto", "partitioned", "partitionless")
MODES = ("container", "package")
"""Trove 26's agent always runs the database in a container: container is the default."""
DEFAULT_GUEST_USER = "ubuntu"
DEFAULT_IMAGE_SIZE_GB = 4
MINIMAL_ELEMENTS = {"debian": "debian-minimal", "ubuntu": "ubuntu-minimal",
                    "centos": "centos-minimal"}
CLOUD_IMAGE_ELEMENTS = {"ubuntu": "ubuntu", "centos": "centos"}
BOOT_CMDLINE = f"root=LABEL={ROOT_LABEL} ro console=tty0 console=ttyS0,115200 no_timer_check"
_PUBLIC_KEY = re.compile(r"^(ssh-(rsa|ed25519|dss)|ecdsa-sha2-\S+|sk-\S+)\s+([A-Za-z0-9+/=]+)")
_USER = re.compile(r"^[a-z_][a-z0-9_-]{0,31}$")


class PlanError(ValueError):
    """A request the elements cannot build as given; the message is one line."""


@dataclass(frozen=True)
class BuildRequest:
    datastore: str
    distro: str = "debian"
    release: str | None = None
    version: str | None = None
    mode: str = "container"
    guest_agent: str | None = None
    dev_key: Path | None = None
    base_image: str | None = None
    format: str = "qcow2"
    layout: str = "auto"
    output: Path = Path("images")
    image_size_gb: int = DEFAULT_IMAGE_SIZE_GB
    compress: bool = True
    guest_user: str = DEFAULT_GUEST_USER
    container_image: str | None = None
    container_archive: Path | None = None
    container_registry: str = profiles.VM_REGISTRY
    """The registry the images are named after (the agent runs
    ``<docker_image>:<version>``, and ``docker_image`` names a registry)."""


@dataclass
class BuildPlan:
    request: BuildRequest
    name: str
    release: str
    version: str
    layout: str
    source: support.Source | None
    """Where the datastore's packages come from (package mode)."""
    agent: agent_source.AgentSource
    elements: list[str]
    env: dict[str, str]
    dib_args: list[str]
    boot: dict[str, str]
    dev_key_fingerprint: str | None = None
    container_image: str | None = None
    backup_image: str | None = None
    container_recipes: dict[str, str] = field(default_factory=dict)
    """Images built here from Debian packages (``trove_it.containers``), by the
    name the agent runs: image name -> ``datastore/kind`` of the recipe."""
    debootstrap_cache: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def artifact_name(self) -> str:
        return f"{self.name}.{self.request.format}"

    @property
    def file_roles(self) -> dict[str, str]:
        """Files the build must produce, by role."""
        roles = {"image": self.artifact_name}
        if self.boot["method"] == "direct-kernel":
            roles["kernel"] = f"{self.name}.vmlinuz"
            roles["initrd"] = f"{self.name}.initrd"
        return roles


def public_key_fingerprint(text: str) -> str:
    """OpenSSH's SHA256 fingerprint of the first public key in ``text``."""
    for line in text.splitlines():
        match = _PUBLIC_KEY.match(line.strip())
        if match:
            blob = base64.b64decode(match.group(3) + "==="[: (-len(match.group(3))) % 4])
            digest = base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")
            return f"SHA256:{digest}"
    raise PlanError("no SSH public key found")


def read_dev_key(path: Path) -> str:
    """The fingerprint of a --dev-key file, refusing anything but a public key."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise PlanError(f"--dev-key {path}: {exc.strerror or exc}") from None
    if "PRIVATE KEY" in text:
        raise PlanError(f"--dev-key {path} is a private key; give the public key (.pub) — "
                        f"a private key must never go into an image")
    try:
        return public_key_fingerprint(text)
    except PlanError:
        raise PlanError(f"--dev-key {path} holds no SSH public key (ssh-ed25519, ssh-rsa, "
                        f"ecdsa-...)") from None


def choose_layout(requested: str, fmt: str, device_mapper: bool) -> str:
    """partitioned (MBR + GRUB, what Nova boots as is) needs device-mapper for DIB's
    kpartx; without it, a bare file system with the kernel and initrd beside it."""
    if requested not in LAYOUTS:
        raise PlanError(f"--layout must be one of {', '.join(LAYOUTS)}, not '{requested}'")
    if fmt == "tar":
        return "partitionless"
    if requested == "partitioned" and not device_mapper:
        raise PlanError("--layout partitioned needs device-mapper (DIB partitions with "
                        "kpartx) and this host has none (/dev/mapper/control missing); "
                        "use --layout partitionless")
    if requested == "auto":
        return "partitioned" if device_mapper else "partitionless"
    return requested


def _base_image(request: BuildRequest, release: str, cache: Path) -> tuple[str, dict[str, str],
                                                                            Path | None]:
    """The distribution element, its variables and the debootstrap cache tarball."""
    distro, base = request.distro, request.base_image
    tarball = cache / f"debootstrap-{distro}-{release}-amd64.tar.gz"
    debootstrap = distro in ("debian", "ubuntu")
    if base is None:
        env = {"DIB_DEBOOTSTRAP_CACHE": "1"} if debootstrap else {}
        return MINIMAL_ELEMENTS[distro], env, tarball if debootstrap else None
    if base == "cached":
        if not debootstrap:
            raise PlanError(f"--base-image cached reuses a debootstrap result; {distro} "
                            f"images are not debootstrapped: give a PATH or URL")
        if not tarball.exists():
            raise PlanError(f"--base-image cached: no cached {distro} {release} base in "
                            f"{cache}; build once without --base-image to create it")
        return MINIMAL_ELEMENTS[distro], {"DIB_DEBIAN_USE_DEBOOTSTRAP_CACHE": "1"}, tarball
    if distro not in CLOUD_IMAGE_ELEMENTS:
        raise PlanError(f"--base-image PATH|URL applies to ubuntu and centos (DIB starts "
                        f"from their cloud images); {distro} images are bootstrapped from "
                        f"the archive (use 'cached' to reuse a previous bootstrap)")
    parsed = urlparse(base)
    if parsed.scheme in ("http", "https"):
        directory, _, filename = base.rstrip("/").rpartition("/")
        if not filename:
            raise PlanError(f"--base-image {base}: give the URL of the image file")
        return CLOUD_IMAGE_ELEMENTS[distro], {"DIB_CLOUD_IMAGES": directory,
                                              "BASE_IMAGE_FILE": filename}, None
    path = Path(base).expanduser().resolve()
    if not path.is_file():
        raise PlanError(f"--base-image {base}: no such file (give a file, a URL or 'cached')")
    return CLOUD_IMAGE_ELEMENTS[distro], {"DIB_LOCAL_IMAGE": str(path)}, None


def _container(request: BuildRequest, version: str | None
               ) -> tuple[str, str, str | None, dict[str, str]]:
    """A container-mode build's version, database image, backup image and the
    images built here (name -> recipe)."""
    if request.datastore not in support.CONTAINER_DATASTORES:
        raise PlanError(f"container mode: Trove 26's guest agent runs only "
                        f"{', '.join(sorted(support.CONTAINER_DATASTORES))} in containers, "
                        f"not {request.datastore}")
    registry = request.container_registry.rstrip("/")
    explicit = request.container_image or request.container_archive
    if request.datastore in recipes.datastores() and not explicit:
        database = recipes.recipe(request.datastore)
        if version and version != database.version:
            raise PlanError(f"container mode: the {request.datastore} image is built here "
                            f"from Debian {recipes.RELEASE}, which ships {database.version}, "
                            f"not {version}; give --container-archive (a 'docker save' of "
                            f"a {version} image) for another version")
        backup = recipes.recipe(request.datastore, "backup")
        names = {f"{registry}/{database.reference}": f"{request.datastore}/database",
                 f"{registry}/{backup.reference}": f"{request.datastore}/backup"}
        image, backup_image = list(names)
        return database.version, image, backup_image, names
    version = version or support.CONTAINER_VERSIONS[request.datastore]
    image = request.container_image or (
        f"{support.CONTAINER_DATASTORES[request.datastore]}:{version}")
    name, _, tag = image.rpartition(":")
    if not name or "/" in tag:
        raise PlanError(f"--container-image {image} needs a tag (REPOSITORY:TAG)")
    if tag != version:
        raise PlanError(f"--container-image {image}: the guest agent runs "
                        f"<docker_image>:<datastore version>, so the tag must be the "
                        f"version {version}")
    return version, image, None, {}


def make_plan(request: BuildRequest, device_mapper: bool, image_cache: Path,
              constraints: Path | None = None) -> BuildPlan:
    """Everything disk-image-create needs for ``request``, or PlanError."""
    if request.format not in FORMATS:
        raise PlanError(f"--format must be one of {', '.join(FORMATS)}, not '{request.format}'")
    if request.mode not in MODES:
        raise PlanError(f"--mode must be one of {', '.join(MODES)}, not '{request.mode}'")
    if not _USER.match(request.guest_user):
        raise PlanError(f"--guest-user '{request.guest_user}' is not a valid account name")
    if request.image_size_gb < 2:
        raise PlanError("--image-size must be at least 2 (GB)")
    try:
        if request.mode == "package":
            source, release, version = support.resolve(request.datastore, request.distro,
                                                       request.release, request.version)
            container_image = backup_image = None
            container_recipes: dict[str, str] = {}
        else:
            support.entry(request.datastore, request.distro)  # validates both names
            release = request.release or support.RELEASES[request.distro][0]
            if release not in support.RELEASES[request.distro]:
                raise support.SupportError(
                    f"unknown {request.distro} release '{release}'; the elements support "
                    f"{', '.join(support.RELEASES[request.distro])}")
            source = None
            version, container_image, backup_image, container_recipes = _container(
                request, request.version)
        agent = agent_source.parse(request.guest_agent)
    except (support.SupportError, agent_source.AgentSourceError) as exc:
        raise PlanError(str(exc)) from None
    if request.container_archive is not None and request.mode != "container":
        raise PlanError("--container-archive only applies to --mode container")

    layout = choose_layout(request.layout, request.format, device_mapper)
    distro_element, base_env, tarball = _base_image(request, release, image_cache)
    fingerprint = read_dev_key(request.dev_key) if request.dev_key else None

    suffix = "-package" if request.mode == "package" else ""
    suffix += "-dev" if request.dev_key else ""
    name = f"trove-it-{request.datastore}-{version}-{request.distro}-{release}{suffix}"

    chosen = [distro_element]
    if request.format == "qcow2":
        chosen.append("vm" if layout == "partitioned" else "baremetal")
    chosen += ["trove-it-guest", "trove-it-guest-agent"]
    if agent.needs_source_repositories:
        chosen.append("source-repositories")
    if request.mode == "package":
        chosen.append(elements.datastore_element(request.datastore))
    else:
        chosen.append("trove-it-container")
    if request.dev_key:
        chosen.append("trove-it-dev")

    env = {
        "DIB_RELEASE": release,
        "DIB_PYTHON_VERSION": "3",
        "DIB_TROVE_IT_GUEST_USER": request.guest_user,
        "DIB_TROVE_IT_GUEST_AGENT": agent.spec,
        "DIB_TROVE_IT_DATASTORE": request.datastore,
        "DIB_TROVE_IT_DATASTORE_VERSION": version,
        **base_env,
    }
    if constraints is not None:
        env["DIB_TROVE_IT_GUEST_AGENT_CONSTRAINTS"] = str(constraints)
    if request.dev_key:
        env["DIB_TROVE_IT_DEV_KEY"] = str(request.dev_key.resolve())
    if container_image:
        env["DIB_TROVE_IT_CONTAINER_IMAGE"] = container_image
        if request.container_archive:
            env["DIB_TROVE_IT_CONTAINER_ARCHIVE"] = str(request.container_archive.resolve())
    if backup_image:
        env["DIB_TROVE_IT_BACKUP_IMAGE"] = backup_image

    args = ["-a", "amd64", "-t", request.format, "--image-size", str(request.image_size_gb)]
    if request.format == "qcow2" and not request.compress:
        args.append("-u")
    boot = ({"method": "disk"} if layout == "partitioned"
            else {"method": "direct-kernel", "cmdline": BOOT_CMDLINE})
    if request.format == "tar":
        boot = {"method": "none"}
    return BuildPlan(request=request, name=name, release=release, version=version,
                     layout=layout, source=source, agent=agent, elements=chosen, env=env,
                     dib_args=args, boot=boot, dev_key_fingerprint=fingerprint,
                     container_image=container_image, backup_image=backup_image,
                     container_recipes=container_recipes, debootstrap_cache=tarball)
