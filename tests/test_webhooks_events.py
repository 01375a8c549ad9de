"""``parse_event``: every callback example of the docs, unknown and extra fields, malformed bodies.

The payloads below are copied verbatim from api-reference.md ("Webhook Payloads") and
whatsapp-api.md ("Notifications (Callback)"); the WhatsApp DELIVERY/READ/INBOUND of the reference
are "the same structure as RCS with channel WHATSAPP", so they are the RCS ones so renamed.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlara_async import QlaraError
from qlara_async.webhooks import (
    Channel,
    DeliveryEvent,
    DeliveryStatusCode,
    EventType,
    InboundEvent,
    InboundMessageType,
    ReadEvent,
    UnknownEvent,
    WebhookPayloadError,
    WhatsAppStatus,
    parse_event,
)

UTC = timezone.utc

SMS_DELIVERY = b'{ "channel": "SMS", "eventType": "DELIVERY", "messageId": "a1b2c3d4-e5f6-7890-abcd-ef1234567890", "statusCode": 3, "statusDescription": "Delivered", "price": 0.035, "numPart": 1, "totalParts": 1, "timestamp": "2024-01-15T10:30:00Z" }'
RCS_DELIVERY = b'{ "channel": "RCS", "eventType": "DELIVERY", "messageId": "uuid", "destination": "+393401234567", "statusCode": 3, "description": "delivered", "eventDate": "2025-10-16T10:42:18Z" }'
RCS_READ = b'{ "channel": "RCS", "eventType": "READ", "messageId": "uuid", "destination": "+393401234567", "eventDate": "2025-10-16T10:43:00Z" }'
RCS_INBOUND = b'{ "channel": "RCS", "eventType": "INBOUND", "messageId": "msg-id", "source": "+393471488489", "destination": "+393209998877", "receivedDate": "2025-10-31T10:59:05.099Z", "messageType": "TEXT", "text": "User reply message" }'
WA_DELIVERY = b"""{
"channel": "WHATSAPP",
"eventType": "DELIVERY",
"messageId": "88116e2f-b8b4-40fe-b727-f453b6b99adc",
"destination": "+393409997528",
"statusCode": 3,
"description": "delivered",
"eventDate": "2025-10-16T10:42:18Z"
}"""
WA_READ = b"""{
"channel": "WHATSAPP",
"eventType": "READ",
"messageId": "88116e2f-b8b4-40fe-b727-f453b6b99adc",
"destination": "+393409997528",
"eventDate": "2025-10-16T10:42:18Z"
}"""
WA_INBOUND_TEXT = b"""{
"channel": "WHATSAPP",
"eventType": "INBOUND",
"messageId": "wamid.HBxxxxxxxxxxxxxxxxx",
"source": "+393471488489",
"destination": "+393209998877",
"receivedDate": "2025-10-31T10:59:05.099Z",
"messageType": "TEXT",
"text": "Messaggio di risposta dell'utente"
}"""
WA_INBOUND_MEDIA = b"""{
"channel": "WHATSAPP",
"eventType": "INBOUND",
"source": "+393471488489",
"destination": "+393209998877",
"receivedDate": "2025-10-31T11:00:41.003Z",
"messageType": "IMAGE",
"mediaKey": "b394ab72/efd4987c/39b4879f6fed01f0d622453be1488c93"
}"""


def _same_as_rcs(body: bytes) -> bytes:
    return body.replace(b'"RCS"', b'"WHATSAPP"')


def test_sms_delivery() -> None:
    event = parse_event(SMS_DELIVERY)
    assert isinstance(event, DeliveryEvent)
    assert event.channel is Channel.SMS
    assert event.event_type is EventType.DELIVERY
    assert event.message_id == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    assert event.status_code is DeliveryStatusCode.DELIVERED
    assert event.delivered
    assert event.status_description == "Delivered"
    assert event.price == 0.035
    assert (event.num_part, event.total_parts) == (1, 1)
    assert event.timestamp == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert event.event_time == event.timestamp
    assert event.destination is None


@pytest.mark.parametrize(
    ("body", "channel", "message_id", "destination"),
    [
        (RCS_DELIVERY, Channel.RCS, "uuid", "+393401234567"),
        (_same_as_rcs(RCS_DELIVERY), Channel.WHATSAPP, "uuid", "+393401234567"),
        (WA_DELIVERY, Channel.WHATSAPP, "88116e2f-b8b4-40fe-b727-f453b6b99adc", "+393409997528"),
    ],
)
def test_rcs_and_whatsapp_delivery(
    body: bytes, channel: Channel, message_id: str, destination: str
) -> None:
    event = parse_event(body)
    assert isinstance(event, DeliveryEvent)
    assert event.channel is channel
    assert event.message_id == message_id
    assert event.destination == destination
    assert event.status_code is DeliveryStatusCode.DELIVERED
    assert event.description == "delivered"
    assert event.event_date == datetime(2025, 10, 16, 10, 42, 18, tzinfo=UTC)
    assert event.price is None and event.timestamp is None


@pytest.mark.parametrize(
    ("body", "channel", "when"),
    [
        (RCS_READ, Channel.RCS, datetime(2025, 10, 16, 10, 43, tzinfo=UTC)),
        (_same_as_rcs(RCS_READ), Channel.WHATSAPP, datetime(2025, 10, 16, 10, 43, tzinfo=UTC)),
        (WA_READ, Channel.WHATSAPP, datetime(2025, 10, 16, 10, 42, 18, tzinfo=UTC)),
    ],
)
def test_read(body: bytes, channel: Channel, when: datetime) -> None:
    event = parse_event(body)
    assert isinstance(event, ReadEvent)
    assert event.channel is channel
    assert event.event_type is EventType.READ
    assert event.destination in ("+393401234567", "+393409997528")
    assert event.event_date == when


@pytest.mark.parametrize(
    ("body", "channel", "message_id", "text"),
    [
        (RCS_INBOUND, Channel.RCS, "msg-id", "User reply message"),
        (_same_as_rcs(RCS_INBOUND), Channel.WHATSAPP, "msg-id", "User reply message"),
        (
            WA_INBOUND_TEXT,
            Channel.WHATSAPP,
            "wamid.HBxxxxxxxxxxxxxxxxx",
            "Messaggio di risposta dell'utente",
        ),
    ],
)
def test_inbound_text(body: bytes, channel: Channel, message_id: str, text: str) -> None:
    event = parse_event(body)
    assert isinstance(event, InboundEvent)
    assert event.channel is channel
    assert event.message_id == message_id
    assert event.source == "+393471488489"
    assert event.destination == "+393209998877"
    assert event.received_date == datetime(2025, 10, 31, 10, 59, 5, 99000, tzinfo=UTC)
    assert event.message_type is InboundMessageType.TEXT
    assert event.text == text
    assert event.media_key is None


def test_inbound_media_without_message_id() -> None:
    event = parse_event(WA_INBOUND_MEDIA)
    assert isinstance(event, InboundEvent)
    assert event.message_id is None
    assert event.message_type is InboundMessageType.IMAGE
    assert event.media_key == "b394ab72/efd4987c/39b4879f6fed01f0d622453be1488c93"
    assert event.text is None
    # No message id: the source stands in, so two media messages differ by their time only.
    assert event.identity[2] == "source:+393471488489"


def test_not_delivered_and_unknown_codes() -> None:
    six = parse_event(RCS_DELIVERY.replace(b'"statusCode": 3', b'"statusCode": 6'))
    assert isinstance(six, DeliveryEvent)
    assert six.status_code is DeliveryStatusCode.NOT_DELIVERED
    assert not six.delivered
    odd = parse_event(RCS_DELIVERY.replace(b'"statusCode": 3', b'"statusCode": 5'))
    assert isinstance(odd, DeliveryEvent)
    assert odd.status_code == 5 and not isinstance(odd.status_code, DeliveryStatusCode)


def test_whatsapp_status_word_decodes_to_the_enum() -> None:
    event = parse_event(WA_DELIVERY.replace(b'"statusCode": 3', b'"status": "EXPIRED"'))
    assert isinstance(event, DeliveryEvent)
    assert event.status is WhatsAppStatus.EXPIRED
    other = parse_event(WA_DELIVERY.replace(b'"statusCode": 3', b'"status": "NEW_WORD"'))
    assert isinstance(other, DeliveryEvent) and other.status == "NEW_WORD"


def test_times_are_aware_even_without_a_zone() -> None:
    event = parse_event(RCS_READ.replace(b"10:43:00Z", b"10:43:00"))
    assert isinstance(event, ReadEvent)
    assert event.event_date == datetime(2025, 10, 16, 10, 43, tzinfo=UTC)
    offset = parse_event(RCS_READ.replace(b"10:43:00Z", b"12:43:00+02:00"))
    assert isinstance(offset, ReadEvent) and offset.event_date is not None
    assert offset.event_date.utcoffset() == timedelta(hours=2)
    # The same instant in another zone is the same event (a redelivery may spell it so).
    assert offset.identity == parse_event(RCS_READ).identity
    later = parse_event(RCS_READ.replace(b"10:43:00Z", b"10:43:00+02:00"))
    assert later.identity != parse_event(RCS_READ).identity


def test_extra_fields_are_ignored() -> None:
    body = SMS_DELIVERY.replace(b'"channel"', b'"newField": {"a": [1]}, "channel"')
    event = parse_event(body)
    assert isinstance(event, DeliveryEvent) and event.price == 0.035


@pytest.mark.parametrize(
    "body",
    [
        b'{"channel": "SMS", "eventType": "CLICK", "messageId": "m1"}',
        b'{"channel": "EMAIL", "eventType": "DELIVERY", "messageId": "m1", "statusCode": 3}',
        b'{"channel": "WHATSAPP", "eventType": "REACTION", "emoji": 1}',
    ],
)
def test_unknown_event_types_and_channels_are_generic(body: bytes) -> None:
    event = parse_event(body)
    assert isinstance(event, UnknownEvent)
    assert event.data == msgspec.json.decode(body)
    assert event.message_id == event.data.get("messageId")
    assert event.identity == parse_event(body).identity


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'"DELIVERY"', "JSON object"),
        (b'{"eventType": "DELIVERY"}', "channel"),
        (b'{"channel": "SMS"}', "eventType"),
        (b'{"channel": 3, "eventType": "DELIVERY"}', "channel"),
        (b'{"channel": "SMS", "eventType": "DELIVERY", "statusCode": "3"}', "statusCode"),
        (b'{"channel": "SMS", "eventType": "DELIVERY", "timestamp": "yesterday"}', "timestamp"),
        (b'{"channel": "RCS", "eventType": "READ", "messageId": 7}', "messageId"),
    ],
)
def test_malformed_bodies_raise_with_a_reason(body: bytes, reason: str) -> None:
    with pytest.raises(WebhookPayloadError) as info:
        parse_event(body)
    assert reason in info.value.reason
    assert isinstance(info.value, QlaraError)


def test_non_bytes_are_refused() -> None:
    with pytest.raises(WebhookPayloadError, match="bytes"):
        parse_event("{}")  # type: ignore[arg-type]


def test_identity_distinguishes_status_time_and_parts() -> None:
    base = parse_event(SMS_DELIVERY)
    assert parse_event(SMS_DELIVERY).identity == base.identity
    other_part = parse_event(SMS_DELIVERY.replace(b'"numPart": 1', b'"numPart": 2'))
    later = parse_event(SMS_DELIVERY.replace(b"10:30:00Z", b"10:31:00Z"))
    failed = parse_event(SMS_DELIVERY.replace(b'"statusCode": 3', b'"statusCode": 6'))
    assert len({base.identity, other_part.identity, later.identity, failed.identity}) == 4


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_any_bytes_parse_or_raise_the_payload_error(body: bytes) -> None:
    try:
        parse_event(body)
    except WebhookPayloadError:
        pass


def test_the_package_exports_the_contract_names() -> None:
    import qlara_async.webhooks as webhooks

    assert list(webhooks.__all__) == sorted(set(webhooks.__all__))
    for name in (
        "parse_event",
        "WebhookPayloadError",
        "WebhookReceiver",
        "DeliveryEvent",
        "ReadEvent",
        "InboundEvent",
        "DeliveryTracker",
    ):
        assert name in webhooks.__all__ and hasattr(webhooks, name)
