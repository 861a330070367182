"""``/_trove_it``: the local cloud's own control endpoint (admin only).

Fault injection for error-path scenarios (fail or recover a guest, fail the
next server create, hold the next build in BUILD, hold a guest's backups
while BUILDING), and the views a failing
test's dossier needs: what a guest runs and where, and the tails of the
server and engine logs.
"""

from __future__ import annotations

from typing import Any

import webob

from trove_it.localcloud import runtime
from trove_it.localcloud.endpoints.callers import required_account
from trove_it.localcloud.endpoints.wsgi_json import (
    BadRequest,
    Forbidden,
    Handler,
    NotFound,
    Router,
    json_response,
    request_json,
)
from trove_it.localcloud.lifecycle import profiles

MAX_LINES = 2000


def _admin(request: webob.Request) -> None:
    if not required_account(request).is_admin:
        raise Forbidden("The trove-it control endpoint is for administrators only.")


def _lines(request: webob.Request, default: int = 100) -> int:
    try:
        return max(1, min(MAX_LINES, int(request.params.get("lines", default))))
    except ValueError:
        return default


def _tail(path: Any, lines: int) -> list[str]:
    try:
        with open(path, errors="replace") as handle:
            return handle.read().splitlines()[-lines:]
    except OSError:
        return []


def _status(request: webob.Request) -> webob.Response:
    _admin(request)
    rt = runtime.get()
    return json_response({
        "name": rt.name,
        "network_cidr": str(rt.network.cidr),
        "profile": rt.profile.name,
        "boot_from_volume": rt.profile.boot_from_volume,
        "tenant_network": rt.network.tenant.name,
        "management_network": rt.network.management.name if rt.network.management else None,
        "unavailable_engines": dict(rt.engines.unavailable),
        "guests": [vm.describe() for vm in rt.guests.all()],
        "pending_faults": rt.faults.pending(),
        **_vm_status(rt),
    })


def _vm_status(rt: Any) -> dict[str, Any]:
    """Where a vm cloud's guests live and what serves them (nothing otherwise)."""
    services = rt.vm_services
    if services is None:
        return {}
    return {"namespace": services.namespace, "gateway": profiles.VM_GATEWAY,
            "registry": services.registry.url, "accel": rt.vm_host.accel.name,
            "accel_reason": rt.vm_host.accel.reason,
            "vms": [machine.server_id for machine in rt.vm_host.machines.values()]}


def _vms(request: webob.Request) -> webob.Response:
    """Every guest a vm cloud booted (deleted ones too): the stages each reached."""
    _admin(request)
    host = runtime.get().vm_host
    return json_response({"vms": list(host.history.values()) if host is not None else []})


def _vm(request: webob.Request, ref: str) -> webob.Response:
    """A vm cloud's guest (by server or instance id): the stages its boot
    reached, the verdict when it cannot come up, its console and agent log."""
    _admin(request)
    host = runtime.get().vm_host
    machine = host.find(ref) if host is not None else None
    if host is None or machine is None:
        raise NotFound(f"No QEMU guest for {ref} on this cloud.")
    return json_response({"vm": host.describe(machine, _lines(request))})


def _guest(request: webob.Request, instance_id: str) -> Any:
    vm = runtime.get().guests.find(instance_id)
    if vm is None:
        raise NotFound(f"No guest for instance {instance_id} on this cloud.")
    return vm


def _show_guest(request: webob.Request, instance_id: str) -> webob.Response:
    _admin(request)
    return json_response({"guest": _guest(request, instance_id).describe()})


def _guest_action(method: str) -> Handler:
    """A fault-injection POST on one guest: call the guest's ``method``, answer 202
    with the guest."""

    def handle(request: webob.Request, instance_id: str) -> webob.Response:
        _admin(request)
        vm = _guest(request, instance_id)
        getattr(vm, method)()
        return json_response({"guest": vm.describe()}, status=202)

    return handle


def _guest_log(request: webob.Request, instance_id: str) -> webob.Response:
    _admin(request)
    vm = _guest(request, instance_id)
    return json_response({"instance_id": instance_id, "lines": vm.log_tail(_lines(request))})


def _server_log(request: webob.Request) -> webob.Response:
    _admin(request)
    rt = runtime.get()
    return json_response({"path": str(rt.layout.server_log),
                          "lines": _tail(rt.layout.server_log, _lines(request))})


def _fail_next_create(request: webob.Request) -> webob.Response:
    _admin(request)
    spec = request_json(request) or {}
    count = int(spec.get("count", 1))
    runtime.get().faults.fail_next_server_create(spec.get("message"), count, spec.get("name"))
    return json_response({"pending_faults": runtime.get().faults.pending()}, status=202)


def _hold_next_build(request: webob.Request) -> webob.Response:
    _admin(request)
    spec = request_json(request) or {}
    runtime.get().faults.hold_next_build(spec.get("name"))
    return json_response({"pending_faults": runtime.get().faults.pending()}, status=202)


def _set_transient(request: webob.Request) -> webob.Response:
    _admin(request)
    spec = request_json(request) or {}
    faults = runtime.get().faults
    try:
        faults.set_transient(float(spec.get("rate", 0.0)), spec.get("methods"),
                             spec.get("kinds"), spec.get("seed"))
    except (TypeError, ValueError) as exc:
        raise BadRequest(str(exc)) from None
    return json_response({"transient": faults.transient.describe()}, status=202)


def _show_transient(request: webob.Request) -> webob.Response:
    _admin(request)
    return json_response({"transient": runtime.get().faults.transient.describe()})


def _clear_faults(request: webob.Request) -> webob.Response:
    _admin(request)
    runtime.get().faults.clear()
    return webob.Response(status=204)


def app_factory(global_config: dict[str, Any], **local_config: Any) -> Router:
    router = Router()
    router.add("GET", "/status", _status)
    router.add("GET", "/guests/(?P<instance_id>[^/]+)", _show_guest)
    for action, method in (("fail", "fail"), ("recover", "recover"),
                           ("hold-backups", "hold_backups"),
                           ("release-backups", "release_backups")):
        router.add("POST", f"/guests/(?P<instance_id>[^/]+)/{action}", _guest_action(method))
    router.add("GET", "/guests/(?P<instance_id>[^/]+)/log", _guest_log)
    router.add("GET", "/logs/server", _server_log)
    router.add("GET", "/vms", _vms)
    router.add("GET", "/vms/(?P<ref>[^/]+)", _vm)
    router.add("POST", "/faults/next-server-create", _fail_next_create)
    router.add("POST", "/faults/next-build-hold", _hold_next_build)
    router.add("DELETE", "/faults", _clear_faults)
    router.add("PUT", "/faults/transient", _set_transient)
    router.add("GET", "/faults/transient", _show_transient)
    return router
