"""The local object store serves what Trove's backup program does with Swift.

Trove 26's backup program (in a real guest's backup container) writes a
backup as segments, then copies its single segment to the backup's name with
``X-Copy-From`` and deletes the segment, or writes a static large object
manifest listing the segments; it checks the result's ETag, and a restore
reads it back. Each step runs here through swiftclient against the local
cloud's Swift endpoint, as the program does, with Swift's rules for ETags.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from typing import Any

import pytest
import swiftclient
from swiftclient import exceptions as swift_exc

from trove_it.clients import CloudClients


@pytest.fixture
def swift(selftest_member: CloudClients) -> Any:
    session = selftest_member.session
    url = session.get_endpoint(service_type="object-store", interface="public")
    connection = swiftclient.Connection(preauthurl=url, preauthtoken=session.get_token())
    container = f"selftest-backups-{secrets.token_hex(3)}"
    connection.put_container(container)
    connection.container = container
    yield connection
    _, objects = connection.get_container(container, full_listing=True)
    for entry in objects:
        connection.delete_object(container, entry["name"])
    connection.delete_container(container)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_copy_keeps_data_and_etag_with_new_metadata(swift: Any) -> None:
    container = swift.container
    data = secrets.token_bytes(70000)
    etag = swift.put_object(container, "backup_00000001", data,
                            headers={"X-Object-Meta-Stage": "segment"})
    assert etag == _md5(data)
    copied = swift.put_object(container, "backup.xbstream", "",
                              headers={"X-Copy-From": f"/{container}/backup_00000001",
                                       "X-Object-Meta-Lsn": "4242"})
    assert copied == _md5(data)
    swift.delete_object(container, "backup_00000001")
    headers, body = swift.get_object(container, "backup.xbstream")
    assert body == data and headers["etag"].strip('"') == _md5(data)
    assert headers["x-object-meta-lsn"] == "4242"
    with pytest.raises(swift_exc.ClientException) as missing:
        swift.head_object(container, "backup_00000001")
    assert missing.value.http_status == 404


def test_copy_from_a_missing_object_is_refused(swift: Any) -> None:
    with pytest.raises(swift_exc.ClientException) as refused:
        swift.put_object(swift.container, "copy", "",
                         headers={"X-Copy-From": f"/{swift.container}/nothing"})
    assert refused.value.http_status == 404


def test_static_large_object_reads_back_its_segments(swift: Any) -> None:
    container = swift.container
    parts = [secrets.token_bytes(size) for size in (65536, 1000, 4097)]
    segments = []
    checksum = hashlib.md5()
    for number, part in enumerate(parts, start=1):
        name = f"big.gz.enc_{number:08d}"
        etag = swift.put_object(container, name, part)
        segments.append({"path": f"{container}/{name}", "etag": etag,
                         "size_bytes": len(part)})
        checksum.update(etag.encode())
    swift.put_object(container, "big.gz.enc", json.dumps(segments),
                     headers={"X-Object-Meta-Datastore": "mariadb"},
                     query_string="multipart-manifest=put")
    headers = swift.head_object(container, "big.gz.enc")
    assert headers["etag"].strip('"') == checksum.hexdigest()
    assert headers["x-static-large-object"] == "True"
    assert int(headers["content-length"]) == sum(len(p) for p in parts)
    assert headers["x-object-meta-datastore"] == "mariadb"
    _, body = swift.get_object(container, "big.gz.enc")
    assert body == b"".join(parts)
    swift.delete_object(container, "big.gz.enc", query_string="multipart-manifest=delete")
    _, left = swift.get_container(container)
    assert left == [], f"segments left after deleting the manifest: {left}"


def test_manifest_with_a_wrong_segment_etag_is_refused(swift: Any) -> None:
    container = swift.container
    etag = swift.put_object(container, "seg_00000001", b"x" * 10)
    manifest = [{"path": f"{container}/seg_00000001", "etag": "0" * 32, "size_bytes": 10}]
    with pytest.raises(swift_exc.ClientException) as refused:
        swift.put_object(container, "m", json.dumps(manifest),
                         query_string="multipart-manifest=put")
    assert refused.value.http_status == 400
    assert etag != "0" * 32


def test_a_streamed_upload_keeps_its_bytes(swift: Any) -> None:
    """A file-like body goes out in chunked transfer encoding, as the backup
    program's segments do: no Content-Length, the data all the same."""
    data = secrets.token_bytes(3 * 65536 + 17)

    class Stream:
        def __init__(self) -> None:
            self.offset = 0

        def read(self, size: int = -1) -> bytes:
            size = len(data) if size < 0 else size
            chunk = data[self.offset:self.offset + size]
            self.offset += len(chunk)
            return chunk

    etag = swift.put_object(swift.container, "streamed_00000001", Stream())
    assert etag == _md5(data)
    _, body = swift.get_object(swift.container, "streamed_00000001")
    assert body == data
