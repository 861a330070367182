"""Waiting for Trove resources, never blind.

Every wait polls on a schedule that notices a change within about a second,
fails at once on ERROR (or any state it was not told to expect) with the
instance's fault, retries transient API errors (5xx, dropped connections) a
bounded number of times and 4xx never, and says on failure what it awaited,
the last state it saw and how long it waited. Timeouts are scaled by
``--timeout-scale``. Every wait is recorded in the wait ledger for the
terminal summary.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import tenacity

from trove_it.timing import LEDGER

TRANSIENT_API_RETRIES = 5
# Poll quickly first (most local-cloud transitions take well under two
# seconds), then settle at a pace that still notices a change within half a
# second of the API showing it: the sleep plus one request stays under 0.5 s.
SCHEDULE = tenacity.wait_chain(*[tenacity.wait_fixed(0.1)] * 10, *[tenacity.wait_fixed(0.2)] * 5,
                               tenacity.wait_fixed(0.4))
# Real guests (a vm local cloud) take minutes under emulation, and every look
# costs CPU the emulated guests need on a small machine: look every 2 s.
GUEST_SCHEDULE = tenacity.wait_chain(*[tenacity.wait_fixed(0.2)] * 5, tenacity.wait_fixed(2.0))
_PACE = [SCHEDULE]

# Default timeouts per operation, in seconds, before --timeout-scale.
# Every timeout a wait is given (these, or a caller's own) is multiplied by
# the run's --timeout-scale, which the plugin sets once with scale_timeouts.
TIMEOUTS = {
    "build": 600.0, "restore": 900.0, "replica": 900.0, "restart": 300.0, "resize": 900.0,
    "backup": 900.0, "delete": 300.0, "configuration": 300.0, "promote": 600.0,
    "eject": 600.0, "detach": 300.0, "upgrade": 900.0, "cluster": 1800.0, "guest_cast": 60.0,
}

INSTANCE_TRANSIENT = frozenset({"NEW", "BUILD", "REBOOT", "RESIZE", "BACKUP", "PROMOTE",
                                "EJECT", "DETACH", "UPGRADE", "SHUTDOWN", "RESTART_REQUIRED",
                                "ACTIVE"})
BUILDING = ("NEW", "BUILD")
INSTANCE_FAILURE = frozenset({"ERROR", "FAILED"})


_SCALE = [1.0]
_GUEST_VERDICT: list[Callable[[str], str | None] | None] = [None]


def watch_guests(verdict: Callable[[str], str | None] | None) -> None:
    """Where waits for an instance learn that its guest cannot come up
    (``guest_watch``, on a vm local cloud), and the slower pace that suits
    real guests; None: nowhere, and the usual pace."""
    _GUEST_VERDICT[0] = verdict
    _PACE[0] = SCHEDULE if verdict is None else GUEST_SCHEDULE


def scale_timeouts(factor: float) -> None:
    """Multiply every wait's timeout by ``factor`` (``--timeout-scale``)."""
    _SCALE[0] = float(factor)


def scaled(seconds: float) -> float:
    return seconds * _SCALE[0]


class WaitError(AssertionError):
    """A wait that ended badly; the message says what, where and how long."""


class UnexpectedState(WaitError):
    pass


class WaitTimeout(WaitError):
    pass


class Gone(Exception):
    """The resource no longer exists (what a deletion wait hopes for)."""


def is_transient_api_error(exc: BaseException) -> bool:
    status = getattr(exc, "http_status", None) or getattr(exc, "code", None)
    if isinstance(status, int):
        return status >= 500
    name = type(exc).__name__
    return name in ("ConnectFailure", "ConnectionError", "ConnectTimeout",
                    "RetriableConnectionFailure", "ConnectionResetError", "RemoteDisconnected",
                    "SSLError")


def is_not_found(exc: BaseException) -> bool:
    return getattr(exc, "http_status", None) == 404 or getattr(exc, "code", None) == 404 \
        or type(exc).__name__ == "NotFound"


@dataclass
class Observation:
    state: str
    resource: Any = None


def wait(what: str, observe: Callable[[], Observation], done: Callable[[Observation], bool], *,
         transient: Iterable[str] | None, timeout: float, operation: str,
         failure_detail: Callable[[Observation], str] | None = None,
         progress: Callable[[str], None] | None = None,
         fail_when: Callable[[Observation], bool] | None = None) -> Observation:
    """Poll ``observe`` until ``done``; fail fast on any state not in ``transient``
    (``None`` accepts every state until the timeout, scaled by --timeout-scale)
    or for which ``fail_when`` holds."""
    allowed = None if transient is None else frozenset(transient)
    timeout = scaled(timeout)
    start = time.monotonic()
    last: list[Observation] = []
    api_errors = [0]
    next_progress = [start + 10.0]
    # When the last two answers came: the awaited change happened between them.
    answered: list[float] = []

    def attempt() -> Observation:
        try:
            obs = observe()
        except Exception as exc:
            if is_transient_api_error(exc) and api_errors[0] < TRANSIENT_API_RETRIES:
                api_errors[0] += 1
                return last[-1] if last else Observation("(no answer yet)")
            raise
        api_errors[0] = 0
        last.append(obs)
        del last[:-1]
        answered.append(time.monotonic())
        del answered[:-2]
        return obs

    def check(obs: Observation) -> bool:
        if done(obs):
            return False
        elapsed = time.monotonic() - start
        refused = allowed is not None and obs.state not in allowed
        if (refused or (fail_when is not None and fail_when(obs))) and \
                obs.state != "(no answer yet)":
            detail = failure_detail(obs) if failure_detail else ""
            raise UnexpectedState(f"while waiting for {what}: went to {obs.state} after "
                                  f"{elapsed:.1f}s{'; ' + detail if detail else ''}")
        if progress and time.monotonic() >= next_progress[0]:
            next_progress[0] += 10.0
            progress(f"waiting for {what}: {obs.state} ({elapsed:.0f}s)")
        return True

    retrying = tenacity.Retrying(
        wait=_PACE[0], stop=tenacity.stop_after_delay(timeout),
        retry=tenacity.retry_if_result(check), reraise=True)
    try:
        result = retrying(attempt)
    except tenacity.RetryError:
        elapsed = time.monotonic() - start
        state = last[-1].state if last else "(never answered)"
        detail = failure_detail(last[-1]) if (failure_detail and last) else ""
        LEDGER.record(operation, elapsed, ok=False)
        raise WaitTimeout(f"timed out after {elapsed:.1f}s waiting for {what}; last state "
                          f"{state}{'; ' + detail if detail else ''}") from None
    except BaseException:
        LEDGER.record(operation, time.monotonic() - start, ok=False)
        raise
    notice = answered[-1] - answered[-2] if len(answered) == 2 else 0.0
    LEDGER.record(operation, time.monotonic() - start, ok=True, notice=notice)
    return result


# --------------------------------------------------------------- instances
def instance_state(instance: Any) -> str:
    status = getattr(instance, "status", "?")
    operating = getattr(instance, "operating_status", "") or ""
    return f"{status}/{operating}" if operating else status


def instance_fault(trove_admin: Any, instance_id: str) -> str:
    """The instance's fault as an admin sees it (with details), or ''."""
    try:
        instance = trove_admin.instances.get(instance_id)
    except Exception:  # noqa: BLE001 - the fault is a bonus, not the error
        return ""
    fault = getattr(instance, "fault", None) or {}
    if not fault:
        return ""
    message = fault.get("message", "")
    details = (fault.get("details") or "").strip().splitlines()
    tail = f" ({details[-1][:300]})" if details else ""
    return f"fault: {message}{tail}"


def wait_for_instance(trove: Any, instance_id: str, *, status: str = "ACTIVE",
                      operating_status: str | None = "HEALTHY", operation: str = "build",
                      timeout: float | None = None, trove_admin: Any = None,
                      transient: Iterable[str] = INSTANCE_TRANSIENT,
                      progress: Callable[[str], None] | None = None) -> Any:
    """Wait until an instance shows ``status`` (and ``operating_status``)."""
    target = f"{status}/{operating_status}" if operating_status else status
    what = f"instance {instance_id} to become {target}"

    def observe() -> Observation:
        instance = trove.instances.get(instance_id)
        return Observation(instance_state(instance), instance)

    def done(obs: Observation) -> bool:
        inst = obs.resource
        if inst is None or getattr(inst, "status", None) != status:
            return False
        return operating_status is None or \
            getattr(inst, "operating_status", None) == operating_status

    allowed = set(transient) | {target, status}
    allowed |= {s for s in _operating_variants(allowed)}
    guest = _GUEST_VERDICT[0]

    def guest_failed(obs: Observation) -> bool:
        return guest is not None and status != "ERROR" and guest(instance_id) is not None

    def detail(obs: Observation) -> str:
        fault = instance_fault(trove_admin or trove, instance_id)
        verdict = guest(instance_id) if guest is not None else None
        return "; ".join(part for part in (verdict, fault) if part)

    result = wait(what, observe, done, transient=allowed, operation=operation,
                  timeout=timeout if timeout is not None else TIMEOUTS[operation],
                  failure_detail=detail, progress=progress, fail_when=guest_failed)
    return result.resource


def _operating_variants(states: Iterable[str]) -> set[str]:
    """Accept any operating status alongside a transient server status."""
    operating = ("", "HEALTHY", "SHUTDOWN", "BUILD", "RESTART_REQUIRED", "UNKNOWN", "ACTIVE",
                 "PAUSED", "NEW")
    result = set()
    for state in states:
        base = state.split("/")[0]
        if base in INSTANCE_FAILURE:
            continue
        for op in operating:
            result.add(f"{base}/{op}" if op else base)
    return result


def wait_for_instance_error(trove: Any, instance_id: str, *,
                            timeout: float | None = None) -> Any:
    """Wait for an instance meant to fail to reach ERROR; anything but NEW or BUILD
    on the way fails the wait at once."""
    return wait_for_instance(trove, instance_id, status="ERROR", operating_status=None,
                             transient=BUILDING, timeout=timeout)


def observing_until_gone(fetch: Callable[[], Any], state_of: Callable[[Any], str]
                         ) -> Callable[[], Observation]:
    """An ``observe`` for a deletion: the resource's state, or GONE once GET is 404."""

    def observe() -> Observation:
        try:
            resource = fetch()
        except Exception as exc:
            if is_not_found(exc):
                return Observation("GONE")
            raise
        return Observation(state_of(resource), resource)

    return observe


def wait_for_instance_gone(trove: Any, instance_id: str, *, timeout: float | None = None,
                           progress: Callable[[str], None] | None = None) -> None:
    """Wait until GET on the instance answers 404 (deleted)."""
    observe = observing_until_gone(lambda: trove.instances.get(instance_id), instance_state)
    wait(f"instance {instance_id} to be deleted", observe, lambda o: o.state == "GONE",
         transient={"SHUTDOWN", "ACTIVE", "BUILD", "ERROR", "REBOOT", "RESIZE", "BACKUP"} |
         _operating_variants({"SHUTDOWN", "ACTIVE", "BUILD", "REBOOT", "RESIZE", "BACKUP"}) |
         {"ERROR/", "ERROR/HEALTHY", "ERROR/SHUTDOWN", "ERROR/UNKNOWN", "ERROR/ERROR"},
         operation="delete", timeout=timeout if timeout is not None else TIMEOUTS["delete"],
         progress=progress)


# ---------------------------------------------------------------- clusters
CLUSTER_TASKS = frozenset({"BUILDING", "GROWING_CLUSTER", "SHRINKING_CLUSTER",
                           "RESTARTING_CLUSTER", "UPGRADING_CLUSTER", "UPDATING_CLUSTER",
                           "DELETING", "NONE"})


def cluster_state(cluster: Any) -> str:
    """'<task>: <member statuses>', e.g. 'BUILDING: ACTIVE,BUILD,BUILD'."""
    task = (getattr(cluster, "task", None) or {}).get("name", "?")
    statuses = ",".join(str(m.get("status", "?")) for m in getattr(cluster, "instances", []))
    return f"{task}: {statuses}"


def wait_for_cluster(trove: Any, cluster_id: str, *, members: int | None = None,
                     operation: str = "cluster", timeout: float | None = None,
                     trove_admin: Any = None, members_active: bool = True,
                     progress: Callable[[str], None] | None = None) -> Any:
    """Wait until the cluster's task is NONE and (``members_active``) every member
    is ACTIVE (and, given ``members``, there are that many); a member in ERROR
    fails at once with its fault."""

    def observe() -> Observation:
        cluster = trove.clusters.get(cluster_id)
        statuses = [str(m.get("status", "?")) for m in cluster.instances]
        failed = next((s for s in statuses if s in INSTANCE_FAILURE), None)
        state = f"member {failed}" if failed else cluster_state(cluster)
        return Observation(state, cluster)

    def done(obs: Observation) -> bool:
        cluster = obs.resource
        if cluster is None or (cluster.task or {}).get("name") != "NONE":
            return False
        statuses = [m.get("status") for m in cluster.instances]
        return (not members_active or all(s == "ACTIVE" for s in statuses)) and \
            (members is None or len(statuses) == members)

    def fault(obs: Observation) -> str:
        cluster = obs.resource
        ids = [m["id"] for m in getattr(cluster, "instances", [])
               if m.get("status") in INSTANCE_FAILURE]
        return "; ".join(instance_fault(trove_admin or trove, i) for i in ids)

    what = f"cluster {cluster_id} to have task NONE" + \
        (f" and {members} members" if members is not None else "") + \
        (", every member ACTIVE" if members_active else "")
    return wait(what, observe, done, transient=None, operation=operation,
                timeout=timeout if timeout is not None else TIMEOUTS["cluster"],
                failure_detail=fault, progress=progress,
                fail_when=lambda obs: obs.state.startswith("member ")).resource


def wait_for_cluster_gone(trove: Any, cluster_id: str, *, timeout: float | None = None) -> None:
    """Wait until GET on the cluster answers 404 (deleted, members with it)."""
    observe = observing_until_gone(lambda: trove.clusters.get(cluster_id), cluster_state)
    wait(f"cluster {cluster_id} to be deleted", observe, lambda o: o.state == "GONE",
         transient=None, operation="cluster delete",
         timeout=timeout if timeout is not None else TIMEOUTS["delete"])


# ----------------------------------------------------------------- backups
def wait_for_backup(trove: Any, backup_id: str, *, timeout: float | None = None,
                    progress: Callable[[str], None] | None = None) -> Any:
    def observe() -> Observation:
        backup = trove.backups.get(backup_id)
        return Observation(getattr(backup, "status", "?"), backup)

    return wait(f"backup {backup_id} to complete", observe, lambda o: o.state == "COMPLETED",
                transient={"NEW", "BUILDING", "SAVING", "COMPLETED"}, operation="backup",
                timeout=timeout if timeout is not None else TIMEOUTS["backup"],
                progress=progress).resource


def wait_for_backup_gone(trove: Any, backup_id: str, *, timeout: float | None = None) -> None:
    observe = observing_until_gone(lambda: trove.backups.get(backup_id),
                                   lambda backup: str(getattr(backup, "status", "?")))
    wait(f"backup {backup_id} to be deleted", observe, lambda o: o.state == "GONE",
         transient={"COMPLETED", "DELETE_FAILED", "NEW", "BUILDING", "FAILED"},
         operation="delete", timeout=timeout if timeout is not None else TIMEOUTS["delete"])


# -------------------------------------------------------------- generic
def wait_until(what: str, predicate: Callable[[], bool], *, operation: str = "guest_cast",
               timeout: float | None = None, describe: Callable[[], str] | None = None) -> None:
    """Poll a condition (a user appearing in a list, a value in the engine)."""

    def observe() -> Observation:
        if predicate():
            return Observation("TRUE")
        return Observation(describe() if describe else "not yet")

    wait(what, observe, lambda obs: obs.state == "TRUE", transient=None, operation=operation,
         timeout=timeout if timeout is not None else TIMEOUTS[operation])
