"""Instance SSL as Trove 26's guest does it (``guestagent/datastore/ssl.py``).

Trove's API fetches the PKCS#12 bundle from Barbican and hands the guest
its PEM parts (private_key, certificate, ca); the guest installs them on
the engine with an access mode, remembers the previous state so a failed
transaction can be rolled back, reports what the running server serves,
and passes its certificates and mode to new replicas. What needs a restart
is engine-specific (MariaDB reads TLS at start; PostgreSQL reloads).
The guest's ``CONF.ssl_mode`` lives in the VM's record as ``tls``.
"""

from __future__ import annotations

from typing import Any

from trove_it.localcloud.engines.base import Engine, TlsSettings
from trove_it.localcloud.guest.vm import GuestVM

STATE = "tls"
SAVED = "tls_saved"


class GuestTLS:
    def __init__(self, vm: GuestVM, engine: Engine):
        self.vm = vm
        self.engine = engine

    @property
    def mode(self) -> str | None:
        return (self.vm.extra.get(STATE) or {}).get("mode")

    def _settings(self, mode: str, files: dict[str, str]) -> TlsSettings:
        # Trove's MySQL guest refuses plain TCP once TLS is on; its MariaDB one does not
        return TlsSettings(files=dict(files), mode=mode,
                           require_secure_transport=self.vm.manager == "mysql")

    def _remember(self, mode: str | None, files: dict[str, str] | None) -> None:
        self.vm.extra[STATE] = {"mode": mode, "files": dict(files or {})}

    def _save_for_rollback(self) -> None:
        on, _ = self.engine.tls_status()
        state = self.vm.extra.get(STATE) or {}
        self.vm.extra[SAVED] = {"status": "on" if on else "off", "mode": state.get("mode"),
                                "files": dict(state.get("files") or {}) if on else {}}

    # the guest API's three calls -------------------------------------------
    def show(self, context: Any) -> dict[str, Any]:
        from oslo_serialization import jsonutils
        from trove.common.ssl import TroveSSL

        on, certificate = self.engine.tls_status()
        if not on or certificate is None:
            return {"status": "off"}
        details = TroveSSL(context).certificate_details(certificate)
        details["payload"] = certificate
        # what crosses the RPC wire: datetimes become strings
        return dict(jsonutils.to_primitive(
            {"status": "on", "mode": self.mode, "certificate": details},
            convert_datetime=True))

    def action(self, mode: str, container: dict[str, str] | None, enable: Any,
               disable: Any) -> tuple[dict[str, Any], bool]:
        """Returns the guest's answer and whether the instance needs a restart."""
        from trove.common import exception

        if enable and disable:
            raise exception.BadRequest("Cannot enable and disable ssl")
        restart = False
        if enable:
            restart = self.enable(mode, container or {})
        elif disable:
            if self.vm.manager == "mysql" and _major(self.vm.version_name) >= 8:
                # Trove's MySQL guest: caching_sha2_password depends on TLS
                raise exception.TroveError("Not supported for MySQL 8.0 and above")
            self._save_for_rollback()
            restart = self.engine.disable_tls()
            self._remember(None, None)
            self.vm.log("ssl: disabled")
        return {"restart_required": restart}, restart

    def enable(self, mode: str, files: dict[str, str], startup: bool = False) -> bool:
        if not startup:
            self._save_for_rollback()
        restart = self.engine.enable_tls(self._settings(mode, files))
        self._remember(mode, files)
        self.vm.log(f"ssl: enabled in {mode} mode{' (restart required)' if restart else ''}")
        return restart

    def rollback(self) -> tuple[dict[str, Any], bool]:
        from trove.common import exception

        saved = self.vm.extra.pop(SAVED, None)
        if saved is None:
            raise exception.TroveError("No previous ssl state to roll back to")
        result: dict[str, Any] = {"status": saved["status"]}
        if saved["status"] == "off":
            restart = self.engine.disable_tls()
            self._remember(None, None)
            result["mode"] = None
        else:
            restart = self.engine.enable_tls(self._settings(saved["mode"], saved["files"]))
            self._remember(saved["mode"], saved["files"])
            result["mode"] = saved["mode"]
        result["restart_required"] = restart
        self.vm.log(f"ssl: rolled back to {saved['status']} ({result['mode']})")
        return result, restart

    # replication and hand-over ------------------------------------------------
    def for_replicas(self) -> dict[str, Any]:
        """What a replication snapshot carries when this source serves TLS."""
        state = self.vm.extra.get(STATE) or {}
        on, _ = self.engine.tls_status()
        if not on or not state.get("mode"):
            return {}
        return {"cert_container": dict(state.get("files") or {}), "ssl_mode": state["mode"]}

    def resume(self) -> None:
        """After a hand-over: the engine object is new; give it its TLS again."""
        state = self.vm.extra.get(STATE) or {}
        if state.get("mode"):
            self.engine.enable_tls(self._settings(state["mode"], state.get("files") or {}))


def _major(version: str | None) -> int:
    try:
        return int(str(version or "0").split(".")[0])
    except ValueError:
        return 0
