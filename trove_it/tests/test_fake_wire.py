"""The local cloud's in-process RPC (oslo.messaging's ``fake:/`` driver) hands
each receiver a copy, as a real wire does (``lifecycle/fake_wire``): Trove's
conductor casts the same context twice for one cinder backup, and its
deserialiser pops keys out of what it receives."""

from __future__ import annotations

from typing import Any

from oslo_messaging._drivers import impl_fake

from trove_it.localcloud.lifecycle import fake_wire


class _Exchange:
    def __init__(self) -> None:
        self.received: list[tuple[Any, Any]] = []

    def deliver_message(self, topic: str, ctxt: Any, message: Any, **_: Any) -> None:
        self.received.append((ctxt, message))
        ctxt["notification"].pop("classname")  # what Trove's deserialiser does


class _Exchanges:
    def __init__(self, exchange: _Exchange):
        self.exchange = exchange

    def get_exchange(self, name: Any) -> _Exchange:
        return self.exchange


class _Target:
    exchange = topic = server = None
    fanout = False


def test_each_cast_delivers_its_own_copy() -> None:
    fake_wire.install()
    fake_wire.install()  # idempotent: one copy per send, not two
    exchange = _Exchange()
    driver = impl_fake.FakeDriver.__new__(impl_fake.FakeDriver)
    driver._exchange_manager = _Exchanges(exchange)
    context = {"notification": {"classname": "TroveBackupCreate", "payload": 1}}
    message = {"method": "update_backup", "args": {"state": "BUILDING"}}
    for _ in range(2):
        driver._send(_Target(), context, message)
    assert context["notification"]["classname"] == "TroveBackupCreate"
    assert [ctxt["notification"] for ctxt, _ in exchange.received] == [{"payload": 1}] * 2
    assert exchange.received[0][1] == message and exchange.received[0][1] is not message
