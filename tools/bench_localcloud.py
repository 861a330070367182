"""Benchmark the local cloud and print the figures the project tracks.

- cloud up time with the cached bootstrap (target <= 5 s),
- create -> ACTIVE/HEALTHY median after the first instance, for MariaDB and
  PostgreSQL (target <= 3 s),
- idle memory (RSS) per engine process, and of the server.

Usage: python tools/bench_localcloud.py [--instances N]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from trove_it import waiters
from trove_it.clients import connect
from trove_it.localcloud.engines import binaries
from trove_it.localcloud.identity import cloud_names
from trove_it.localcloud.lifecycle import processes
from trove_it.localcloud.lifecycle.launcher import LocalCloud

NAME = "trove-it-bench"
CIDR = "127.92.0.0/16"
UP_TARGET = 5.0
CREATE_TARGET = 3.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def verdict(value: float, target: float) -> str:
    return "OK" if value <= target else "OVER TARGET"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=5,
                        help="timed creates per engine after the first (default 5)")
    args = parser.parse_args()

    cloud = LocalCloud(NAME, network_cidr=CIDR)
    cloud.down()
    cloud.up()  # warms the golden bootstrap and the engine templates
    cloud.down()
    up_times = []
    for _ in range(3):
        start = time.monotonic()
        cloud.up()
        up_times.append(time.monotonic() - start)
        cloud.down()
    up_median = statistics.median(up_times)
    print(f"cloud up, cached bootstrap: median {up_median:.2f} s over {len(up_times)} "
          f"(target <= {UP_TARGET:.0f} s) {verdict(up_median, UP_TARGET)}")

    desc = cloud.up()
    try:
        member = connect(cloud_names(NAME)["member"], Path(desc.clouds_yaml))
        for datastore, engine in (("mysql", "mariadb"), ("postgresql", "postgresql")):
            reason = binaries.unavailable_reason(engine)
            if reason:
                print(f"{engine}: skipped: {reason}")
                continue
            times = []
            for index in range(args.instances + 1):
                start = time.monotonic()
                created = member.trove.instances.create(
                    f"bench-{engine}-{index}", "d2", volume={"size": 1}, datastore=datastore)
                waiters.wait_for_instance(member.trove, created.id, timeout=300)
                if index:
                    times.append(time.monotonic() - start)
                else:
                    print(f"{engine}: first instance (templates warm) "
                          f"{time.monotonic() - start:.2f} s")
            median = statistics.median(times)
            print(f"{engine}: create -> ACTIVE/HEALTHY median {median:.2f} s over "
                  f"{len(times)} (min {min(times):.2f}, max {max(times):.2f}; target <= "
                  f"{CREATE_TARGET:.0f} s) {verdict(median, CREATE_TARGET)}")
        time.sleep(3)
        by_engine: dict[str, list[float]] = {}
        for pidfile in cloud.layout.engine_pidfiles():
            pid = processes.read_pidfile(pidfile)
            if pid is None or not processes.alive(pid):
                continue
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            by_engine.setdefault(comm, []).append(rss_mb(pid))
        for comm, values in sorted(by_engine.items()):
            print(f"idle RSS per {comm} process: mean {statistics.mean(values):.1f} MB over "
                  f"{len(values)} (max {max(values):.1f} MB)")
        print(f"server process RSS: {rss_mb(desc.pid):.1f} MB")
    finally:
        cloud.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
