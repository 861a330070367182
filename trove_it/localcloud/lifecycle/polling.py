"""The task manager's polls, at the local cloud's pace.

Trove's task manager waits on nova, cinder and the guest through
``trove.common.utils.build_polling_task``: a back-off loop that starts at a
hard-coded interval (3 to 5 s), doubles it after every miss up to 30 s, and
in flavor resize begins only after a hard-coded 10 s. On a real cloud those
waits are small beside a VM boot; on this cloud every step takes well under
a second, so the floor they set dominates a scenario's run time (a flavor
resize spends 15 s asleep).

``install`` swaps in a loop with the same contract (poll ``retriever`` until
``condition`` holds; raise ``LoopingCallTimeOut``, which Trove maps to
``PollTimeOut``, after ``time_out``) that polls at a fixed short interval.
What the task manager checks, and in which order, is unchanged; only the
sleeping between checks is shorter.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

DEFAULT_INTERVAL = 0.1


def install(interval: float = DEFAULT_INTERVAL) -> None:
    """Replace Trove's polling task builder in this process."""
    from trove.common import utils as trove_utils

    trove_utils.build_polling_task = _polling_task_builder(interval)


def _polling_task_builder(interval: float) -> Callable[..., Any]:
    def build_polling_task(retriever: Callable[[], Any],
                           condition: Callable[[Any], bool] = lambda value: value,
                           sleep_time: float = 1, time_out: float = 0,
                           initial_delay: float = 0) -> Any:
        from oslo_service import loopingcall

        def poll_and_check() -> None:
            value = retriever()
            if condition(value):
                raise loopingcall.LoopingCallDone(retvalue=value)

        call = loopingcall.FixedIntervalWithTimeoutLoopingCall(poll_and_check)
        return call.start(interval=min(sleep_time, interval),
                          initial_delay=min(initial_delay, interval), timeout=time_out)

    return build_polling_task
