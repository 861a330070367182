"""What crosses the in-process ``fake:/`` transport is a copy, as on a wire.

oslo.messaging's fake driver hands the sender's context and message dicts
to the receiver as they are. Trove's context deserialiser pops keys out of
the notification dict it receives, so a second cast from the same context
(the task manager's two ``update_backup`` casts to the conductor for one
cinder backup) finds them gone: ``KeyError: 'notification_classname'``.
Real drivers serialise to JSON and back; ``install`` makes the fake one do
the same, so each receiver gets its own copy.
"""

from __future__ import annotations

from typing import Any

from oslo_serialization import jsonutils


def install() -> None:
    from oslo_messaging._drivers import impl_fake

    driver = impl_fake.FakeDriver
    if getattr(driver._send, "trove_it_copies", False):
        return
    original = driver._send

    def send_copy(self: Any, target: Any, ctxt: Any, message: Any, *args: Any,
                  **kwargs: Any) -> Any:
        return original(self, target, _wire(ctxt), _wire(message), *args, **kwargs)

    send_copy.trove_it_copies = True  # type: ignore[attr-defined]
    driver._send = send_copy


def _wire(value: Any) -> Any:
    return jsonutils.loads(jsonutils.dumps(value))
