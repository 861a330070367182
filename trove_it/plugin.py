"""The trove-it pytest plugin: thin hooks over the harness's modules.

Options become one ``Settings`` object (``settings.py``); collected tests
are parametrised by datastore and gated by capability (``gating.py``); the
process that owns the run provisions the target once before any test
(``provisioning/run.py``) and undoes it at the end, after the leak check
(``leaks.py``); failure reports carry a dossier (``dossier.py``); the
terminal summary shows deselections, waits and leftovers.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from typing import Any

import pytest

from trove_it import emulation, gating, markers, waiters
from trove_it.errors import UserError
from trove_it.masking import mask
from trove_it.run_counts import CREATED
from trove_it.run_state import RunState
from trove_it.settings import OPTIONS, Settings, SettingsError, from_pytest_config
from trove_it.timing import LEDGER

SETTINGS = pytest.StashKey[Settings]()
RUN_STATE = pytest.StashKey[RunState]()
DESELECTED = pytest.StashKey[gating.Deselections]()
SUMMARY = pytest.StashKey[list[str]]()  # lines for the terminal summary
FAILED = pytest.StashKey[list[str]]()
PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
DOSSIER = pytest.StashKey[str]()
UNCHECKED = pytest.StashKey[list[str]]()  # engine checks a test could not run
DOSSIER_SECTION = "Captured stdout: trove-it dossier"
WAITS_PROPERTY = "trove_it_waits"
CREATED_PROPERTY = "trove_it_created"


# ------------------------------------------------------------------ options
def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("trove-it", "trove-it: Trove integration harness")
    for spec in OPTIONS:
        if spec.flag:
            group.addoption(spec.cli, dest=spec.name, action="store_true", default=None,
                            help=f"{spec.help} (ini {spec.ini}, env {spec.env})")
        else:
            group.addoption(spec.cli, dest=spec.name, default=None, metavar=spec.metavar,
                            help=f"{spec.help} (ini {spec.ini}, env {spec.env})")
        parser.addini(spec.ini, spec.help, default=None)


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def _workerinput(config: pytest.Config) -> dict[str, Any]:
    return dict(getattr(config, "workerinput", {}))


def _uses_xdist(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "numprocesses", None)) and not _is_worker(config)


def pytest_configure(config: pytest.Config) -> None:
    markers.register(config)
    if _is_worker(config):
        os.environ.setdefault("TROVE_IT_RUN_ID", _workerinput(config)["trove_it_run_id"])
    try:
        settings = from_pytest_config(config)
    except SettingsError as exc:
        raise pytest.UsageError(str(exc)) from None
    if _is_worker(config):
        settings = dataclasses.replace(
            settings, local_cloud=_workerinput(config)["trove_it_local_cloud"])
    else:
        # Workers inherit the controller's run id through workerinput.
        os.environ.setdefault("TROVE_IT_RUN_ID", settings.run_id)
        settings = _choose_local_cloud(settings)
    config.stash[SETTINGS] = settings
    waiters.scale_timeouts(settings.timeout_scale)
    config.stash[RUN_STATE] = RunState(settings.run_id)
    config.stash[DESELECTED] = gating.Deselections()
    config.stash[SUMMARY] = []
    config.stash[FAILED] = []
    if not _is_worker(config):
        _check_upgrade_state(settings)
        _handle_sigterm()
        _warn_if_sigint_ignored(config)
        _plan_clouds(config, settings)


def _check_upgrade_state(settings: Settings) -> None:
    """The verify phases need what create recorded: say so once, not per test."""
    from trove_it import upgrade_state

    if settings.upgrade_phase in ("verify", "verify_noapi"):
        try:
            upgrade_state.load(settings.upgrade_state, settings.upgrade_phase)
        except UserError as exc:
            raise pytest.UsageError(str(exc)) from None


def _choose_local_cloud(settings: Settings) -> Settings:
    """This run's own local cloud, or a shared one (``provisioning/cloud_choice``);
    first remove the clouds of runs that died without stopping theirs."""
    from trove_it.provisioning import cloud_choice

    if settings.cloud != "local":
        return settings
    cloud_choice.sweep_orphans()
    try:
        return cloud_choice.choose(settings)
    except UserError as exc:
        raise pytest.UsageError(str(exc)) from None


def _plan_clouds(config: pytest.Config, settings: Settings) -> None:
    """Decide between one cloud and a cloud per xdist worker (``provisioning/slots``),
    and start the local clouds' servers now if provisioning will want them."""
    from trove_it.provisioning import early_start, slots

    run_state = config.stash[RUN_STATE]
    workers = slots.worker_count(config)
    names = [settings.local_cloud]
    if slots.wants_worker_clouds(settings, workers):
        with run_state.locked() as state:
            state[slots.STATE_KEY] = True
        names = [slots.cloud_name(settings, slot) for slot in slots.worker_slots(workers)]
    if early_start.wanted(settings, config.args, config.rootpath,
                          bool(config.option.collectonly)):
        early_start.launch(names, run_state, settings.local_profile, settings.trove)


def worker_slot(config: pytest.Config) -> str:
    """The provisioning slot this process tests (see ``provisioning/slots``)."""
    from trove_it.provisioning import slots

    worker_id = _workerinput(config).get("workerid")
    return slots.slot_for(config.stash[RUN_STATE].read(), worker_id)


SIGINT_IGNORED = ("warning: this run started with SIGINT ignored (as a background job "
                  "does), so Ctrl-C cannot stop it; 'kill -TERM {pid}' stops it and "
                  "cleans up as Ctrl-C would")


def _warn_if_sigint_ignored(config: pytest.Config) -> None:
    """Say so at the start and in the summary: cleanup on Ctrl-C cannot work."""
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        line = f"trove-it: {SIGINT_IGNORED.format(pid=os.getpid())}"
        print(line, file=sys.stderr, flush=True)
        config.stash[SUMMARY].append(line)


INTERRUPTED: list[str] = []
"""The signals this run received: a cleanup ``finally`` that fails while a
KeyboardInterrupt passes through replaces it, so the run also stops here."""


def _handle_sigterm() -> None:
    """Turn SIGTERM (and Ctrl-C) into KeyboardInterrupt so teardown runs and
    nothing leaks, and remember it, so the run stops even if a test's own
    cleanup turns the interrupt into another error."""

    def interrupt(signum: int, frame: Any) -> None:
        INTERRUPTED.append(signal.Signals(signum).name)
        raise KeyboardInterrupt(f"signal {signum}")

    if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
        signal.signal(signal.SIGTERM, interrupt)
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, interrupt)


@pytest.hookimpl(trylast=True)
def pytest_runtest_logfinish(nodeid: str, location: Any) -> None:
    if INTERRUPTED and _SESSION:
        _SESSION[0].shouldstop = f"interrupted by {INTERRUPTED[0]}"


_SESSION: list[pytest.Session] = []


def pytest_sessionstart(session: pytest.Session) -> None:
    _SESSION[:] = [session]


def pytest_configure_node(node: Any) -> None:
    node.workerinput["trove_it_run_id"] = node.config.stash[SETTINGS].run_id
    node.workerinput["trove_it_local_cloud"] = node.config.stash[SETTINGS].local_cloud


# --------------------------------------------------------------- collection
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "datastore_name" in metafunc.fixturenames:
        names = metafunc.config.stash[SETTINGS].datastores
        metafunc.parametrize("datastore_name", names, scope="session", ids=list(names))


def _needs(item: pytest.Item) -> gating.TestNeeds:
    capabilities: list[str] = []
    for mark in item.iter_markers("requires"):
        capabilities.extend(mark.args)
    lacking: list[str] = []
    for mark in item.iter_markers("lacks"):
        lacking.extend(mark.args)
    callspec = getattr(item, "callspec", None)
    datastore = callspec.params.get("datastore_name") if callspec else None
    return gating.TestNeeds(
        datastore=datastore, capabilities=tuple(capabilities), lacking=tuple(lacking),
        fault_injection=item.get_closest_marker("fault_injection") is not None,
        image=item.get_closest_marker("image") is not None,
        real_data=item.get_closest_marker("real_data") is not None,
        upgrade_phase=_upgrade_phase(item))


def _upgrade_phase(item: pytest.Item) -> str | None:
    mark = item.get_closest_marker("upgrade_phase")
    return str(mark.args[0]) if mark is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    settings = config.stash[SETTINGS]
    counts = config.stash[DESELECTED]
    keep, drop = [], []
    for item in items:
        try:
            reason = gating.reason_to_deselect(_needs(item), settings)
        except ValueError as exc:
            raise pytest.UsageError(f"{item.nodeid}: {exc}") from None
        if reason is None:
            keep.append(item)
        else:
            drop.append(item)
            counts.add(reason)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    for item in items:
        _mark_known_bugs(item)


def _mark_known_bugs(item: pytest.Item) -> None:
    """Known Trove bugs become strict xfails, so a fix upstream is noticed."""
    datastore = _needs(item).datastore
    for mark in item.iter_markers("known_bug"):
        affected = mark.kwargs.get("datastores")
        if affected is None or datastore in affected:
            reason = mark.args[0] if mark.args else "known Trove bug"
            item.add_marker(pytest.mark.xfail(reason=f"known Trove bug: {reason}",
                                              strict=True, raises=AssertionError))


def _needs_cloud(items: list[pytest.Item]) -> bool:
    return any("target" in getattr(item, "fixturenames", ()) for item in items)


def pytest_collection_finish(session: pytest.Session) -> None:
    config = session.config
    if config.option.collectonly or _is_worker(config) or _uses_xdist(config) or \
            not _needs_cloud(session.items):
        return
    _provision(config, tie_to_parent=True)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node: Any, ids: list[str]) -> None:
    from trove_it.provisioning import slots

    config = node.config
    if config.stash[RUN_STATE].read().get(slots.STATE_KEY):
        return  # each worker provisions its own cloud
    needs = any(i.startswith("scenarios/") and "test_image" not in i for i in ids)
    if needs:
        _provision(config, tie_to_parent=True)


def _provision(config: pytest.Config, tie_to_parent: bool) -> None:
    from trove_it.provisioning.run import provision

    settings = config.stash[SETTINGS]
    try:
        provision(settings, config.stash[RUN_STATE], tie_to_parent)
    except UserError as exc:
        _teardown_run(config)
        raise pytest.UsageError(mask(str(exc))) from None
    except BaseException:
        _teardown_run(config)
        raise


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """A test whose other checks passed but whose engine checks could not run is
    reported as skipped, with the reasons, rather than as a pass."""
    result = yield
    unchecked = item.stash.get(UNCHECKED, [])
    if unchecked:
        pytest.skip("passed without its engine checks: " + "; ".join(dict.fromkeys(unchecked)))
    return result


# ----------------------------------------------------------------- reports
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" and hasattr(report, "wasxfail") and \
            item.get_closest_marker("known_bug") is not None:
        # A known bug shows in the test's own steps; a fixture that broke is
        # an error of the harness or the target, never the expected failure.
        del report.wasxfail
        report.outcome = "failed"
    item.stash.setdefault(PHASE_REPORTS, {})[report.when] = report
    if report.skipped and item.stash.get(UNCHECKED, None) and isinstance(report.longrepr, tuple):
        # Point the skip at the test rather than at this plugin.
        path, line, _ = item.location
        report.longrepr = (path, (line or 0) + 1, report.longrepr[2])
    waits = LEDGER.drain()
    if waits:
        report.user_properties.append((WAITS_PROPERTY, waits))
    created = CREATED.drain()
    if created:
        report.user_properties.append((CREATED_PROPERTY, created))
    if report.failed and call.excinfo is not None and \
            call.excinfo.errisinstance(pytest.skip.Exception) is False:
        item.config.stash[FAILED].append(item.nodeid)
        from trove_it.dossier import build_dossier

        text = build_dossier(item, call.excinfo.value, call.start)
        if text:
            item.stash[DOSSIER] = mask(text)
            report.sections.append((DOSSIER_SECTION, item.stash[DOSSIER]))
    if report.when == "teardown" and DOSSIER in item.stash:
        # JUnit writes the teardown report's captured output to system-out.
        report.sections.append((DOSSIER_SECTION, item.stash[DOSSIER]))
    if report.longrepr is not None and report.failed:
        report.longrepr = _masked_longrepr(report)


def _masked_longrepr(report: pytest.TestReport) -> Any:
    text = str(report.longrepr)
    masked = mask(text)
    return masked if masked != text else report.longrepr


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not hasattr(report, "node"):
        return  # local run: the ledger already has these waits
    for key, value in report.user_properties:
        if key == WAITS_PROPERTY:
            entries: list[Any] = list(value)  # type: ignore[call-overload]
            LEDGER.merge([(str(op), float(seconds), bool(ok), float(notice))
                          for op, seconds, ok, notice in entries])
        elif key == CREATED_PROPERTY:
            CREATED.merge({str(k): int(v) for k, v in dict(value).items()})  # type: ignore[call-overload]


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash[SETTINGS]
    local = settings.cloud == "local"
    described = [emulation.describe(name, local) for name in settings.datastores]
    trove = f" running Trove {settings.trove}" if local and settings.trove != "installed" \
        else ""
    return [f"trove-it: datastores {', '.join(described)}; target {settings.cloud}{trove}; "
            f"run id {settings.run_id}"]


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int,
                            config: pytest.Config) -> None:
    summary: list[str] = config.stash[SUMMARY]
    lines = list(summary)
    settings = config.stash[SETTINGS]
    emulated = emulation.summary_line(settings.datastores, settings.cloud == "local")
    if emulated and any(line.startswith("target: ") for line in summary):  # it provisioned
        lines.insert(0, emulated)
    deselected = config.stash[DESELECTED]
    if deselected.total:
        lines += list(deselected.lines())
    created = CREATED.line()
    if created:
        lines.append(created)
    waits = LEDGER.lines()
    if waits:
        lines.append("time spent waiting, per operation:")
        lines += [f"  {line}" for line in waits]
    if lines:
        terminalreporter.write_sep("-", "trove-it")
        for line in lines:
            terminalreporter.write_line(mask(line))


def test_failed(item: pytest.Item) -> bool:
    """Did this test fail in setup or call? (for fixtures deciding what to keep)"""
    reports = item.stash.get(PHASE_REPORTS, {})
    return any(r.failed for r in reports.values())


def any_test_failed(config: pytest.Config) -> bool:
    return bool(config.stash[FAILED])


# ----------------------------------------------------------------- the end
@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """After pytest's own teardown of the fixtures still set up (an interrupted
    run's trackers delete what they own while the run's flavors still exist),
    the leak check and the run's teardown."""
    config = session.config
    if _is_worker(config):
        from trove_it.provisioning import finish, slots

        slot = worker_slot(config)
        if slot != slots.SHARED:
            finish.finish_slot(config.stash[SETTINGS], config.stash[RUN_STATE], slot)
        return
    _teardown_run(config)


def _teardown_run(config: pytest.Config) -> None:
    """Finish every slot of the run and put what the user should see in the summary."""
    from trove_it.provisioning import finish

    settings = config.stash[SETTINGS]
    run_state = config.stash[RUN_STATE]
    summary = config.stash[SUMMARY]
    for slot, data in sorted(run_state.read().get("setups", {}).items()):
        where = "" if slot == "shared" else f" (worker {slot})"
        summary.append(f"target: {data['target']['description']}{where}; "
                       f"run id {settings.run_id}")
    summary.extend(finish.finish_run(settings, run_state))
