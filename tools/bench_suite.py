"""Benchmark the scenario suite and print every figure the project tracks.

Each scenario run below is a fresh ``pytest`` process that starts its own
local cloud, exactly as ``./run pytest ...`` does, so the cloud start is in
every wall time. CPU seconds are split between the local cloud's server,
the pytest processes (with xdist workers) and the engines and tools, read
from /proc while the run goes and from the kernel's accounting of reaped
processes (the benchmark makes itself the subreaper of the whole tree).

Figures:
- the first wave (api, create, actions, databases, users, root, delete,
  error and force-delete paths) for mysql: wall (target <= 45 s) and the
  server's CPU (target <= 24 s, half of the 48 s measured before issue 9);
- the whole suite (every group in scenarios/) for mysql: wall (target
  <= 120 s), instances created, and how late any wait noticed its change
  (target <= 0.5 s);
- scaling: -n 2 against one process for mysql,postgresql (target >= 1.7x)
  and for mysql (target >= 1.5x);
- cold start: one test rerun from cold (target <= 5 s) and the local cloud
  starting (target <= 2 s);
- the peer: trove-tempest-plugin, unchanged, on a local cloud of its own.

Usage: python tools/bench_suite.py [--repeat N] [--only main,scaling,cold]
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FIRST_WAVE = ["scenarios/test_api.py", "scenarios/test_instance_create.py",
              "scenarios/test_instance_actions.py", "scenarios/test_databases.py",
              "scenarios/test_users.py", "scenarios/test_root.py",
              "scenarios/test_instance_delete.py", "scenarios/test_instance_errors.py"]
COLD_TEST = "scenarios/test_databases.py::test_pagination[mysql]"
BASELINE_SERVER_CPU = 48.0  # s, the first wave for mysql before issue 9
PR_SET_CHILD_SUBREAPER = 36
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class ProcessCpu:
    """The last CPU reading of one process, and what kind of process it is."""

    kind: str
    seconds: float = 0.0


@dataclass
class RunFigures:
    wall: float
    total_cpu: float
    server_cpu: float
    pytest_cpu: float
    returncode: int
    summary: str
    created: str
    worst_notice: float

    @property
    def engines_cpu(self) -> float:
        return max(0.0, self.total_cpu - self.server_cpu - self.pytest_cpu)


@dataclass
class Sampler:
    """Reads the CPU time of every process under ``root`` every 0.1 s."""

    root: int
    seen: dict[int, ProcessCpu] = field(default_factory=dict)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.1)

    def sample(self) -> None:
        parents: dict[int, int] = {}
        stats: dict[int, tuple[float, str]] = {}
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
                raw = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
            except OSError:
                continue
            fields = stat.rsplit(")", 1)[1].split()
            parents[pid] = int(fields[1])
            cpu = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
            stats[pid] = (cpu, raw.decode(errors="replace"))
        for pid, (cpu, cmdline) in stats.items():
            chain = self._ancestors(pid, parents)
            if self.root not in chain and pid != self.root:
                continue
            seen = self.seen.setdefault(pid, ProcessCpu(self._kind(cmdline, chain, stats)))
            seen.seconds = max(seen.seconds, cpu)

    @staticmethod
    def _ancestors(pid: int, parents: dict[int, int]) -> list[int]:
        chain: list[int] = []
        while pid in parents and pid > 1 and len(chain) < 64:
            pid = parents[pid]
            chain.append(pid)
        return chain

    def _kind(self, cmdline: str, chain: list[int],
              stats: dict[int, tuple[float, str]]) -> str:
        if "trove_it.localcloud.server" in cmdline:
            return "server"
        if any("trove_it.localcloud.server" in stats.get(p, (0, ""))[1] for p in chain):
            return "engines"
        return "pytest" if "python" in cmdline or "pytest" in cmdline else "engines"


def _reap_orphans() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def run_pytest(*args: str) -> RunFigures:
    """One scenario run in a new pytest process, timed and its CPU split."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.monotonic()
    proc = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-rfE", "-p",
                             "no:cacheprovider", *args], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    sampler = Sampler(proc.pid)
    thread = threading.Thread(target=sampler.run, daemon=True)
    thread.start()
    output, _ = proc.communicate()
    wall = time.monotonic() - start
    sampler.stop.set()
    thread.join()
    time.sleep(0.2)
    _reap_orphans()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    by_kind: dict[str, float] = {}
    for entry in sampler.seen.values():
        by_kind[entry.kind] = by_kind.get(entry.kind, 0.0) + entry.seconds
    lines = output.strip().splitlines()
    notices = [float(m) for m in re.findall(r"noticed within (\d+\.\d+)s", output)]
    created = next((line.strip() for line in lines if line.strip().startswith("created:")), "")
    summary = next((line.strip("= ") for line in reversed(lines)
                    if re.search(r"\d+ (passed|failed|error)", line)), "?")
    failures = [line.strip() for line in lines if line.startswith(("FAILED ", "ERROR "))]
    if failures:
        summary += "; " + "; ".join(failures[:5])
    return RunFigures(wall=wall, total_cpu=max(total, sum(by_kind.values())),
                      server_cpu=by_kind.get("server", 0.0),
                      pytest_cpu=by_kind.get("pytest", 0.0), returncode=proc.returncode,
                      summary=summary, created=created,
                      worst_notice=max(notices, default=0.0))


def median_run(repeat: int, *args: str) -> RunFigures:
    runs = [run_pytest(*args) for _ in range(repeat)]
    failed = [r for r in runs if r.returncode != 0]
    if failed:
        return failed[0]
    return sorted(runs, key=lambda r: r.wall)[len(runs) // 2]


def verdict(ok: bool) -> str:
    return "OK" if ok else "NOT MET"


def cpu_line(figures: RunFigures) -> str:
    return (f"CPU {figures.total_cpu:.1f} s: server {figures.server_cpu:.1f}, "
            f"pytest {figures.pytest_cpu:.1f}, engines and tools {figures.engines_cpu:.1f}")


def report_main(repeat: int) -> None:
    wave = median_run(repeat, *FIRST_WAVE, "--datastore=mysql")
    print(f"first wave, mysql (8 modules, cloud start included): {wave.wall:.1f} s "
          f"[{wave.summary}] (target <= 45 s) {verdict(wave.wall <= 45 and not wave.returncode)}")
    half = BASELINE_SERVER_CPU / 2
    print(f"  {cpu_line(wave)}; server CPU target <= {half:.0f} s (half of "
          f"{BASELINE_SERVER_CPU:.0f} s) {verdict(wave.server_cpu <= half)}")
    suite = median_run(repeat, "--datastore=mysql")
    print(f"whole suite, mysql (every group in scenarios/): {suite.wall:.1f} s "
          f"[{suite.summary}] (target <= 120 s) "
          f"{verdict(suite.wall <= 120 and not suite.returncode)}")
    print(f"  {cpu_line(suite)}; {suite.created or 'created: ?'}")
    print(f"  waits noticed their change within {suite.worst_notice:.2f} s at worst "
          f"(target <= 0.5 s) {verdict(0 < suite.worst_notice <= 0.5)}")


def report_scaling(repeat: int) -> None:
    for datastores, target in (("mysql,postgresql", 1.7), ("mysql", 1.5)):
        one = median_run(repeat, f"--datastore={datastores}")
        two = median_run(repeat, "-n", "2", f"--datastore={datastores}")
        ratio = one.wall / two.wall
        ok = ratio >= target and not (one.returncode or two.returncode)
        print(f"-n 2 against one process, --datastore={datastores}: {one.wall:.1f} s / "
              f"{two.wall:.1f} s = {ratio:.2f}x (target >= {target}x) {verdict(ok)}")
        print(f"  one process: {cpu_line(one)} [{one.summary}]")
        print(f"  -n 2:        {cpu_line(two)} [{two.summary}]")


def report_cold(repeat: int) -> None:
    from trove_it.localcloud.lifecycle.launcher import LocalCloud

    cold = median_run(max(repeat, 3), COLD_TEST, "--datastore=mysql")
    print(f"one test from cold ({COLD_TEST}, starting its own local cloud): "
          f"{cold.wall:.2f} s (target <= 5 s) {verdict(cold.wall <= 5 and not cold.returncode)}")
    cloud = LocalCloud("trove-it-bench-start", network_cidr="127.93.0.0/16")
    cloud.down()
    times = []
    for _ in range(max(repeat, 3)):
        begin = time.monotonic()
        cloud.up()
        times.append(time.monotonic() - begin)
        cloud.down()
    up = statistics.median(times)
    print(f"local cloud start (trove-it cloud up, cached bootstrap): median {up:.2f} s over "
          f"{len(times)} (target <= 2 s) {verdict(up <= 2)}")


def report_peer() -> None:
    """trove-tempest-plugin, unchanged, on a fresh local cloud (tools/tempest_plugin.sh)."""
    script = REPO / "tools" / "tempest_plugin.sh"
    started = time.monotonic()
    result = subprocess.run([str(script)], capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    total = next((line.split() for line in result.stdout.splitlines()
                  if line.startswith("total ")), [])
    counts = (f"{total[1]} passed, {total[2]} failed, {total[3]} skipped"
              if len(total) >= 4 else "no summary")
    print(f"trove-tempest-plugin 2.8.0 (mysql, mariadb, postgresql) on its own local cloud: "
          f"{counts}; wall {wall:.0f} s including the cloud's start; "
          f"{'every failure expected' if result.returncode == 0 else 'UNEXPECTED FAILURES'}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each configuration; the median is shown (default 1)")
    parser.add_argument("--only", default="main,scaling,cold,peer",
                        help="which figures: main, scaling, cold, peer (comma list)")
    args = parser.parse_args()
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    wanted = set(args.only.split(","))
    started = time.monotonic()
    for name, report in (("main", report_main), ("scaling", report_scaling),
                         ("cold", report_cold)):
        if name in wanted:
            report(args.repeat)
    if "peer" in wanted:
        report_peer()
    print(f"(benchmark took {time.monotonic() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
