"""What a booting guest has reached, and when it is certain it never will.

The serial console and the agent's log (a virtio port the image's
agent-log unit writes to) are read as they grow. Each stage is a line that
first appears there; its time is taken from the moment QEMU started, so
the run can print where every instance's minutes went. A verdict is given
as soon as the guest cannot come up, so a broken image fails in seconds
rather than after Trove's build timeout: QEMU gone, a kernel panic, the
agent exiting (its unit reports every stop on the console), the agent not
started long after the boot finished, the agent unable to reach the message
bus, or the database image missing from the guest and the registry.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# (stage, where, pattern): stages in the order a good boot reaches them.
STAGES: tuple[tuple[str, str, re.Pattern[str]], ...] = (
    ("kernel", "console", re.compile(r"Linux version \d")),
    ("init", "console", re.compile(r"Welcome to .*Linux|systemd\[1\]: .*running in system mode")),
    ("cloud-init", "console", re.compile(r"Cloud-init v\. \S+ finished")),
    ("dockerd", "console", re.compile(r"trove-it: docker\.service started")),
    ("agent-start", "console", re.compile(r"trove-it: guest-agent\.service starting|"
                                          r"trove-guestagent\[\d+\]:")),
    ("agent-ready", "agent", re.compile(r"Creating RPC server for service guestagent")),
    ("prepare", "agent", re.compile(r"Starting datastore prepare")),
    ("container", "agent", re.compile(r"Creating docker container")),
    ("healthy", "agent", re.compile(r"Current database status is 'healthy'", re.I)),
    ("prepared", "agent", re.compile(r"Completed setup of .* datastore successfully")),
    ("reported", "agent", re.compile(r"Casting set_status message to conductor "
                                     r"\(status is 'healthy'\)")),
)
"""``reported``: the agent's first report of a healthy database, which is what
turns the instance ACTIVE (the conductor records it at once)."""
AGENT_STOPPED = re.compile(r"trove-it: guest-agent\.service stopped: (.*)")
BOOT_DONE = re.compile(r"Cloud-init v\. \S+ finished")
NOT_STARTED_AFTER = 90.0
"""Seconds after the boot finished (cloud-init done, Docker up) without the
agent's unit starting. Only images that announce Docker's start (this
project's do) are judged this way; others wait for Trove's timeouts."""
PANIC = re.compile(r"Kernel panic - not syncing: (.*)")
BUS_DOWN = re.compile(r"AMQP server on (\S+) is unreachable: (.*?)\. Trying again")
BUS_DOWN_LIMIT = 6
IMAGE_MISSING = re.compile(r"(manifest unknown|pull access denied|No such image|"
                           r"repository does not exist|not found: manifest)", re.I)
AGENT_ERROR = re.compile(r"(RuntimeError|Error): (.+)")
UNHEALTHY = re.compile(r"container health status: unhealthy|"
                       r"Waiting for DB status to change from crashed")
NOT_HEALTHY_AFTER = 240.0
"""Seconds after the database container was created without its health check
passing, while the agent keeps seeing it unhealthy or crashed (under TCG a
healthy start takes 30-80 s)."""
UNHEALTHY_SEEN = 5
DATABASE_OUTPUT = re.compile(r"trove-it: database: (.*)")
"""The container's own output, which this project's images put on the console."""
DATABASE_ERROR = re.compile(r"FATAL|ERROR|\[ERROR\]|error", re.I)
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
"""systemd colours its status lines on the console."""


def _tail(text: str, limit: int) -> str:
    """The end of a long log line, cut at a word so a message reads whole."""
    if len(text) <= limit:
        return text
    cut = text[-limit:]
    return "..." + (cut.split(" ", 1)[1] if " " in cut else cut)


@dataclass
class BootState:
    """Stages seen (seconds from QEMU's start) and the verdict, if any."""

    stages: dict[str, float] = field(default_factory=dict)
    verdict: str | None = None
    agent_stops: int = 0

    def as_dict(self) -> dict[str, object]:
        return {"stages": dict(self.stages), "verdict": self.verdict,
                "agent_stops": self.agent_stops}


def _last_match(pattern: re.Pattern[str], text: str) -> re.Match[str] | None:
    matches = list(pattern.finditer(text))
    return matches[-1] if matches else None


def _agent_cause(console: str, agent_log: str) -> str:
    """The agent's last error, from its own log or its traceback on the console."""
    for text in (agent_log, console):
        lines = [line for line in text.splitlines() if AGENT_ERROR.search(line)]
        if lines:
            match = AGENT_ERROR.search(lines[-1])
            assert match is not None
            return f"{match.group(1)}: {match.group(2).strip()[:240]}"
    return "no error message; see its log"


def _never_healthy(state: BootState, elapsed: float, agent_log: str) -> bool:
    created = state.stages.get("container")
    return (created is not None and "healthy" not in state.stages
            and "prepared" not in state.stages and elapsed - created > NOT_HEALTHY_AFTER
            and len(UNHEALTHY.findall(agent_log)) >= UNHEALTHY_SEEN)


def _database_cause(console: str) -> str:
    """The container's last error lines from the console, or its last lines."""
    output = [line.strip() for line in DATABASE_OUTPUT.findall(console) if line.strip()]
    if not output:
        return "its output is not on the console; see the instance's guest log"
    errors = [line for line in output if DATABASE_ERROR.search(line)]
    return _tail(" | ".join((errors or output)[-3:]), 400)


def observe(state: BootState, elapsed: float, console: str, agent_log: str,
            qemu_exit: int | None, qemu_errors: str = "") -> BootState:
    """Update ``state`` from the text the guest has written so far."""
    console = ANSI.sub("", console)
    texts = {"console": console, "agent": agent_log}
    for stage, where, pattern in STAGES:
        if stage not in state.stages and pattern.search(texts[where]):
            state.stages[stage] = round(elapsed, 1)
    if state.verdict is not None:
        return state
    stops = AGENT_STOPPED.findall(console)
    state.agent_stops = len(stops)
    panic = PANIC.search(console)
    if qemu_exit is not None:
        state.verdict = (f"QEMU exited ({qemu_exit}) after {elapsed:.0f} s"
                         + (f": {_tail(qemu_errors.strip(), 240)}" if qemu_errors.strip() else ""))
    elif panic:
        state.verdict = f"the guest kernel panicked: {panic.group(1).strip()[:200]}"
    elif stops and "prepared" not in state.stages:
        state.verdict = (f"the guest agent exited ({stops[-1].strip()}): "
                         f"{_agent_cause(console, agent_log)}")
    elif "prepared" not in state.stages and IMAGE_MISSING.search(agent_log):
        line = next(line for line in reversed(agent_log.splitlines())
                    if IMAGE_MISSING.search(line))
        state.verdict = ("the database container image is neither in the guest nor in the "
                         f"registry: {_tail(line.strip(), 240)}")
    elif len(BUS_DOWN.findall(agent_log)) >= BUS_DOWN_LIMIT and "prepare" not in state.stages:
        match = _last_match(BUS_DOWN, agent_log)
        assert match is not None
        state.verdict = (f"the guest agent cannot reach the message bus at {match.group(1)}: "
                         f"{match.group(2)[:160]}")
    elif _never_healthy(state, elapsed, agent_log):
        state.verdict = (f"the database container has not become healthy "
                         f"{elapsed - state.stages['container']:.0f} s after it was "
                         f"created: {_database_cause(console)}")
    else:
        done = BOOT_DONE.search(console) and "dockerd" in state.stages
        if done and not {"agent-start", "agent-ready"} & set(state.stages):
            since = state.stages.setdefault("booted", round(elapsed, 1))
            if elapsed - since > NOT_STARTED_AFTER:
                state.verdict = (f"the guest agent never started: the boot finished "
                                 f"{elapsed - since:.0f} s ago and guest-agent.service did "
                                 f"not start (is it enabled in the image?)")
    return state
