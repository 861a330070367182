"""Run by test_interrupts.py in a child pytest: starts building a cluster,
says so through a marker file, then waits to be interrupted mid-build."""

import os
import time
from pathlib import Path

from trove_it import waiters


def test_cluster_build_and_wait(member, cluster_factory):
    cluster = cluster_factory("interrupted", wait=False)
    Path(os.environ["TROVE_IT_TEST_MARKER"]).write_text(cluster.id)
    waiters.wait_for_cluster(member.trove, cluster.id)
    time.sleep(600)
