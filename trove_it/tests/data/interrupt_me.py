"""Run by test_interrupts.py in a child pytest: starts building an instance,
says so through a marker file, then waits long enough to be interrupted."""

import os
import time
from pathlib import Path

from trove_it import deletion, waiters
from trove_it.instances import request_instance


def test_build_and_wait(member, admin, datastore, tracker, settings):
    name = settings.name("interrupted")
    instance = request_instance(member, datastore, name)
    tracker.add("instance", instance.id, name,
                lambda: deletion.delete_instance(member, admin, instance.id))
    Path(os.environ["TROVE_IT_TEST_MARKER"]).write_text(instance.id)
    waiters.wait_for_instance(member.trove, instance.id)
    time.sleep(600)
