"""Object store: file-backed swift accounts, containers and objects.

Backups and published guest logs are written here by the guest and read
back through the Swift HTTP endpoint (``objectstore_api``), so python-
troveclient's log reader and swiftclient work against it unchanged. Object
names are URL-quoted into single file names, because Swift allows both
``a`` and ``a/b`` in one container.

Trove's backup program (in a real guest's backup container) stores a backup
as segments, then either copies its one segment to the backup's name
(``X-Copy-From``) or writes a static large object manifest naming them all
(``multipart-manifest=put``); Swift's semantics for both are kept: a copy
keeps the source's data and ETag with the new metadata, a manifest's ETag is
the MD5 of its segments' ETags, a read of it streams the segments, and its
delete with ``multipart-manifest=delete`` removes them too.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import shutil
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from swiftclient import exceptions as swift_exc

META_DIR = ".meta"
CONTAINER_META = ".container.json"
CHUNK = 1024 * 1024


def _not_found(what: str) -> swift_exc.ClientException:
    return swift_exc.ClientException(f"{what} not found", http_status=404, http_reason="Not Found")


def _http_date(ts: float) -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(ts))


def _iso(ts: float) -> str:
    return datetime.datetime.fromtimestamp(ts, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")


class ObjectStore:
    def __init__(self, root: Path):
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()

    # paths ------------------------------------------------------------
    def _account(self, account: str) -> Path:
        return self.root / quote(account, safe="")

    def _container(self, account: str, container: str) -> Path:
        if not container or "/" in container:
            raise swift_exc.ClientException(f"invalid container name {container!r}",
                                            http_status=400)
        return self._account(account) / quote(container, safe="")

    def _object(self, account: str, container: str, name: str) -> tuple[Path, Path]:
        base = self._container(account, container)
        encoded = quote(name, safe="")
        return base / encoded, base / META_DIR / f"{encoded}.json"

    # accounts ---------------------------------------------------------
    def accounts(self) -> list[str]:
        return sorted(unquote(p.name) for p in self.root.iterdir() if p.is_dir())

    def delete_account(self, account: str) -> None:
        """Remove an account with every container and object in it."""
        with self._lock:
            shutil.rmtree(self._account(account), ignore_errors=True)

    def list_containers(self, account: str, prefix: str | None = None) -> list[dict[str, Any]]:
        base = self._account(account)
        if not base.is_dir():
            return []
        result = []
        for path in sorted(base.iterdir()):
            name = unquote(path.name)
            if prefix and not name.startswith(prefix):
                continue
            objects = self.list_objects(account, name)
            result.append({"name": name, "count": len(objects),
                           "bytes": sum(o["bytes"] for o in objects)})
        return result

    def account_headers(self, account: str) -> dict[str, str]:
        containers = self.list_containers(account)
        return {"x-account-container-count": str(len(containers)),
                "x-account-object-count": str(sum(c["count"] for c in containers)),
                "x-account-bytes-used": str(sum(c["bytes"] for c in containers)),
                "content-type": "application/json"}

    # containers -------------------------------------------------------
    def put_container(self, account: str, container: str,
                      headers: dict[str, str] | None = None) -> None:
        path = self._container(account, container)
        with self._lock:
            (path / META_DIR).mkdir(parents=True, exist_ok=True)
            meta_path = path / CONTAINER_META
            meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
            meta.update({k.lower(): v for k, v in (headers or {}).items()
                         if k.lower().startswith("x-container-meta-")})
            meta_path.write_text(json.dumps(meta))

    def container_exists(self, account: str, container: str) -> bool:
        return self._container(account, container).is_dir()

    def container_headers(self, account: str, container: str) -> dict[str, str]:
        path = self._container(account, container)
        if not path.is_dir():
            raise _not_found(f"container {container}")
        objects = self.list_objects(account, container)
        headers = {"x-container-object-count": str(len(objects)),
                   "x-container-bytes-used": str(sum(o["bytes"] for o in objects)),
                   "content-type": "application/json"}
        meta_path = path / CONTAINER_META
        if meta_path.exists():
            headers.update(json.loads(meta_path.read_text()))
        return headers

    def delete_container(self, account: str, container: str) -> None:
        path = self._container(account, container)
        with self._lock:
            if not path.is_dir():
                raise _not_found(f"container {container}")
            if self.list_objects(account, container):
                raise swift_exc.ClientException(
                    f"container {container} is not empty", http_status=409,
                    http_reason="Conflict")
            shutil.rmtree(path)

    def list_objects(self, account: str, container: str, prefix: str | None = None,
                     marker: str | None = None, limit: int | None = None,
                     delimiter: str | None = None) -> list[dict[str, Any]]:
        path = self._container(account, container)
        if not path.is_dir():
            raise _not_found(f"container {container}")
        meta_dir = path / META_DIR
        entries = []
        seen_prefixes: set[str] = set()
        for meta_file in sorted(meta_dir.glob("*.json")):
            name = unquote(meta_file.name[:-len(".json")])
            if prefix and not name.startswith(prefix):
                continue
            if marker and name <= marker:
                continue
            if delimiter:
                rest = name[len(prefix or ""):]
                if delimiter in rest:
                    sub = (prefix or "") + rest.split(delimiter, 1)[0] + delimiter
                    if sub not in seen_prefixes:
                        seen_prefixes.add(sub)
                        entries.append({"subdir": sub})
                    continue
            meta = json.loads(meta_file.read_text())
            entries.append({"name": name, "bytes": meta["bytes"], "hash": meta["etag"],
                            "last_modified": _iso(meta["mtime"]),
                            "content_type": meta["content_type"]})
        entries.sort(key=lambda e: e.get("name") or e.get("subdir") or "")
        return entries[:limit] if limit else entries

    # objects ----------------------------------------------------------
    def put_object(self, account: str, container: str, name: str,
                   chunks: Iterable[bytes] | bytes | str,
                   content_type: str | None = None,
                   headers: dict[str, str] | None = None) -> str:
        data_path, meta_path = self._object(account, container, name)
        if not data_path.parent.is_dir():
            raise _not_found(f"container {container}")
        if isinstance(chunks, str):
            chunks = chunks.encode()
        if isinstance(chunks, bytes):
            chunks = [chunks]
        md5, size = hashlib.md5(), 0
        tmp = data_path.with_name(data_path.name + ".part")
        with tmp.open("wb") as handle:
            for chunk in chunks:
                if isinstance(chunk, str):
                    chunk = chunk.encode()
                handle.write(chunk)
                md5.update(chunk)
                size += len(chunk)
        etag = md5.hexdigest()
        meta = {"etag": etag, "bytes": size, "mtime": time.time(),
                "content_type": content_type or "application/octet-stream",
                "headers": {k.lower(): v for k, v in (headers or {}).items()
                            if k.lower().startswith("x-object-meta-")}}
        with self._lock:
            tmp.replace(data_path)
            meta_path.write_text(json.dumps(meta))
        return etag

    def _meta(self, account: str, container: str, name: str) -> dict[str, Any]:
        _, meta_path = self._object(account, container, name)
        if not meta_path.exists():
            raise _not_found(f"object {container}/{name}")
        return dict(json.loads(meta_path.read_text()))

    def copy_object(self, account: str, container: str, name: str, source: str,
                    headers: dict[str, str] | None = None) -> str:
        """PUT with ``X-Copy-From: /<container>/<object>``: the source's data and
        ETag under ``name``, its metadata updated with the request's."""
        source_container, _, source_name = source.lstrip("/").partition("/")
        if not source_container or not source_name:
            raise swift_exc.ClientException(f"X-Copy-From {source!r} must name "
                                            f"/container/object", http_status=412)
        meta = self._meta(account, source_container, source_name)
        src_data, _ = self._object(account, source_container, source_name)
        data_path, meta_path = self._object(account, container, name)
        if not data_path.parent.is_dir():
            raise _not_found(f"container {container}")
        meta["headers"] = {**meta.get("headers", {}), **{
            k.lower(): v for k, v in (headers or {}).items()
            if k.lower().startswith("x-object-meta-")}}
        meta["mtime"] = time.time()
        tmp = data_path.with_name(data_path.name + ".part")
        with self._lock:
            shutil.copyfile(src_data, tmp)
            tmp.replace(data_path)
            meta_path.write_text(json.dumps(meta))
        return str(meta["etag"])

    def put_manifest(self, account: str, container: str, name: str, manifest: bytes,
                     headers: dict[str, str] | None = None) -> str:
        """A static large object: ``manifest`` lists its segments (``path``,
        ``etag``, ``size_bytes``), each checked against what is stored, as Swift
        checks them; returns the manifest's own ETag (of its text)."""
        try:
            segments = json.loads(manifest)
        except ValueError:
            raise swift_exc.ClientException("the manifest is not JSON",
                                            http_status=400) from None
        listed, total, etags = [], 0, hashlib.md5()
        for segment in segments:
            path = str(segment.get("path", ""))
            seg_container, _, seg_name = path.lstrip("/").partition("/")
            try:
                meta = self._meta(account, seg_container, seg_name)
            except swift_exc.ClientException:
                raise swift_exc.ClientException(f"segment {path} does not exist",
                                                http_status=400) from None
            for key, stored in (("etag", meta["etag"]), ("size_bytes", meta["bytes"])):
                if segment.get(key) not in (None, stored):
                    raise swift_exc.ClientException(
                        f"segment {path}: {key} {segment.get(key)} does not match the "
                        f"stored {stored}", http_status=400)
            listed.append({"name": f"/{seg_container}/{seg_name}", "bytes": meta["bytes"],
                           "hash": meta["etag"]})
            total += int(meta["bytes"])
            etags.update(str(meta["etag"]).encode())
        data_path, meta_path = self._object(account, container, name)
        if not data_path.parent.is_dir():
            raise _not_found(f"container {container}")
        meta = {"etag": etags.hexdigest(), "bytes": total, "mtime": time.time(),
                "content_type": "application/octet-stream", "slo": listed,
                "headers": {k.lower(): v for k, v in (headers or {}).items()
                            if k.lower().startswith("x-object-meta-")}}
        with self._lock:
            data_path.write_bytes(b"")
            meta_path.write_text(json.dumps(meta))
        return hashlib.md5(manifest).hexdigest()

    def manifest_of(self, account: str, container: str, name: str) -> list[dict[str, Any]] | None:
        """A static large object's segments (None for an ordinary object)."""
        slo = self._meta(account, container, name).get("slo")
        return list(slo) if slo is not None else None

    def object_headers(self, account: str, container: str, name: str) -> dict[str, str]:
        meta = self._meta(account, container, name)
        headers = {"etag": meta["etag"], "content-length": str(meta["bytes"]),
                   "content-type": meta["content_type"],
                   "last-modified": _http_date(meta["mtime"]),
                   "x-timestamp": f"{meta['mtime']:.5f}"}
        if "slo" in meta:
            headers["etag"] = f'"{meta["etag"]}"'
            headers["x-static-large-object"] = "True"
        headers.update(meta.get("headers", {}))
        return headers

    def post_object(self, account: str, container: str, name: str,
                    headers: dict[str, str]) -> None:
        _, meta_path = self._object(account, container, name)
        if not meta_path.exists():
            raise _not_found(f"object {container}/{name}")
        with self._lock:
            meta = json.loads(meta_path.read_text())
            meta["headers"] = {k.lower(): v for k, v in headers.items()
                               if k.lower().startswith("x-object-meta-")}
            meta_path.write_text(json.dumps(meta))

    def read_object(self, account: str, container: str, name: str) -> Iterator[bytes]:
        data_path, meta_path = self._object(account, container, name)
        if not meta_path.exists():
            raise _not_found(f"object {container}/{name}")
        segments = json.loads(meta_path.read_text()).get("slo")
        if segments is not None:
            for segment in segments:
                seg_container, _, seg_name = segment["name"].lstrip("/").partition("/")
                yield from self.read_object(account, seg_container, seg_name)
            return
        with data_path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def object_path(self, account: str, container: str, name: str) -> Path:
        data_path, meta_path = self._object(account, container, name)
        if not meta_path.exists():
            raise _not_found(f"object {container}/{name}")
        return data_path

    def delete_object(self, account: str, container: str, name: str,
                      with_segments: bool = False) -> None:
        """Delete an object; ``with_segments`` (``multipart-manifest=delete``)
        also deletes the segments of a static large object."""
        data_path, meta_path = self._object(account, container, name)
        with self._lock:
            if not meta_path.exists():
                raise _not_found(f"object {container}/{name}")
            segments = json.loads(meta_path.read_text()).get("slo") or []
            meta_path.unlink()
            data_path.unlink(missing_ok=True)
        if with_segments:
            for segment in segments:
                seg_container, _, seg_name = segment["name"].lstrip("/").partition("/")
                try:
                    self.delete_object(account, seg_container, seg_name)
                except swift_exc.ClientException:
                    pass  # already gone: what the caller asked for


class SwiftConnection:
    """The part of ``swiftclient.Connection`` that Trove and the guest use."""

    def __init__(self, store: ObjectStore, account: str):
        self._store = store
        self.account = account

    def get_account(self, full_listing: bool = False, prefix: str | None = None,
                    headers: dict[str, str] | None = None, **_: Any
                    ) -> tuple[dict[str, str], list[dict[str, Any]]]:
        return (self._store.account_headers(self.account),
                self._store.list_containers(self.account, prefix))

    def head_account(self, headers: dict[str, str] | None = None) -> dict[str, str]:
        return self._store.account_headers(self.account)

    def put_container(self, container: str, headers: dict[str, str] | None = None,
                      **_: Any) -> None:
        self._store.put_container(self.account, container, headers)

    def head_container(self, container: str, headers: dict[str, str] | None = None
                       ) -> dict[str, str]:
        return self._store.container_headers(self.account, container)

    def post_container(self, container: str, headers: dict[str, str], **_: Any) -> None:
        self._store.put_container(self.account, container, headers)

    def get_container(self, container: str, marker: str | None = None,
                      limit: int | None = None, prefix: str | None = None,
                      delimiter: str | None = None, full_listing: bool = False,
                      **_: Any) -> tuple[dict[str, str], list[dict[str, Any]]]:
        objects = self._store.list_objects(self.account, container, prefix=prefix,
                                           marker=marker, limit=limit, delimiter=delimiter)
        return self._store.container_headers(self.account, container), objects

    def delete_container(self, container: str, **_: Any) -> None:
        self._store.delete_container(self.account, container)

    def put_object(self, container: str, obj: str, contents: Any, content_length: Any = None,
                   etag: str | None = None, chunk_size: Any = None,
                   content_type: str | None = None, headers: dict[str, str] | None = None,
                   **_: Any) -> str:
        if headers and headers.get("X-Copy-From"):
            return self._store.copy_object(self.account, container, obj,
                                           headers["X-Copy-From"], headers=headers)
        if hasattr(contents, "read"):
            reader = contents

            def chunks() -> Iterator[bytes]:
                while data := reader.read(CHUNK):
                    yield data
            payload: Any = chunks()
        else:
            payload = contents
        stored = self._store.put_object(self.account, container, obj, payload,
                                        content_type=content_type, headers=headers)
        if etag and etag != stored:
            self._store.delete_object(self.account, container, obj)
            raise swift_exc.ClientException("etag mismatch", http_status=422)
        return stored

    def head_object(self, container: str, obj: str, headers: dict[str, str] | None = None,
                    **_: Any) -> dict[str, str]:
        return self._store.object_headers(self.account, container, obj)

    def get_object(self, container: str, obj: str, resp_chunk_size: int | None = None,
                   **_: Any) -> tuple[dict[str, str], Any]:
        headers = self._store.object_headers(self.account, container, obj)
        chunks = self._store.read_object(self.account, container, obj)
        if resp_chunk_size:
            return headers, chunks
        return headers, b"".join(chunks)

    def post_object(self, container: str, obj: str, headers: dict[str, str], **_: Any) -> None:
        self._store.post_object(self.account, container, obj, headers)

    def delete_object(self, container: str, obj: str, query_string: str | None = None,
                      **_: Any) -> None:
        self._store.delete_object(self.account, container, obj,
                                  with_segments=query_string == "multipart-manifest=delete")

    def close(self) -> None:
        pass


def account_for(project_id: str) -> str:
    return f"AUTH_{project_id}"

