"""Local-cloud pieces that need no server: address pool, rule clamping, the
file-backed object and image stores, guest logs and modules, data shapes.
They run on real files in a temporary directory.
"""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from typing import Any

import pytest
from swiftclient import exceptions as swift_exc

from trove_it.localcloud.drivers.image import ImageStore
from trove_it.localcloud.drivers.network import AddressPool
from trove_it.localcloud.drivers.objectstore import ObjectStore, SwiftConnection
from trove_it.localcloud.engines.base import User
from trove_it.localcloud.guest import shapes
from trove_it.localcloud.guest.logs import CONTAINER, USER, GuestLog, LogDef
from trove_it.localcloud.guest.replication import transaction_order
from trove_it.localcloud.lifecycle.bootstrap import SQLITE_MAX, clamp_rules


def test_address_pool_skips_gateway_and_reuses_released() -> None:
    pool = AddressPool("127.77.0.0/16")
    first, second = pool.allocate(), pool.allocate()
    assert (first, second) == ("127.77.0.2", "127.77.0.3")
    pool.release(first)
    assert pool.allocate() == "127.77.0.2"


def test_address_pool_refuses_non_loopback() -> None:
    with pytest.raises(ValueError, match="inside 127.0.0.0/8"):
        AddressPool("10.0.0.0/24")


def test_clamp_rules_bounds_to_sqlite() -> None:
    rules: dict[str, Any] = {"configuration-parameters": [
        {"name": "a", "max": 18446744073709551615, "min": 0},
        {"name": "b", "max": 10, "min": -(2 ** 70)},
        {"name": "c", "type": "string"}]}
    clamped = clamp_rules(rules)["configuration-parameters"]
    assert clamped[0]["max"] == SQLITE_MAX and clamped[1]["min"] == -(2 ** 63)
    assert clamped[1]["max"] == 10 and clamped[2] == {"name": "c", "type": "string"}
    assert rules["configuration-parameters"][0]["max"] == 18446744073709551615


def test_object_store_round_trip(tmp_path: Path) -> None:
    swift = SwiftConnection(ObjectStore(tmp_path), "AUTH_p1")
    swift.put_container("c")
    etag = swift.put_object("c", "dir/a b", b"hello\n", headers={"x-object-meta-lines": "1"})
    assert etag == hashlib.md5(b"hello\n").hexdigest()
    swift.put_object("c", "dir", b"x")  # "dir" and "dir/..." coexist, as in Swift
    headers = swift.head_object("c", "dir/a b")
    assert headers["etag"] == etag and headers["x-object-meta-lines"] == "1"
    assert swift.get_object("c", "dir/a b")[1] == b"hello\n"
    names = [o["name"] for o in swift.get_container("c", prefix="dir/")[1]]
    assert names == ["dir/a b"]
    with pytest.raises(swift_exc.ClientException) as raised:
        swift.delete_container("c")
    assert raised.value.http_status == 409
    other = SwiftConnection(ObjectStore(tmp_path), "AUTH_p2")
    with pytest.raises(swift_exc.ClientException):
        other.get_object("c", "dir/a b")


def test_image_store_checksums_and_tags(tmp_path: Path) -> None:
    store = ImageStore(tmp_path)
    image = store.create("img", owner="p", tags=["trove", "mysql"], disk_format="qcow2")
    assert image["status"] == "queued"
    store.upload(image["id"], [b"abc", b"def"])
    shown = store.get(image["id"])
    assert shown["status"] == "active" and shown["size"] == 6
    assert shown["checksum"] == hashlib.md5(b"abcdef").hexdigest()
    assert b"".join(store.read(image["id"])) == b"abcdef"
    assert [i["id"] for i in store.list(tags=["trove"])] == [image["id"]]
    assert store.list(tags=["trove", "redis"]) == []
    reloaded = ImageStore(tmp_path)
    assert reloaded.get(image["id"])["checksum"] == shown["checksum"]
    store.delete(image["id"])
    assert not store.blob(image["id"]).exists()


def test_guest_log_publish_and_discard(tmp_path: Path) -> None:
    logfile = tmp_path / "general.log"
    swift = SwiftConnection(ObjectStore(tmp_path / "objects"), "AUTH_p")
    log = GuestLog(LogDef("general", USER), logfile, "inst-1", "mysql")
    assert log.show()["status"] == "Disabled"
    log.status = "Enabled"
    logfile.write_text("line one\nline two\n")
    shown = log.show()
    assert (shown["status"], shown["pending"], shown["published"]) == ("Ready", 18, 0)
    assert shown["container"] == "None"
    log.publish(swift)
    shown = log.show()
    assert (shown["status"], shown["published"], shown["pending"]) == ("Published", 18, 0)
    assert (shown["container"], shown["prefix"]) == (CONTAINER, "inst-1/mysql-general/")
    parts = swift.get_container(CONTAINER, prefix=shown["prefix"])[1]
    assert len(parts) == 1
    assert swift.head_object(CONTAINER, parts[0]["name"])["x-object-meta-lines"] == "2"
    with logfile.open("a") as handle:
        handle.write("line three\n")
    assert log.show()["status"] == "Partial"
    log.discard(swift)
    assert log.show()["published"] == 0
    assert swift.get_container(CONTAINER, prefix=shown["prefix"])[1] == []


def test_user_shapes_round_trip() -> None:
    data = {"_name": "u", "_host": "%", "_password": "p", "_is_root": False,
            "_databases": [{"_name": "db1", "_collate": None, "_character_set": None}]}
    user = shapes.user_from(data, hosts=True)
    assert user == User("u", "%", "p", ["db1"])
    back = shapes.user_to(user, hosts=True)
    assert back["_name"] == "u" and back["_password"] is None
    assert back["_databases"][0]["_name"] == "db1"
    assert shapes.user_key(user, hosts=True) == "u@%"
    assert shapes.user_key(shapes.user_from(data, hosts=False), hosts=False) == "u"


def test_transaction_order_across_engines() -> None:
    assert transaction_order("0-1-9") < transaction_order("0-1-15")
    assert transaction_order("0-1-5,1-2-3") == 8
    assert transaction_order("0/3000060") > transaction_order("0/2FFFFFF")
    assert transaction_order("1234") == 1234 and transaction_order(None) == 0


def test_ping_module_messages() -> None:
    from trove_it.localcloud.guest.modules import _decode, _ping_message, apply_order

    good = base64.b64encode(b"Message=Hello World from: test_module_1\n")
    assert _ping_message(_decode(good)) == ("OK", "Hello World from: test_module_1")
    status, message = _ping_message(b"\xff\xfe\x00")
    assert status == "ERROR" and message.startswith("Could not extract ping message: ")
    assert _ping_message(b"no message here")[1] == "Message not found in contents file"
    modules = [{"id": "a", "apply_order": 3, "priority_apply": False},
               {"id": "b", "apply_order": 1, "priority_apply": False},
               {"id": "c", "apply_order": 9, "priority_apply": True},
               {"id": "d", "apply_order": 2, "priority_apply": True}]
    assert [m["id"] for m in apply_order(modules)] == ["d", "c", "b", "a"]
