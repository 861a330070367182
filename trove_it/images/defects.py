"""Broken variants of a built image, for proving that the validation suite
rejects them: a copy of the image is loop-mounted read-write, one defect is
made, and the copy gets its own manifest (as if it had been built that way),
so the only thing wrong with it is the defect.

Deriving a variant takes seconds; rebuilding one would take minutes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from trove_it.images import checks, inspect, loops, manifest

Edit = Callable[[Path, manifest.Manifest], manifest.Manifest | None]
"""Makes the defect in the mounted root; returns the manifest the variant gets
when the defect changes what the build would have recorded (else None)."""


def remove_guest_agent(root: Path, record: manifest.Manifest) -> None:
    """The agent's virtualenv is gone (its unit is still there and enabled)."""
    shutil.rmtree(root / checks.AGENT_VENV)


def add_dev_key(root: Path, record: manifest.Manifest) -> None:
    """A developer's SSH key in the agent account's authorized_keys."""
    accounts = checks.passwd(root)
    uid, home = accounts[record.guest_user]
    ssh = root / home.lstrip("/") / ".ssh"
    ssh.mkdir(mode=0o700, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        key = Path(tmp) / "dev"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "dev@laptop",
                        "-f", str(key)], check=True)
        public = key.with_suffix(".pub").read_text()
    keys = ssh / "authorized_keys"
    keys.write_text(public)
    keys.chmod(0o600)
    for path in (ssh, keys):
        os.chown(path, uid, uid)


def remove_datastore_packages(root: Path, record: manifest.Manifest) -> None:
    """The datastore's packages are not installed: their files and their dpkg
    records are gone, as after a build that never installed them."""
    wanted = set(checks.expected_packages(checks.Expected.from_manifest(record)))
    info = root / "var/lib/dpkg/info"
    for package in wanted:
        for listing in (info / f"{package}.list", info / f"{package}:amd64.list"):
            if not listing.exists():
                continue
            for line in listing.read_text().splitlines():
                # Through the image's own symlinks (/lib -> usr/lib): the files
                # themselves go, never a directory or a link to one.
                path = inspect.resolve_in(root, line)
                if path.is_dir():
                    continue
                if path.is_file() or path.is_symlink():
                    path.unlink()
        for leftover in info.glob(f"{package}[.:]*"):
            leftover.unlink()
    status = root / "var/lib/dpkg/status"
    stanzas = status.read_text().split("\n\n")
    kept = [s for s in stanzas
            if not any(line == f"Package: {p}" for p in wanted for line in s.splitlines())]
    status.write_text("\n\n".join(kept))


def disable_guest_agent(root: Path, record: manifest.Manifest) -> None:
    """The agent is installed but not enabled: it never starts at boot."""
    (root / "etc/systemd/system/multi-user.target.wants/guest-agent.service").unlink()


def wrong_datastore_manager(root: Path, record: manifest.Manifest) -> None:
    """A configuration file read after Trove's injected ones names a manager the
    agent does not have: it exits at start-up."""
    conf = root / "etc/trove/conf.d/zz-trove-it-defect.conf"
    conf.write_text("[DEFAULT]\ndatastore_manager = redis\n")


def remove_database_image(root: Path, record: manifest.Manifest) -> manifest.Manifest:
    """The database container image is not preloaded (its name is gone from
    Docker's repositories), and the manifest does not list it, as if the build
    had not had it: a cloud loading the variant gives its registry none."""
    image = record.container_image or ""
    repositories = root / "var/lib/docker/image/overlay2/repositories.json"
    data = json.loads(repositories.read_text())
    name = image.rsplit(":", 1)[0]
    if name not in data.get("Repositories", {}):
        raise ValueError(f"{image} is not preloaded in the image")
    del data["Repositories"][name]
    repositories.write_text(json.dumps(data))
    archives = {k: v for k, v in record.container_archives.items() if k != image}
    return replace(record, container_archives=archives)


DEFECTS: dict[str, Edit] = {
    "no-guest-agent": remove_guest_agent,
    "dev-key-in-non-dev-image": add_dev_key,
    "no-datastore-packages": remove_datastore_packages,
    "agent-not-enabled": disable_guest_agent,
    "wrong-datastore-manager": wrong_datastore_manager,
    "no-database-image": remove_database_image,
}
VM_DEFECTS = ("agent-not-enabled", "wrong-datastore-manager", "no-database-image")
"""What only a boot under Trove shows: the offline checks may pass."""


def raw_copy(image: Path, directory: Path) -> Path:
    """A sparse raw copy to derive variants from (one conversion for all of them)."""
    raw = directory / f"{image.stem}.raw"
    inspect.to_raw(image, raw)
    return raw


def derive(image: Path, raw: Path, defect: str, directory: Path) -> Path:
    """Write ``<stem>-<defect>.qcow2`` (and its manifest, kernel and initrd) into
    ``directory``; ``raw`` is a raw copy of ``image`` and is left unchanged."""
    record = manifest.load(image)
    if record is None:
        raise ValueError(f"{image} has no manifest")
    loops.require_root_tools()
    name = f"{image.stem}-{defect}"
    work = directory / f"{name}.raw"
    subprocess.run(["cp", "--sparse=always", str(raw), str(work)], check=True)
    try:
        with loops.mounted_fs(work, directory / f"{name}.mnt", read_only=False) as root:
            edited = DEFECTS[defect](root, record) or record
        target = directory / f"{name}.qcow2"
        subprocess.run(["qemu-img", "convert", "-O", "qcow2", str(work), str(target)],
                       check=True, capture_output=True)
    finally:
        work.unlink(missing_ok=True)
    files = {"image": manifest.entry_for(target)}
    for role in ("kernel", "initrd"):
        source = record.file(role, image.parent)
        if source is not None:
            copy = directory / f"{name}{source.suffix}"
            shutil.copyfile(source, copy)
            files[role] = manifest.entry_for(copy)
    derived = replace(edited, files=files,
                      derived_from={"image": image.name, "defect": defect})
    manifest.write(derived, target)
    return target
