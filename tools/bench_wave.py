"""Time the whole mysql scenario suite and count what it created.

The short form of ``tools/bench_suite.py --only main``: one fresh
``pytest --datastore=mysql`` run (cloud start included) per repeat, with
its wall time (target <= 120 s on 2 cores), the instances and backups it
created, and the server's CPU.

Usage: python tools/bench_wave.py [--repeat N] [pytest args...]
"""

from __future__ import annotations

import argparse
import ctypes
import sys

from bench_suite import PR_SET_CHILD_SUBREAPER, cpu_line, median_run, verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs; the median is shown (default 1)")
    args, extra = parser.parse_known_args()
    ctypes.CDLL(None).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    run = median_run(args.repeat, "--datastore=mysql", *extra)
    print(f"whole suite, mysql: {run.wall:.1f} s [{run.summary}] (target <= 120 s) "
          f"{verdict(run.wall <= 120 and not run.returncode)}")
    print(f"  {run.created or 'created: ?'}; {cpu_line(run)}")
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
