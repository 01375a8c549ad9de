"""The callbacks the platform POSTs, as typed events, and :func:`parse_event`.

The reference's payloads (api-reference.md "Webhook Payloads", whatsapp-api.md "Notifications"),
docs README point 12:

* ``DELIVERY``: every channel; SMS carries ``statusCode``, ``statusDescription``, ``price``,
  ``numPart``, ``totalParts`` and ``timestamp``; RCS and WhatsApp carry ``destination``,
  ``statusCode``, ``description`` and ``eventDate``. Codes: 3 delivered, 6 not delivered;
* ``READ``: RCS and WhatsApp, ``destination`` and ``eventDate``;
* ``INBOUND``: RCS and WhatsApp, ``source``, ``destination``, ``receivedDate``, ``messageType``
  (``TEXT``, ``IMAGE``, ``AUDIO``, ``VIDEO``), ``text`` or ``mediaKey``; the media example has no
  ``messageId``.

One msgspec decoder, built once, reads the three as a union tagged by ``eventType``. A payload
with an event type or channel the docs do not name decodes to an :class:`UnknownEvent` holding
the raw object (the platform may add events; a receiver must not refuse them); fields the docs do
not name are ignored. What is not a JSON object with string ``channel`` and ``eventType``, or a
documented event whose documented fields have the wrong type, raises :class:`WebhookPayloadError`.
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import Enum
from typing import Any, ClassVar, Final, TypeAlias

import msgspec

from .._exceptions import QlaraError
from ..models.enums import Channel, DeliveryStatusCode, WhatsAppStatus

__all__ = [
    "DeliveryEvent",
    "EventType",
    "InboundEvent",
    "InboundMessageType",
    "ReadEvent",
    "UnknownEvent",
    "WebhookEvent",
    "WebhookPayloadError",
    "parse_event",
]


class WebhookPayloadError(QlaraError, ValueError):
    """A callback body that is not a platform event; ``reason`` says why (never the body)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"invalid webhook payload: {reason}")
        self.reason = reason


class EventType(str, Enum):
    """The callback kinds the docs define."""

    DELIVERY = "DELIVERY"
    READ = "READ"
    INBOUND = "INBOUND"


class InboundMessageType(str, Enum):
    """What an INBOUND message holds."""

    TEXT = "TEXT"
    IMAGE = "IMAGE"
    AUDIO = "AUDIO"
    VIDEO = "VIDEO"


def _aware(value: datetime | None) -> datetime | None:
    # The docs always write a zone (``Z``); a time without one is read as UTC, never as local.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value


class _Event(msgspec.Struct, kw_only=True, rename="camel", tag_field="eventType"):
    channel: Channel
    message_id: str | None = None

    event_type: ClassVar[EventType]

    @property
    def event_time(self) -> datetime | None:
        """When the event happened, by the platform's clock."""
        raise NotImplementedError

    @property
    def identity(self) -> tuple[str, str, str | None, str | None, str | None]:
        """(channel, event type, message id or source, status, event time): two deliveries of
        one event share it (CONTRACT.md); the receiver de-duplicates on it."""
        when = self.event_time
        return (
            self.channel.value,
            self.event_type.value,
            self.message_id,
            None,
            # One instant, whatever zone the platform spelled it in (a redelivery may differ).
            when.astimezone(timezone.utc).isoformat() if when else None,
        )


class DeliveryEvent(_Event, tag="DELIVERY"):
    """A message's delivery outcome (every channel).

    ``status_code`` is a :class:`~qlara_async.DeliveryStatusCode` (3 delivered, 6 not
    delivered) when the code is one the docs name, else the plain int. SMS fills
    ``status_description``, ``price``, ``num_part``, ``total_parts`` and ``timestamp``; RCS and
    WhatsApp ``destination``, ``description`` and ``event_date``. ``status`` is a
    :class:`~qlara_async.WhatsAppStatus` when a payload names one (the status endpoints' words).
    """

    event_type: ClassVar[EventType] = EventType.DELIVERY

    status_code: int | None = None
    status: str | None = None
    # SMS
    status_description: str | None = None
    price: float | None = None
    num_part: int | None = None
    total_parts: int | None = None
    timestamp: datetime | None = None
    # RCS / WhatsApp
    destination: str | None = None
    description: str | None = None
    event_date: datetime | None = None

    def __post_init__(self) -> None:
        if self.status_code in (3, 6):
            self.status_code = DeliveryStatusCode(self.status_code)
        if isinstance(self.status, str) and self.status in _WHATSAPP_STATUSES:
            self.status = WhatsAppStatus(self.status)
        self.timestamp = _aware(self.timestamp)
        self.event_date = _aware(self.event_date)

    @property
    def event_time(self) -> datetime | None:
        return self.event_date or self.timestamp

    @property
    def delivered(self) -> bool:
        """The platform confirms the message reached the device."""
        return self.status_code == DeliveryStatusCode.DELIVERED or self.status in (
            WhatsAppStatus.DELIVERED,
            WhatsAppStatus.READ,
        )

    @property
    def identity(self) -> tuple[str, str, str | None, str | None, str | None]:
        channel, kind, mid, _, when = super().identity
        # An SMS in parts reports each part: they are different events.
        part = f"/{self.num_part}" if self.num_part is not None else ""
        status = self.status.value if isinstance(self.status, Enum) else self.status
        return (channel, kind, mid, f"{self.status_code}/{status}{part}", when)


class ReadEvent(_Event, tag="READ"):
    """The recipient opened the message (RCS and WhatsApp)."""

    event_type: ClassVar[EventType] = EventType.READ

    destination: str | None = None
    event_date: datetime | None = None

    def __post_init__(self) -> None:
        self.event_date = _aware(self.event_date)

    @property
    def event_time(self) -> datetime | None:
        return self.event_date


class InboundEvent(_Event, tag="INBOUND"):
    """A message from a customer (RCS and WhatsApp): ``text``, or ``media_key`` for media
    (``client.files.download_url(media_key)``; see :func:`~qlara_async.webhooks.media_url`)."""

    event_type: ClassVar[EventType] = EventType.INBOUND

    source: str | None = None
    destination: str | None = None
    received_date: datetime | None = None
    message_type: str | None = None
    """An :class:`InboundMessageType` when the docs name the type, else the plain string."""
    text: str | None = None
    media_key: str | None = None

    def __post_init__(self) -> None:
        self.received_date = _aware(self.received_date)
        if isinstance(self.message_type, str) and self.message_type in _MESSAGE_TYPES:
            self.message_type = InboundMessageType(self.message_type)

    @property
    def event_time(self) -> datetime | None:
        return self.received_date

    @property
    def identity(self) -> tuple[str, str, str | None, str | None, str | None]:
        channel, kind, mid, _, when = super().identity
        if mid is not None:
            return (channel, kind, mid, None, when)
        # No message id (the docs' media example): the source stands in, and the content tells
        # two messages sent in the same millisecond apart (a redelivery repeats it exactly).
        content = self.media_key if self.media_key is not None else f"text:{self.text}"
        return (channel, kind, f"source:{self.source}", content, when)


_MESSAGE_TYPES: Final = frozenset(t.value for t in InboundMessageType)
_WHATSAPP_STATUSES: Final = frozenset(s.value for s in WhatsAppStatus)


class UnknownEvent(msgspec.Struct, frozen=True):
    """An event the docs do not define (another ``eventType`` or ``channel``): its raw object."""

    channel: str
    event_type: str
    data: dict[str, Any]

    @property
    def message_id(self) -> str | None:
        """The payload's ``messageId``, when it is a string."""
        value = self.data.get("messageId")
        return value if isinstance(value, str) else None

    @property
    def event_time(self) -> None:
        """Not known for an unknown event."""
        return None

    @property
    def identity(self) -> tuple[str, str, str | None, str | None, str | None]:
        """The raw payload stands in for the event time: the same bytes are the same event."""
        raw = msgspec.json.encode(self.data, order="sorted").decode()
        return (self.channel, self.event_type, self.message_id, None, raw)


WebhookEvent: TypeAlias = DeliveryEvent | ReadEvent | InboundEvent | UnknownEvent
"""What :func:`parse_event` returns."""


class _Head(msgspec.Struct, rename="camel"):
    channel: str
    event_type: str


_DECODER: Final[msgspec.json.Decoder[DeliveryEvent | ReadEvent | InboundEvent]] = (
    msgspec.json.Decoder(DeliveryEvent | ReadEvent | InboundEvent)
)
_RAW: Final = msgspec.json.Decoder(dict[str, Any])
_EVENT_TYPES: Final = frozenset(t.value for t in EventType)
_CHANNELS: Final = frozenset(c.value for c in Channel)
_TOO_DEEP: Final = "JSON nested too deeply"


def parse_event(body: bytes) -> WebhookEvent:
    """Decode one callback body into its event.

    Raises :class:`WebhookPayloadError` (with a ``reason`` naming the field at fault) for a body
    that is not JSON, not an object, lacks a string ``channel`` or ``eventType``, or carries a
    documented field of the wrong type.
    """
    if not isinstance(body, (bytes, bytearray, memoryview)):
        raise WebhookPayloadError(f"the body must be bytes, got {type(body).__name__}")
    # msgspec recurses once per nesting level: a small body nested a thousand deep raises
    # RecursionError, which is a bad payload like any other (never a 500 from the receiver).
    try:
        return _DECODER.decode(body)
    except msgspec.ValidationError as exc:
        typed_error = str(exc)
    except msgspec.DecodeError as exc:
        raise WebhookPayloadError(f"not JSON ({exc})") from None
    except RecursionError:
        raise WebhookPayloadError(_TOO_DEEP) from None
    try:
        raw = _RAW.decode(body)
    except msgspec.ValidationError:
        raise WebhookPayloadError("the body must be a JSON object") from None
    except msgspec.DecodeError as exc:
        # The typed decoder may stop at a bad tag before it reaches the broken JSON.
        raise WebhookPayloadError(f"not JSON ({exc})") from None
    except RecursionError:
        raise WebhookPayloadError(_TOO_DEEP) from None
    try:
        head = msgspec.convert(raw, _Head)
    except msgspec.ValidationError as exc:
        raise WebhookPayloadError(str(exc)) from None
    if head.event_type not in _EVENT_TYPES or head.channel not in _CHANNELS:
        return UnknownEvent(head.channel, head.event_type, raw)
    raise WebhookPayloadError(typed_error)
