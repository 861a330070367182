"""A read-only Cinder v3 endpoint: volumes, snapshots and volume types.

What an admin (and a scenario checking an instance's storage) reads with
``openstack volume show``: a server booted from a volume shows no image in
nova, and the image it booted is in its root volume's image metadata.
Creating and attaching volumes stays with Trove's own cinder client.
"""

from __future__ import annotations

from typing import Any

import webob

from trove_it.localcloud import runtime
from trove_it.localcloud.endpoints.callers import required_account
from trove_it.localcloud.endpoints.wsgi_json import NotFound, Router, json_response
from trove_it.localcloud.identity import Account


def _account(request: webob.Request) -> Account:
    return required_account(request)


def _visible(account: Account) -> list[Any]:
    volumes = runtime.get().volumes.volumes.values()
    return [v for v in volumes
            if account.is_admin or v.os_vol_tenant_attr_tenant_id == account.project_id]


def _list_volumes(request: webob.Request, project_id: str, detail: str | None = None
                  ) -> webob.Response:
    account = _account(request)
    volumes = [v.to_dict() for v in _visible(account)]
    if not detail:
        volumes = [{"id": v["id"], "name": v["name"]} for v in volumes]
    return json_response({"volumes": volumes})


def _show_volume(request: webob.Request, project_id: str, volume_id: str) -> webob.Response:
    account = _account(request)
    for volume in _visible(account):
        if volume.id == volume_id:
            return json_response({"volume": volume.to_dict()})
    raise NotFound(f"Volume {volume_id} could not be found.")


def _visible_snapshots(account: Account) -> list[Any]:
    snapshots = runtime.get().volumes.snapshots.snapshots.values()
    return [s for s in list(snapshots) if account.is_admin or s.project_id == account.project_id]


def _list_snapshots(request: webob.Request, project_id: str, detail: str | None = None
                    ) -> webob.Response:
    snapshots = [s.to_dict() for s in _visible_snapshots(_account(request))]
    if not detail:
        snapshots = [{k: s[k] for k in ("id", "name", "volume_id", "status", "size")}
                     for s in snapshots]
    return json_response({"snapshots": snapshots})


def _show_snapshot(request: webob.Request, project_id: str, snapshot_id: str
                   ) -> webob.Response:
    for snapshot in _visible_snapshots(_account(request)):
        if snapshot.id == snapshot_id:
            return json_response({"snapshot": snapshot.to_dict()})
    raise NotFound(f"Snapshot {snapshot_id} could not be found.")


def _list_types(request: webob.Request, project_id: str) -> webob.Response:
    _account(request)
    types = runtime.get().volumes.types.values()
    return json_response({"volume_types": [t.to_dict() for t in types]})


def app_factory(global_config: dict[str, Any], **local_config: Any) -> Router:
    project = "/v3/(?P<project_id>[^/]+)"
    router = Router()
    router.add("GET", f"{project}/volumes(?P<detail>/detail)?", _list_volumes)
    router.add("GET", f"{project}/volumes/(?P<volume_id>[^/]+)", _show_volume)
    router.add("GET", f"{project}/snapshots(?P<detail>/detail)?", _list_snapshots)
    router.add("GET", f"{project}/snapshots/(?P<snapshot_id>[^/]+)", _show_snapshot)
    router.add("GET", f"{project}/types", _list_types)
    return router
