"""Modules applied to an instance, as Trove's guest module manager keeps them.

A module of type ``ping`` succeeds when its contents carry a ``message=``
line (case-insensitive key) and reports that message, as Trove's ping
driver does; binary or message-less contents fail with Trove's wording.
Other types are recorded as applied.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
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
    try:
        text = data.decode()
    except UnicodeDecodeError:
        return "ERROR", "Could not extract ping message from contents"
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip().lower() == "message" and value.strip():
            return "OK", value.strip()
    return "ERROR", "Message not found in contents file"


class ModuleStore:
    def __init__(self, vm: GuestVM):
        self.vm = vm
        self.results: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}

    def apply(self, modules: list[dict[str, Any]]) -> list[dict[str, Any]]:
        applied = []
        for wrapper in modules:
            module = wrapper.get("module", wrapper)
            data = _decode(module.get("contents"))
            if str(module.get("type", "")).lower() == "ping":
                status, message = _ping_message(data)
            else:
                status, message = "OK", f"{module.get('type')} module applied"
            previous = self.results.get(module["id"])
            now = _now()
            result = {
                "id": module["id"], "name": module.get("name"), "type": module.get("type"),
                "datastore": module.get("datastore"),
                "datastore_version": module.get("datastore_version"),
                "tenant": module.get("tenant"), "md5": module.get("md5") or
                hashlib.md5(data).hexdigest(), "status": status, "message": message,
                "created": previous["created"] if previous else now, "updated": now,
                "removed": None, "auto_apply": module.get("auto_apply"),
                "visible": module.get("visible"), "is_admin": module.get("is_admin"),
                "contents": None,
            }
            self.results[module["id"]] = result
            self.contents[module["id"]] = data
            self.vm.log(f"module {module.get('name')} applied: {status} {message}")
            applied.append(dict(result))
        return applied

    def remove(self, module: dict[str, Any]) -> None:
        from trove.common import exception

        module = module.get("module", module)
        result = self.results.get(module["id"])
        if result is None or result["removed"]:
            raise exception.NotFound(f"Module {module.get('name')} has not been applied.")
        result["removed"] = _now()
        self.vm.log(f"module {module.get('name')} removed")

    def list(self, include_contents: bool, is_admin: bool) -> list[dict[str, Any]]:
        listing = []
        for module_id, result in self.results.items():
            if result["removed"] or not (result["is_admin"] is False or result["visible"]
                                         or is_admin):
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
