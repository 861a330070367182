"""Object store: file-backed swift accounts, containers and objects.

Backups and published guest logs are written here by the guest and read
back through the Swift HTTP endpoint (``objectstore_api``), so python-
troveclient's log reader and swiftclient work against it unchanged. Object
names are URL-quoted into single file names, because Swift allows both
``a`` and ``a/b`` in one container.
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

    def object_headers(self, account: str, container: str, name: str) -> dict[str, str]:
        data_path, meta_path = self._object(account, container, name)
        if not meta_path.exists():
            raise _not_found(f"object {container}/{name}")
        meta = json.loads(meta_path.read_text())
        headers = {"etag": meta["etag"], "content-length": str(meta["bytes"]),
                   "content-type": meta["content_type"],
                   "last-modified": _http_date(meta["mtime"]),
                   "x-timestamp": f"{meta['mtime']:.5f}"}
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
        with data_path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    def object_path(self, account: str, container: str, name: str) -> Path:
        data_path, meta_path = self._object(account, container, name)
        if not meta_path.exists():
            raise _not_found(f"object {container}/{name}")
        return data_path

    def delete_object(self, account: str, container: str, name: str) -> None:
        data_path, meta_path = self._object(account, container, name)
        with self._lock:
            if not meta_path.exists():
                raise _not_found(f"object {container}/{name}")
            meta_path.unlink()
            data_path.unlink(missing_ok=True)


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

    def delete_object(self, container: str, obj: str, **_: Any) -> None:
        self._store.delete_object(self.account, container, obj)

    def close(self) -> None:
        pass


def account_for(project_id: str) -> str:
    return f"AUTH_{project_id}"

