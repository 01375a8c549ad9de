"""Webhooks: the platform's callbacks as typed events, an ASGI receiver, and delivery tracking.

>>> from qlara_async.webhooks import WebhookReceiver, parse_event        # doctest: +SKIP
>>> app = WebhookReceiver(handle, token="s3cret")   # mount it, or run it under uvicorn

* :func:`parse_event` decodes one callback body into a :class:`DeliveryEvent`,
  :class:`ReadEvent`, :class:`InboundEvent` (or :class:`UnknownEvent`);
* :class:`WebhookReceiver` is a plain ASGI app that hands each distinct event to a handler once;
* :class:`DeliveryTracker` turns callbacks (and, when they do not come, the status endpoints) into
  a final delivery state per message, and per bulk job;
* :func:`reply_to` and :func:`media_url` act on an inbound message.
"""

from __future__ import annotations

from ..models.enums import Channel, DeliveryStatusCode, WhatsAppStatus
from ._events import (
    DeliveryEvent,
    EventType,
    InboundEvent,
    InboundMessageType,
    ReadEvent,
    UnknownEvent,
    WebhookEvent,
    WebhookPayloadError,
    parse_event,
)
from ._inbound import find_conversation, media_url, reply_to
from ._receiver import ReceiverStats, WebhookReceiver
from ._tracker import BulkTracking, Delivery, DeliveryState, DeliveryTracker, TrackedReport

__all__ = [
    "BulkTracking",
    "Channel",
    "Delivery",
    "DeliveryEvent",
    "DeliveryState",
    "DeliveryStatusCode",
    "DeliveryTracker",
    "EventType",
    "InboundEvent",
    "InboundMessageType",
    "ReadEvent",
    "ReceiverStats",
    "TrackedReport",
    "UnknownEvent",
    "WebhookEvent",
    "WebhookPayloadError",
    "WebhookReceiver",
    "WhatsAppStatus",
    "find_conversation",
    "media_url",
    "parse_event",
    "reply_to",
]
