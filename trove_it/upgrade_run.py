"""``trove-it cloud upgrade-run``: a real Trove N-1 -> N upgrade of a local cloud.

Grenade's run, on one machine, with the upgrade-survival phases around it:

1. start a survivable local cloud on the older Trove, in its own virtualenv;
2. ``create`` the resources (instances with users, databases, rows, a backup
   and a configuration group), then ``verify`` them;
3. stop the control plane and keep the engines (``LocalCloud.hand_over``),
   then ``verify_noapi``: the rows through the native client only;
4. install the newer Trove, run its ``trove-manage db_sync`` on the cloud's
   database and start the server on it, adopting the engines
   (``LocalCloud.resume``);
5. ``verify`` on the new side, then ``destroy``.

Each phase is its own pytest process against the cloud's clouds.yaml, as
grenade calls them. Every step prints its time; the cloud goes at the end,
pass, fail or Ctrl-C, unless ``--keep``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from trove_it.errors import UserError
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle import trove_env
from trove_it.localcloud.lifecycle.launcher import REPO_ROOT, CloudError, LocalCloud

REQUIREMENT_PREFIX = "trove=="


def trove_spec(text: str, option: str) -> str:
    """``trove==25.1.0`` (a pip requirement, as grenade names releases) or any
    ``--trove`` spec, as the spec text the local cloud takes. The pinned
    release this environment has installed is used as installed."""
    if text.startswith(REQUIREMENT_PREFIX):
        text = f"pypi:{text[len(REQUIREMENT_PREFIX):]}"
    try:
        spec = trove_env.parse(text)
    except trove_env.TroveSpecError:
        raise UserError(f"{option} takes trove==VERSION, pypi:VERSION, path:DIR or "
                        f"git:URL@REF, not {text!r}") from None
    if spec.kind == "pypi" and spec.value == _installed_trove():
        return trove_env.INSTALLED
    return spec.text


def _installed_trove() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("trove")
    except metadata.PackageNotFoundError:
        return None


def prepare_trove(spec_text: str, option: str) -> str:
    """Make (or find cached) the virtualenv of a Trove and check the drivers
    against it, before anything starts; returns how the cloud will name it."""
    spec = trove_env.parse(spec_text)
    try:
        env = trove_env.ensure(spec)
        trove_env.check_interfaces(env, REPO_ROOT)
    except trove_env.TroveSpecError as exc:
        raise UserError(f"{option}: {str(exc).removeprefix(f'--trove {spec.text}: ')}") \
            from None
    return env.describe()


def datastore_list(text: str) -> str:
    """The phases' ``--datastore``: datastores with a Trove guest agent only,
    since the phases test the cloud as an existing one (``--os-cloud``)."""
    from trove_it.catalogue import BY_NAME
    from trove_it.settings import SettingsError, parse_datastores

    try:
        names = parse_datastores(text)
    except SettingsError as exc:
        raise UserError(f"--datastore: {exc}") from None
    emulated = [name for name in names if not BY_NAME[name].guest_agent]
    if emulated:
        raise UserError(f"--datastore: {emulated[0]} has no guest agent in Trove, so an "
                        f"upgrade cannot carry its instances; choose mysql, mariadb or "
                        f"postgresql")
    return ",".join(names)


class PhaseFailed(RuntimeError):
    """A pytest phase exited non-zero; its own output says which test and why."""


@dataclass
class Step:
    title: str
    seconds: float = 0.0
    outcome: str = "not run"


@dataclass
class UpgradeRun:
    """One upgrade run; ``run()`` returns the exit status."""

    from_spec: str
    to_spec: str
    datastores: str = "all"
    name: str = field(default_factory=lambda: f"trove-it-upgrade-{os.getpid()}")
    keep: bool = False
    out: TextIO = sys.stdout
    steps: list[Step] = field(default_factory=list)

    def run(self) -> int:
        started = time.monotonic()
        older = prepare_trove(self.from_spec, "--from")
        newer = prepare_trove(self.to_spec, "--to")
        self._say(f"upgrade-run: {older} -> {newer}, datastores {self.datastores}, cloud "
                  f"{self.name}; {time.monotonic() - started:.1f} s to prepare both Troves")
        scratch = Path(tempfile.mkdtemp(prefix="trove-it-upgrade-"))
        state = scratch / "upgrade-state.json"
        cloud = LocalCloud(self.name, trove=self.from_spec, survivable=True)
        plan: list[tuple[str, Callable[[], None]]] = [
            (f"start the cloud on {older}", lambda: self._up(cloud)),
            ("create (pre)", lambda: self._phase(cloud, state, "create", "pre")),
            ("verify (pre)", lambda: self._phase(cloud, state, "verify", "pre")),
            ("stop the API, keep the engines", cloud.hand_over),
            ("verify_noapi (pre)", lambda: self._phase(cloud, state, "verify_noapi", "pre")),
            (f"db_sync and restart on {newer}", lambda: self._resume(cloud)),
            ("verify (post)", lambda: self._phase(cloud, state, "verify", "post")),
            ("destroy (post)", lambda: self._phase(cloud, state, "destroy", "post")),
        ]
        self.steps = [Step(title) for title, _ in plan]
        failed = False
        try:
            for index, (step, (_, action)) in enumerate(
                    zip(self.steps, plan, strict=True), start=1):
                self._say(f"[{index}/{len(plan)}] {step.title}")
                started = time.monotonic()
                try:
                    action()
                    step.outcome = "ok"
                except (CloudError, PhaseFailed) as exc:
                    step.outcome = "FAILED"
                    self._say(f"[{index}/{len(plan)}] {step.title} failed: {exc}")
                    failed = True
                    return 1
                finally:
                    step.seconds = time.monotonic() - started
        except KeyboardInterrupt:
            failed = True
            self._say("upgrade-run: interrupted")
            return 130
        finally:
            self._finish(cloud, scratch, failed)
        return 0

    # ------------------------------------------------------------ steps
    def _up(self, cloud: LocalCloud) -> None:
        desc = cloud.up(run_owned=True)
        self._say(f"    {desc.trove} at {desc.url}")

    def _resume(self, cloud: LocalCloud) -> None:
        desc = cloud.resume(self.to_spec)
        for line in cloud.db_sync_output():
            self._say(f"    db_sync: {line}")
        self._say(f"    {desc.trove} at {desc.url}")

    def _phase(self, cloud: LocalCloud, state: Path, phase: str, side: str) -> None:
        names = cloud_names(self.name)
        argv = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                f"--datastore={self.datastores}", f"--os-cloud={names['member']}",
                f"--upgrade-state={state}", f"--upgrade-phase={phase}",
                f"--upgrade-side={side}"]
        env = dict(os.environ, OS_CLIENT_CONFIG_FILE=str(cloud.layout.clouds_yaml))
        env.pop("OS_CLOUD", None)
        self.out.flush()
        result = subprocess.run(argv, cwd=REPO_ROOT, env=env, check=False)
        if result.returncode != 0:
            raise PhaseFailed(f"pytest --upgrade-phase {phase} --upgrade-side {side} exited "
                              f"with status {result.returncode}")

    def _finish(self, cloud: LocalCloud, scratch: Path, failed: bool) -> None:
        self._say("upgrade-run: " + ("FAILED" if failed else "passed"))
        for index, step in enumerate(self.steps, start=1):
            self._say(f"  {index}. {step.title:<48} {step.outcome:<8} {step.seconds:7.1f} s")
        self._say(f"  total {sum(s.seconds for s in self.steps):.1f} s")
        if self.keep:
            self._say(f"kept: cloud {self.name} ('trove-it cloud down --name {self.name}' "
                      f"removes it), upgrade state {scratch}")
            return
        cloud.down()
        for leftover in sorted(scratch.iterdir()):
            leftover.unlink()
        scratch.rmdir()

    def _say(self, line: str) -> None:
        print(line, file=self.out, flush=True)
