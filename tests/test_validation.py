"""Every rule the docs state is checked before a request leaves, naming the wire field."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta, timezone
from typing import Any

import httpx
import msgspec
import pytest

from qlara_async import ValidationError
from qlara_async.models import (
    LegacySmsMessage,
    LegacySmsRequest,
    RcsMessage,
    RcsText,
    RcsTextBody,
    SmsMessage,
    WhatsAppBody,
    WhatsAppImage,
    WhatsAppMessage,
    prepare_legacy_sms,
    prepare_message,
    validate_message,
)

SMS: dict[str, Any] = {"destination": "+393201234567", "sender": "MyBrand", "body": "hi"}
RCS: dict[str, Any] = {"destination": "+393201234567", "agent_id": 10, "template_id": 42}
WA: dict[str, Any] = {"destination": "+393201234567", "phone_number_id": 5, "template": {"id": 42}}
TEXT = {"type": "TEXT", "body": {"text": "hi"}}
FB_SMS = {"sender": "MyBrand", "text": "hi"}
NAIVE = datetime(2024, 12, 20, 9, 0)


def sms(**changes: Any) -> SmsMessage:
    return SmsMessage(**{**SMS, **changes})


def rcs(**changes: Any) -> RcsMessage:
    return RcsMessage(**{**RCS, **changes})


def wa(**changes: Any) -> WhatsAppMessage:
    return WhatsAppMessage(**{**WA, **changes})


def fb(**fallback_rcs: Any) -> WhatsAppMessage:
    return wa(fallback_rcs=fallback_rcs, fallback_sms=FB_SMS)


INVALID: list[Any] = [
    # SMS Universal
    pytest.param(sms(destination=None), "destination", id="sms-destination-missing"),
    pytest.param(sms(destination=393201234567), "destination", id="sms-destination-int"),
    pytest.param(sms(destination="393201234567"), "destination", id="sms-destination-no-plus"),
    pytest.param(sms(destination="00393201234567"), "destination", id="sms-destination-00"),
    pytest.param(sms(destination="+12345"), "destination", id="sms-destination-5-digits"),
    pytest.param(sms(destination="+" + "1" * 16), "destination", id="sms-destination-16-digits"),
    pytest.param(sms(destination="+39 320 1234567"), "destination", id="sms-destination-spaces"),
    pytest.param(sms(sender=None), "sender", id="sms-sender-missing"),
    pytest.param(sms(sender="MyBrandName12"), "sender", id="sms-sender-12-alphanumeric"),
    pytest.param(sms(sender="My-Brand!"), "sender", id="sms-sender-punctuation"),
    pytest.param(sms(sender="+" + "1" * 17), "sender", id="sms-sender-17-digits"),
    pytest.param(sms(sender="   "), "sender", id="sms-sender-blank"),
    pytest.param(sms(sender=""), "sender", id="sms-sender-empty"),
    pytest.param(sms(sender=12345), "sender", id="sms-sender-int"),
    pytest.param(sms(body=None), "body", id="sms-body-missing"),
    pytest.param(sms(body=""), "body", id="sms-body-empty"),
    pytest.param(sms(body=b"hi"), "body", id="sms-body-bytes"),
    pytest.param(sms(campaign_id="c" * 256), "campaignId", id="sms-campaign-id-256-chars"),
    pytest.param(sms(campaign_id=""), "campaignId", id="sms-campaign-id-empty"),
    pytest.param(sms(campaign_id=7), "campaignId", id="sms-campaign-id-int"),
    pytest.param(sms(message_id=""), "messageId", id="sms-message-id-empty"),
    pytest.param(sms(message_id=5), "messageId", id="sms-message-id-int"),
    pytest.param(sms(udh_data="zz"), "udhData", id="sms-udh-not-hex"),
    pytest.param(sms(udh_data="050"), "udhData", id="sms-udh-odd-length"),
    pytest.param(sms(udh_data=5), "udhData", id="sms-udh-int"),
    pytest.param(sms(simulation="yes"), "simulation", id="sms-simulation-str"),
    pytest.param(sms(enable_notification=1), "enableNotification", id="sms-notification-int"),
    pytest.param(sms(skip_rcs_override="no"), "skipRcsOverride", id="sms-skip-rcs-str"),
    pytest.param(sms(placeholders=["nome"]), "placeholders", id="sms-placeholders-list"),
    pytest.param(sms(placeholders={1: "a"}), "placeholders", id="sms-placeholders-int-key"),
    pytest.param(sms(placeholders={"n": 1}), "placeholders.n", id="sms-placeholders-int-value"),
    pytest.param(sms(scheduled_date=NAIVE), "scheduledDate", id="sms-scheduled-naive"),
    pytest.param(sms(scheduled_date=date(2024, 1, 1)), "scheduledDate", id="sms-scheduled-date"),
    pytest.param(sms(scheduled_date=1734681600), "scheduledDate", id="sms-scheduled-int"),
    pytest.param(sms(scheduled_date=""), "scheduledDate", id="sms-scheduled-empty"),
    # RCS
    pytest.param(rcs(destination="3401234567"), "destination", id="rcs-destination-no-plus"),
    pytest.param(rcs(agent_id=None), "agentId", id="rcs-agent-id-missing"),
    pytest.param(rcs(agent_id=0), "agentId", id="rcs-agent-id-zero"),
    pytest.param(rcs(agent_id="10"), "agentId", id="rcs-agent-id-str"),
    pytest.param(rcs(agent_id=True), "agentId", id="rcs-agent-id-bool"),
    pytest.param(rcs(template_id=None), "body", id="rcs-neither-body-nor-template"),
    pytest.param(rcs(body=TEXT), "body", id="rcs-both-body-and-template"),
    pytest.param(rcs(template_id=-1), "templateId", id="rcs-template-id-negative"),
    pytest.param(rcs(max_sms_parts=0), "maxSmsParts", id="rcs-max-sms-parts-zero"),
    pytest.param(rcs(max_sms_parts=1.5), "maxSmsParts", id="rcs-max-sms-parts-float"),
    pytest.param(rcs(placeholders={"a": None}), "placeholders.a", id="rcs-placeholders-none"),
    pytest.param(rcs(scheduled_date=NAIVE), "scheduledDate", id="rcs-scheduled-naive"),
    pytest.param(
        rcs(template_id=None, body={"type": "VIDEO", "body": {"text": "x"}}),
        "body.type",
        id="rcs-body-type-unknown",
    ),
    pytest.param(
        rcs(template_id=None, body={"body": {"text": "x"}}), "body.type", id="rcs-body-type-missing"
    ),
    pytest.param(rcs(template_id=None, body={"type": "TEXT"}), "body.body", id="rcs-body-missing"),
    pytest.param(rcs(template_id=None, body="hi"), "body", id="rcs-body-str"),
    pytest.param(
        rcs(template_id=None, body={"type": "TEXT", "body": {"txt": "x"}}),
        "body.body.txt",
        id="rcs-text-misspelled-key",
    ),
    pytest.param(
        rcs(template_id=None, body={"type": "TEXT", "body": {"text": ""}}),
        "body.body.text",
        id="rcs-text-empty",
    ),
    pytest.param(
        rcs(template_id=None, body={"type": "CARD", "body": {"title": 5}}),
        "body.body.title",
        id="rcs-card-title-int",
    ),
    pytest.param(
        rcs(template_id=None, body={"type": "CARD", "body": {"suggestions": [{"type": "URL"}]}}),
        "body.body.suggestions[0].text",
        id="rcs-suggestion-text-missing",
    ),
    pytest.param(
        rcs(template_id=None, body={"type": "CAROUSEL", "body": {"cards": []}}),
        "body.body.cards",
        id="rcs-carousel-no-cards",
    ),
    pytest.param(
        rcs(template_id=None, body={"type": "CAROUSEL", "body": {"cards": [{"mediaURL": "x"}]}}),
        "body.body.cards[0].mediaURL",
        id="rcs-carousel-card-misspelled-key",
    ),
    pytest.param(
        rcs(template_id=None, body=RcsTextBody(body=RcsText(text=5))),  # type: ignore[arg-type]
        "body.body.text",
        id="rcs-struct-body-wrong-type",
    ),
    pytest.param(
        rcs(template_id=None, body={"type": "TEXT", "body": {"text": object()}}),
        "body",
        id="rcs-body-unencodable",
    ),
    # WhatsApp
    pytest.param(wa(destination="+39"), "destination", id="wa-destination-short"),
    pytest.param(wa(phone_number_id=None), "phoneNumberId", id="wa-phone-number-id-missing"),
    pytest.param(wa(phone_number_id="5"), "phoneNumberId", id="wa-phone-number-id-str"),
    pytest.param(wa(phone_number_id=-5), "phoneNumberId", id="wa-phone-number-id-negative"),
    pytest.param(wa(template=None), "template", id="wa-neither-template-nor-body"),
    pytest.param(wa(body={"text": {"body": "x"}}), "template", id="wa-both-template-and-body"),
    pytest.param(wa(template={}), "template.id", id="wa-template-id-missing"),
    pytest.param(wa(template={"id": 0}), "template.id", id="wa-template-id-zero"),
    pytest.param(wa(template={"id": "42"}), "template.id", id="wa-template-id-str"),
    pytest.param(wa(template=42), "template", id="wa-template-int"),
    pytest.param(
        wa(template={"id": 42, "mediaURL": "x"}), "template.mediaURL", id="wa-template-bad-key"
    ),
    pytest.param(wa(template=None, body={}), "body", id="wa-body-empty"),
    pytest.param(
        wa(template=None, body={"text": {"body": "a"}, "image": {"url": "u"}}),
        "body",
        id="wa-body-two-kinds",
    ),
    pytest.param(
        wa(template=None, body={"replyMessageId": "m"}), "body", id="wa-body-only-reply-id"
    ),
    pytest.param(wa(template=None, body={"txt": {"body": "a"}}), "body.txt", id="wa-body-bad-key"),
    pytest.param(
        wa(template=None, body={"text": {"body": ""}}), "body.text.body", id="wa-text-empty"
    ),
    pytest.param(wa(template=None, body={"image": {}}), "body.image.url", id="wa-image-no-url-key"),
    pytest.param(
        wa(template=None, body={"image": {"url": "u", "key": "k"}}),
        "body.image.url",
        id="wa-image-url-and-key",
    ),
    pytest.param(
        wa(template=None, body={"video": {"caption": "c"}}), "body.video.url", id="wa-video-no-url"
    ),
    pytest.param(
        wa(template=None, body={"audio": {"url": "u", "caption": "c"}}),
        "body.audio.caption",
        id="wa-audio-caption-not-allowed",
    ),
    pytest.param(
        wa(template=None, body={"document": {"url": "u", "key": "k"}}),
        "body.document.url",
        id="wa-document-url-and-key",
    ),
    pytest.param(
        wa(template=None, body={"sticker": {}}), "body.sticker.url", id="wa-sticker-no-url"
    ),
    pytest.param(
        wa(template=None, body={"location": {"latitude": 45.46, "longitude": "9.19"}}),
        "body.location.latitude",
        id="wa-location-float-latitude",
    ),
    pytest.param(
        wa(template=None, body={"location": {"latitude": "45.46"}}),
        "body.location.longitude",
        id="wa-location-longitude-missing",
    ),
    pytest.param(
        wa(template=None, body={"reaction": {"emoji": "x"}}),
        "body.reaction.messageId",
        id="wa-reaction-message-id-missing",
    ),
    pytest.param(
        wa(template=None, body=WhatsAppBody(image=WhatsAppImage())),
        "body.image.url",
        id="wa-struct-image-no-url",
    ),
    pytest.param(
        wa(placeholders={"shortLinkT1": 1}), "placeholders.shortLinkT1", id="wa-tracked-link-int"
    ),
    pytest.param(wa(scheduled_date=NAIVE), "scheduledDate", id="wa-scheduled-naive"),
    pytest.param(
        wa(fallback_rcs={"agentId": 1, "templateId": 2}), "fallbackSms", id="wa-rcs-without-sms"
    ),
    pytest.param(
        wa(fallback_rcs=True, fallback_sms=FB_SMS), "fallbackRcs", id="wa-fallback-rcs-true-faq"
    ),
    pytest.param(fb(templateId=2), "fallbackRcs.agentId", id="wa-fallback-rcs-agent-missing"),
    pytest.param(fb(agentId=0, templateId=2), "fallbackRcs.agentId", id="wa-fallback-rcs-agent-0"),
    pytest.param(fb(agentId=1), "fallbackRcs.templateId", id="wa-fallback-rcs-neither"),
    pytest.param(
        fb(agentId=1, templateId=2, type="TEXT", body={"text": "x"}),
        "fallbackRcs.templateId",
        id="wa-fallback-rcs-both",
    ),
    pytest.param(
        fb(agentId=1, body={"text": "x"}), "fallbackRcs.type", id="wa-fallback-rcs-body-no-type"
    ),
    pytest.param(
        fb(agentId=1, templateId=2, type="TEXT"),
        "fallbackRcs.type",
        id="wa-fallback-rcs-type-with-template",
    ),
    pytest.param(
        fb(agentId=1, type="VIDEO", body={"text": "x"}),
        "fallbackRcs.type",
        id="wa-fallback-rcs-type-unknown",
    ),
    pytest.param(
        fb(agentId=1, type="TEXT", body={"title": "x"}),
        "fallbackRcs.body.title",
        id="wa-fallback-rcs-body-wrong-for-type",
    ),
    pytest.param(
        fb(agent_id=1, templateId=2), "fallbackRcs.agent_id", id="wa-fallback-rcs-snake-key"
    ),
    pytest.param(
        wa(fallback_sms={"sender": "MyBrand"}), "fallbackSms.text", id="wa-fallback-sms-no-text"
    ),
    pytest.param(
        wa(fallback_sms={"sender": "Too Long Name", "text": "x"}),
        "fallbackSms.sender",
        id="wa-fallback-sms-sender-too-long",
    ),
    pytest.param(
        wa(fallback_sms={**FB_SMS, "extra": 1}), "fallbackSms.extra", id="wa-fallback-sms-bad-key"
    ),
]


@pytest.mark.parametrize(("message", "field"), INVALID)
def test_invalid_message(message: Any, field: str):
    """The message is refused with a ValidationError naming the wire field."""
    with pytest.raises(ValidationError) as info:
        prepare_message(message)
    assert info.value.field == field
    assert field in str(info.value)


VALID: list[Any] = [
    pytest.param(sms(sender="+393201234567"), id="sms-numeric-sender-plus"),
    pytest.param(sms(sender="1" * 16), id="sms-numeric-sender-16-digits"),
    pytest.param(sms(sender="My Brand"), id="sms-alphanumeric-sender-with-space"),
    pytest.param(sms(sender="A1234567890"), id="sms-alphanumeric-sender-11"),
    pytest.param(sms(destination="+" + "1" * 15), id="sms-destination-15-digits"),
    pytest.param(sms(destination="+123456"), id="sms-destination-6-digits"),
    pytest.param(sms(campaign_id="c" * 255), id="sms-campaign-id-255-chars"),
    pytest.param(sms(udh_data="050003A40201"), id="sms-udh-hex"),
    pytest.param(sms(placeholders={}), id="sms-placeholders-empty"),
    pytest.param(wa(template=None, body={"image": {"key": "b394ab72/k"}}), id="wa-image-by-key"),
    pytest.param(
        wa(template=None, body={"reaction": {"messageId": "m", "emoji": "x"}}), id="wa-reaction"
    ),
    pytest.param(
        wa(template=None, body={"text": {"body": "ok"}, "replyMessageId": "wamid.1"}),
        id="wa-reply",
    ),
    pytest.param(wa(fallback_sms=FB_SMS), id="wa-sms-fallback-only"),
    pytest.param(
        fb(agentId=1, type="CAROUSEL", body={"cards": [{"title": "t"}]}), id="wa-rcs-carousel"
    ),
]


@pytest.mark.parametrize("message", VALID)
def test_valid_message(message: Any):
    """Edge values the rules allow pass validation and encode."""
    assert prepare_message(message).content.startswith(b"{")


def test_not_a_message():
    """Anything but the three message types is refused."""
    with pytest.raises(ValidationError, match="SmsMessage, RcsMessage or WhatsAppMessage"):
        prepare_message({"destination": "+393201234567"})  # type: ignore[arg-type]


def test_subclass_of_a_message_is_routed():
    """A subclass of a message type is validated and sent as its base type."""

    class Tagged(SmsMessage, kw_only=True):
        pass

    prepared = prepare_message(Tagged(**SMS))
    assert prepared.path == "/message-server/sms/send"


def test_message_object_is_a_value_error():
    """ValidationError is also a ValueError, for callers that catch that."""
    with pytest.raises(ValueError):
        validate_message(sms(destination="nope"))


LEGACY_MESSAGE: dict[str, Any] = {
    "destinations": ["+393401234567"],
    "sender": "MyCompany",
    "body": "Promo",
}


def legacy(*messages: Any, **options: Any) -> LegacySmsRequest:
    return LegacySmsRequest(messages=list(messages), **options)


INVALID_LEGACY: list[Any] = [
    pytest.param(legacy(), "messages", id="no-messages"),
    pytest.param(LegacySmsRequest(messages="x"), "messages", id="messages-str"),  # type: ignore[arg-type]
    pytest.param(legacy(5), "messages[0]", id="message-int"),
    pytest.param(legacy({**LEGACY_MESSAGE, "destinations": []}), "messages[0].destinations",
                 id="destinations-empty"),
    pytest.param(legacy({**LEGACY_MESSAGE, "destinations": "+393401234567"}),
                 "messages[0].destinations", id="destinations-str"),
    pytest.param(legacy(LEGACY_MESSAGE, {**LEGACY_MESSAGE, "destinations": ["+39", "x"]}),
                 "messages[1].destinations[0]", id="destination-short"),
    pytest.param(legacy({**LEGACY_MESSAGE, "ids": ["a", "b"]}), "messages[0].ids",
                 id="ids-length-mismatch"),
    pytest.param(legacy({**LEGACY_MESSAGE, "ids": [1]}), "messages[0].ids[0]", id="ids-int"),
    pytest.param(legacy({**LEGACY_MESSAGE, "hexBody": True}), "messages[0].body",
                 id="hex-body-not-hex"),
    pytest.param(legacy({**LEGACY_MESSAGE, "scheduling": NAIVE}), "messages[0].scheduling",
                 id="scheduling-naive"),
    pytest.param(legacy({**LEGACY_MESSAGE, "destination": "+393401234567"}),
                 "messages[0].destination", id="misspelled-key"),
    pytest.param(legacy({"destinations": ["+393401234567"], "body": "x"}), "messages[0].sender",
                 id="sender-missing"),
    pytest.param(legacy({**LEGACY_MESSAGE, "sender": "Far Too Long"}), "messages[0].sender",
                 id="sender-too-long"),
    pytest.param(legacy(LEGACY_MESSAGE, global_id=""), "globalId", id="global-id-empty"),
    pytest.param(legacy(LEGACY_MESSAGE, enable_unicode="yes"), "enableUnicode",
                 id="enable-unicode-str"),
]  # fmt: skip


@pytest.mark.parametrize(("request_", "field"), INVALID_LEGACY)
def test_invalid_legacy_request(request_: LegacySmsRequest, field: str):
    """A Legacy SMS request is refused with a ValidationError naming the wire field."""
    with pytest.raises(ValidationError) as info:
        prepare_legacy_sms(request_)
    assert info.value.field == field
    assert field in str(info.value)


def test_legacy_hex_body_and_ids_accepted():
    """A hex body with ``hexBody`` and one id per destination pass."""
    request = legacy(
        LegacySmsMessage(
            destinations=["+393401234567", "+393407654321"],
            ids=["a", "b"],
            sender="MyCompany",
            body="48656C6C6F",
            hex_body=True,
        ),
        global_id="session-1",
    )
    prepared = prepare_legacy_sms(request)
    assert prepared.global_id == "session-1"
    assert b'"hexBody":true' in prepared.content


# --- the caller's objects are never changed


def _snapshot(value: Any) -> Any:
    return copy.deepcopy(msgspec.structs.asdict(value))


def test_caller_message_not_mutated():
    """Validation, id assignment and date formatting happen on a copy."""
    when = datetime(2025, 10, 1, 9, tzinfo=timezone.utc)
    message = WhatsAppMessage(
        destination="+393401234567",
        phone_number_id=5,
        body={"image": {"url": "https://example.com/a.jpg"}},
        placeholders={"name": "Mario"},
        scheduled_date=when,
        fallback_rcs={"agentId": 1, "type": "TEXT", "body": {"text": "hi"}},
        fallback_sms={"sender": "MyBrand", "text": "hi"},
    )
    before = _snapshot(message)
    nested = (message.body, message.placeholders, message.fallback_rcs, message.fallback_sms)

    prepared = prepare_message(message)

    assert _snapshot(message) == before
    assert message.message_id is None
    assert message.scheduled_date is when
    assert (message.body, message.placeholders, message.fallback_rcs, message.fallback_sms) == (
        nested
    )
    normalised = prepared.message
    assert isinstance(normalised, WhatsAppMessage)
    assert normalised is not message
    assert isinstance(normalised.body, WhatsAppBody)
    assert normalised.placeholders == message.placeholders
    assert normalised.placeholders is not message.placeholders
    assert normalised.scheduled_date == "2025-10-01 09:00:00.000+0000"
    assert normalised.message_id == prepared.message_id


def test_caller_legacy_request_not_mutated():
    """The Legacy request and its message list keep what the caller put in them."""
    entry = {**LEGACY_MESSAGE, "scheduling": datetime(2025, 1, 1, tzinfo=timezone.utc)}
    request = legacy(entry)
    before = _snapshot(request)
    prepared = prepare_legacy_sms(request)
    assert _snapshot(request) == before
    assert request.global_id is None
    assert request.messages[0] is entry
    assert isinstance(prepared.request.messages[0], LegacySmsMessage)


def test_caller_message_id_kept():
    """A message that has an id keeps it and ``new_id`` is not called."""

    def new_id() -> str:
        raise AssertionError("new_id called")

    prepared = prepare_message(sms(message_id="mine-1"), new_id=new_id)
    assert prepared.message_id == "mine-1"
    assert prepared.message.message_id == "mine-1"


def test_scheduled_date_keeps_offset_and_milliseconds():
    """An aware datetime is written as ``yyyy-MM-dd HH:mm:ss.SSSZ`` in its own offset."""
    when = datetime(
        2024, 12, 20, 9, 5, 7, 123456, tzinfo=timezone(timedelta(hours=-3, minutes=-30))
    )
    prepared = prepare_message(sms(scheduled_date=when))
    assert b'"scheduledDate":"2024-12-20 09:05:07.123-0330"' in prepared.content


def test_scheduled_date_string_passed_through():
    """A string scheduled date reaches the wire unchanged."""
    prepared = prepare_message(sms(scheduled_date="2025-10-01 09:00:00.000+0000"))
    assert prepared.message.scheduled_date == "2025-10-01 09:00:00.000+0000"


# --- nothing leaves when validation fails


class _NoRequests:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls += 1
        return httpx.Response(500)


@pytest.fixture
async def guarded() -> Any:
    """A client whose transport counts any request that gets out."""
    from qlara_async import AsyncQlara

    handler = _NoRequests()
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with (
        http,
        AsyncQlara(
            api_key="k", base_url="https://api.test/api", http_client=http, rate_limit=None
        ) as client,
    ):
        yield client, handler


@pytest.mark.anyio
@pytest.mark.parametrize(("message", "field"), INVALID)
async def test_invalid_message_sends_nothing(guarded: Any, message: Any, field: str):
    """``client.send`` raises the ValidationError and the transport is never called."""
    client, handler = guarded
    with pytest.raises(ValidationError) as info:
        await client.send(message)
    assert info.value.field == field
    assert handler.calls == 0


KEYWORD_CALLS: list[Any] = [
    pytest.param("sms", "send", {**SMS, "sender": "WayTooLongSender"}, "sender", id="sms.send"),
    pytest.param("rcs", "send", {**RCS, "body": TEXT}, "body", id="rcs.send"),
    pytest.param("whatsapp", "send", {**WA, "fallback_rcs": {"agentId": 1, "templateId": 2}},
                 "fallbackSms", id="whatsapp.send"),
    pytest.param("sms", "send_legacy", {"messages": [{**LEGACY_MESSAGE, "ids": []}]},
                 "messages[0].ids", id="sms.send_legacy"),
    pytest.param("whatsapp.phone_numbers", "get", {"id": ""}, "id", id="phone_numbers.get"),
    pytest.param("files", "download_url", {"media_key": ""}, "mediaKey", id="files-empty-key"),
    pytest.param("files", "download_url", {"media_key": 5}, "mediaKey", id="files-int-key"),
    pytest.param("files", "download_url", {"media_key": "k", "expire_minutes": 0},
                 "expireMinutes", id="files-expire-zero"),
]  # fmt: skip


@pytest.mark.anyio
@pytest.mark.parametrize(("area", "method", "kwargs", "field"), KEYWORD_CALLS)
async def test_keyword_call_validates_before_sending(
    guarded: Any, area: str, method: str, kwargs: dict[str, Any], field: str
):
    """Each resource method checks its input up front; nothing reaches the transport."""
    client, handler = guarded
    resource = client
    for part in area.split("."):
        resource = getattr(resource, part)
    with pytest.raises(ValidationError) as info:
        await getattr(resource, method)(**kwargs)
    assert info.value.field == field
    assert handler.calls == 0
