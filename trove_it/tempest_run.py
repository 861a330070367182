"""Run trove-tempest-plugin, unchanged, against a fresh local cloud.

The strongest check that the local cloud behaves like OpenStack is a suite
written elsewhere. This brings a cloud up, writes tempest.conf from its own
clouds.yaml (``tempest_config``), runs the plugin's scenario tests with
dynamic credentials, prints passed/failed/skipped per module and the wall
time, checks that the run left nothing on the cloud, and brings it down:
pass, fail or Ctrl-C. Failures must be on the expected-failures list
(``tempest_results``), each with its reason. ``tools/tempest_plugin.sh``
makes the pinned tempest virtualenv and calls ``python -m trove_it.tempest_run``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from trove_it import tempest_config, tempest_results
from trove_it.clients import connect
from trove_it.errors import UserError
from trove_it.localcloud.datastores import LOCAL_IMAGE_ID, SERVED
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle.launcher import REPO_ROOT, CloudError, LocalCloud
from trove_it.provisioning.cloud_choice import LENDER_ENV

EXPECTED = REPO_ROOT / "tools" / "tempest_expected_failures.yaml"
SEED_PROJECTS = 3  # admin, demo, alt_demo (localcloud.identity)


@dataclass
class TempestRun:
    tempest_venv: Path
    datastores: tuple[str, ...] = tempest_config.DATASTORES
    regex: str = "trove_tempest_plugin"
    concurrency: int = 2
    keep: bool = False
    full: bool = True
    expected: Path = EXPECTED
    harness: tuple[str, ...] = ("mysql",)
    out: TextIO = sys.stdout

    def run(self) -> int:
        started = time.monotonic()
        tempest = self.tempest_venv / "bin" / "tempest"
        if not tempest.exists():
            raise UserError(f"no tempest in {self.tempest_venv}; tools/tempest_plugin.sh "
                            f"makes that virtualenv")
        expected = tempest_results.load_expected(self.expected)
        name = f"trove-it-tempest-{os.getpid()}"
        workspace = Path(tempfile.mkdtemp(prefix="trove-it-tempest-"))
        cloud = LocalCloud(name)
        verdict: tempest_results.Verdict | None = None
        try:
            cloud.up(run_owned=True)
            self._say(f"tempest-run: cloud {name} up in {time.monotonic() - started:.1f} s")
            conf = self._workspace(tempest, workspace, cloud, name)
            listed = self._list(tempest, workspace)
            self._say(f"tempest-run: {len(listed)} tests selected, config {conf}")
            run_started = time.monotonic()
            self._tempest(tempest, workspace)
            results = tempest_results.Results.from_csv(self._csv(workspace), listed)
            verdict = tempest_results.judge(results, expected)
            self._report(results, verdict, time.monotonic() - run_started)
            leaks = self._leaks(cloud, name)
            for leak in leaks:
                self._say(f"LEAK: {leak}")
            harness_ok = self._harness(name, workspace) if self.harness else True
            return 0 if verdict.ok and not leaks and harness_ok else 1
        except KeyboardInterrupt:
            self._say("tempest-run: interrupted")
            return 130
        except CloudError as exc:
            self._say(f"tempest-run: the cloud failed: {exc}")
            return 1
        finally:
            self._finish(cloud, workspace, started)

    # ------------------------------------------------------------ steps
    def _workspace(self, tempest: Path, workspace: Path, cloud: LocalCloud, name: str) -> Path:
        # the workspace registry stays in the run's directory, not ~/.tempest,
        # which would keep (and later refuse) every run's workspace name
        init = subprocess.run([str(tempest), "init", "--workspace-path",
                               str(workspace / "workspaces.yaml"), str(workspace / "ws")],
                              capture_output=True, text=True, check=False)
        if init.returncode != 0:
            raise UserError(f"tempest init failed: {init.stderr.strip().splitlines()[-1:]}")
        conf = workspace / "ws" / "etc" / "tempest.conf"
        target = tempest_config.TempestTarget.from_clouds_yaml(
            cloud.layout.clouds_yaml, cloud_names(name)["admin"], network="trove-it-private",
            flavor_id="d3", resize_flavor_id="d4", datastores=self.datastores,
            barbican=True, full=self.full, rebuild_image_id=LOCAL_IMAGE_ID,
            pre_upgrade=tuple((ds.name, ds.versions[1]) for ds in SERVED
                              if ds.name in self.datastores and len(ds.versions) > 1))
        conf.write_text(tempest_config.render(target, workspace / "ws" / "tempest.log"))
        conf.chmod(0o600)
        return conf

    def _list(self, tempest: Path, workspace: Path) -> list[str]:
        listing = subprocess.run([str(tempest), "run", "--list-tests", "--regex", self.regex],
                                 cwd=workspace / "ws", capture_output=True, text=True,
                                 check=False)
        listed = tempest_results.parse_listing(listing.stdout)
        if not listed:
            raise UserError(f"tempest selected no test for --regex {self.regex!r}: "
                            f"{listing.stderr.strip().splitlines()[-1:] or ''}")
        return listed

    def _tempest(self, tempest: Path, workspace: Path) -> None:
        """The run itself; its console goes to a file, each result line here."""
        console = workspace / "ws" / "console.log"
        argv = [str(tempest), "run", "--regex", self.regex, "--concurrency",
                str(self.concurrency)]
        with console.open("w") as log, subprocess.Popen(
                argv, cwd=workspace / "ws", stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                log.write(line)
                if " ... " in line:
                    self._say("  " + line.rstrip())

    def _csv(self, workspace: Path) -> Path:
        stestr = self.tempest_venv / "bin" / "stestr"
        subunit2csv = self.tempest_venv / "bin" / "subunit2csv"
        target = workspace / "results.csv"
        stream = subprocess.run([str(stestr), "last", "--subunit"], cwd=workspace / "ws",
                                capture_output=True, check=False).stdout
        with target.open("wb") as handle:
            # subunit2csv exits 1 when the stream holds a failure: not an error here
            subprocess.run([str(subunit2csv)], input=stream, stdout=handle, check=False)
        if not target.read_text().startswith("test,"):
            console = (workspace / "ws" / "console.log").read_text(errors="replace")
            last = console.strip().splitlines()[-1:] or ["(no output)"]
            raise UserError(f"tempest left no results to read; its console ended: {last[0]}")
        return target

    def _report(self, results: tempest_results.Results, verdict: tempest_results.Verdict,
                seconds: float) -> None:
        self._say(f"{'module':<30} {'passed':>6} {'failed':>6} {'skipped':>7}")
        for module, counts in results.by_module().items():
            self._say(f"{module:<30} {counts['passed']:>6} {counts['failed']:>6} "
                      f"{counts['skipped']:>7}")
        totals = {k: sum(c[k] for c in results.by_module().values())
                  for k in ("passed", "failed", "skipped")}
        self._say(f"{'total':<30} {totals['passed']:>6} {totals['failed']:>6} "
                  f"{totals['skipped']:>7}   tempest wall time {seconds:.0f} s")
        for entry in dict.fromkeys(reason for _, reason in verdict.excused):
            tests = [t.rsplit(".", 2)[-2] + "." + t.rsplit(".", 1)[-1]
                     for t, reason in verdict.excused if reason is entry]
            self._say(f"expected failure ({entry.kind}): {', '.join(tests)}: {entry.reason}")
        for stale in verdict.stale:
            self._say(f"NOTE: {stale.test} is listed as failing ({stale.kind}) but passed; "
                      f"take it off {self.expected.name}")
        for test_id in verdict.unexpected:
            self._say(f"UNEXPECTED FAILURE: {test_id}")

    def _leaks(self, cloud: LocalCloud, name: str) -> list[str]:
        """What the run left: instances, servers, volumes, floating IPs,
        security groups, tempest's projects and users."""
        conn = connect(cloud_names(name)["admin"], cloud.layout.clouds_yaml, check=False).conn
        leaks = [f"server {s.name} ({s.id})" for s in conn.compute.servers(all_projects=True)]
        leaks += [f"volume {v.name} ({v.id})"
                  for v in conn.block_storage.volumes(all_projects=True)]
        leaks += [f"floating IP {f.floating_ip_address}" for f in conn.network.ips()]
        leaks += [f"security group {g.name}" for g in conn.network.security_groups()]
        projects = list(conn.identity.projects())
        if len(projects) > SEED_PROJECTS:
            leaks += [f"project {p.name}" for p in projects
                      if p.name not in ("admin", "demo", "alt_demo")]
        return leaks

    def _harness(self, name: str, workspace: Path) -> bool:
        """The harness's own scenario suite on the cloud the plugin just used:
        what made the plugin pass must not break what the harness checks."""
        argv = [sys.executable, "-m", "pytest", f"--datastore={','.join(self.harness)}",
                f"--local-cloud={name}", "-p", "no:cacheprovider"]
        self._say(f"tempest-run: the harness's scenarios on the same cloud: "
                  f"pytest {' '.join(argv[3:])}")
        log = workspace / "harness.log"
        started = time.monotonic()
        lend = {**os.environ, LENDER_ENV: str(os.getpid())}
        with log.open("w") as handle:
            code = subprocess.run(argv, cwd=REPO_ROOT, stdout=handle, env=lend,
                                  stderr=subprocess.STDOUT, check=False).returncode
        lines = log.read_text(errors="replace").strip().splitlines()
        summary = lines[-1] if lines else "(no output)"
        self._say(f"tempest-run: harness {summary.strip('= ')} "
                  f"({time.monotonic() - started:.0f} s)")
        if code != 0:
            self._say("HARNESS FAILED on the plugin's cloud; its last lines:")
            for line in lines[-30:]:
                self._say("  " + line)
        return code == 0

    def _finish(self, cloud: LocalCloud, workspace: Path, started: float) -> None:
        if self.keep:
            self._say(f"kept: cloud {cloud.name} ('trove-it cloud down --name {cloud.name}' "
                      f"removes it) and {workspace}")
        else:
            cloud.down()
            shutil.rmtree(workspace, ignore_errors=True)
        self._say(f"tempest-run: wall time {time.monotonic() - started:.0f} s")

    def _say(self, line: str) -> None:
        print(line, file=self.out, flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m trove_it.tempest_run",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--tempest-venv", type=Path, required=True)
    parser.add_argument("--datastores", default=",".join(tempest_config.DATASTORES))
    parser.add_argument("--regex", default="trove_tempest_plugin")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="leave the cloud and workspace")
    parser.add_argument("--default-config", action="store_true",
                        help="the plugin's default configuration, which skips 18 tests "
                             "(upgrade, rebuild, full replication); by default every test runs")
    parser.add_argument("--harness-datastores", default="mysql",
                        help="after the plugin, run the harness's scenario suite for these "
                             "datastores on the same cloud ('' skips it)")
    args = parser.parse_args(argv)
    datastores = tuple(d for d in args.datastores.split(",") if d)
    harness = tuple(d for d in args.harness_datastores.split(",") if d)
    unknown = set(datastores) - set(tempest_config.DATASTORES)
    try:
        if unknown:
            raise UserError(f"--datastores: the plugin tests {', '.join(tempest_config.DATASTORES)}"
                            f", not {', '.join(sorted(unknown))}")
        return TempestRun(args.tempest_venv, datastores, args.regex, args.concurrency,
                          args.keep, full=not args.default_config, harness=harness).run()
    except UserError as exc:
        print(f"trove-it: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
