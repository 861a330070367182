"""Modules applied to an instance, as Trove's guest module manager keeps them.

A module of type ``ping`` succeeds when its contents carry a ``message=``
line (case-insensitive key) and reports that message, as Trove's ping
driver does; binary or message-less contents fail with Trove's wording.
Modules are applied in Trove's order (priority first, then ``apply_order``).
Other types have no driver here and are refused, as by a guest without one.
"""

from __future__ import annotations

import base64
import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from trove_it.localcloud.guest.vm import GuestVM

ADMIN_ONLY = "Must be admin to retrieve contents for module {name}"


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[0:22]


def _decode(contents: Any) -> bytes:
    if contents is None:
        return b""
    raw = contents.encode() if isinstance(contents, str) else bytes(contents)
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:
        return raw


def _ping_message(data: bytes) -> tuple[str, str]:
    """What Trove's ping driver reports: the value of a ``message`` key."""
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        return "ERROR", f"Could not extract ping message: {exc}"
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() == "message":
            return "OK", value.strip()
    return "ERROR", "Message not found in contents file"


def apply_order(modules: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The order Trove's guest applies modules in: priority ones first, then
    by ``apply_order`` (both sorts are stable, as in the guest manager)."""
    ordered = sorted(modules, key=lambda m: m.get("apply_order", 5))
    return sorted(ordered, key=lambda m: bool(m.get("priority_apply")), reverse=True)


class ModuleStore:
    """The guest's module results, as Trove's module manager keeps them on disk:
    one result per module id, kept (marked removed) after a remove."""

    def __init__(self, vm: GuestVM):
        self.vm = vm
        self.results: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}

    def apply(self, modules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from trove.common import exception

        applied = []
        for module in apply_order([w.get("module", w) for w in modules]):
            name, module_type = module.get("name"), str(module.get("type", ""))
            if not name:
                raise AttributeError("Module name not specified")
            if not module.get("contents"):
                raise AttributeError("Module contents not specified")
            if module_type.lower() != "ping":
                raise exception.ModuleTypeNotFound(
                    f"No driver implemented for module type '{module_type}'")
            datastore = module.get("datastore") or "all"
            if datastore != "all" and datastore != self.vm.manager:
                raise exception.ModuleInvalid(
                    reason=f"Module not valid for datastore {self.vm.manager}")
            data = _decode(module.get("contents"))
            status, message = _ping_message(data)
            previous = self.results.get(module["id"])
            now = _now()
            result = {
                "id": module["id"], "name": name, "type": module_type,
                "datastore": datastore,
                "datastore_version": module.get("datastore_version") or "all",
                "tenant": module.get("tenant") or "all", "md5": module.get("md5"),
                "status": status, "message": message,
                "created": previous["created"] if previous else now, "updated": now,
                "removed": None, "auto_apply": module.get("auto_apply", True),
                "visible": module.get("visible", True), "is_admin": module.get("is_admin"),
                "contents": None,
            }
            self.results[module["id"]] = result
            self.contents[module["id"]] = data
            self.vm.log(f"module {name} applied: {status} {message}")
            applied.append(dict(result))
        return applied

    def remove(self, module: dict[str, Any]) -> None:
        from trove.common import exception

        module = module.get("module", module)
        result = self.results.get(module["id"])
        if result is None:  # a module once applied can be removed again, as in Trove
            raise exception.NotFound(f"Module '{module.get('name')}' has not been applied")
        result["removed"] = _now()
        self.vm.log(f"module {module.get('name')} removed")

    def list(self, include_contents: bool, is_admin: bool) -> list[dict[str, Any]]:
        listing = []
        for module_id, result in self.results.items():
            if result["removed"] or not (is_admin or result["visible"]):
                continue
            item = dict(result)
            if include_contents:
                if result["is_admin"] and not is_admin:
                    data = ADMIN_ONLY.format(name=result["name"]).encode()
                else:
                    data = self.contents.get(module_id, b"")
                item["contents"] = base64.b64encode(data).decode()
            listing.append(item)
        listing.sort(key=lambda r: r["updated"], reverse=True)
        return listing
