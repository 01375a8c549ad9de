"""Every send request and response example of api-reference.md and whatsapp-api.md, checked.

Requests: the matching keyword call must produce a body JSON-equal to the docs' example, once
``messageId`` (``globalId`` for the Legacy API), which the client always adds, is popped and
checked to be a UUID. Responses: each example decodes to the documented values.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import msgspec
import pytest

from qlara_async.models import (
    FallbackRcs,
    FallbackSms,
    LegacySmsMessage,
    RcsCard,
    RcsCardBody,
    RcsCarousel,
    RcsCarouselBody,
    RcsMessage,
    RcsSuggestion,
    RcsText,
    RcsTextBody,
    SmsMessage,
    WhatsAppBody,
    WhatsAppDocument,
    WhatsAppImage,
    WhatsAppLocation,
    WhatsAppMessage,
    WhatsAppTemplate,
    WhatsAppText,
    decode_credit,
    decode_legacy_sms_result,
    decode_phone_numbers,
    decode_send_result,
    prepare_legacy_sms,
    prepare_message,
)

MODEL = {"sms": SmsMessage, "rcs": RcsMessage, "whatsapp": WhatsAppMessage}
PATH = {
    "sms": "/message-server/sms/send",
    "rcs": "/message-server/rcs/send",
    "whatsapp": "/message-server/whatsapp/send",
}

RCS_TEXT_BODY = RcsTextBody(body=RcsText(text="Ciao! Il tuo ordine e stato confermato."))

# (doc example, channel, keyword arguments, the example's JSON body as printed in the docs)
SEND_EXAMPLES: list[Any] = [
    pytest.param(
        "sms",
        {
            "destination": "+393201234567",
            "sender": "MyBrand",
            "body": "Ciao, il tuo ordine e stato spedito!",
        },
        '{ "destination": "+393201234567", "sender": "MyBrand", "body": "Ciao, il tuo ordine e'
        ' stato spedito!" }',
        id="api-reference SMS Universal: Simple SMS",
    ),
    pytest.param(
        "sms",
        {
            "destination": "+393201234567",
            "sender": "MyBrand",
            "body": "Ciao {nome}, il tuo codice e {codice}.",
            "placeholders": {"nome": "Marco", "codice": "ABC123"},
            "campaign_id": "promo-2024-01",
            "enable_notification": True,
        },
        '{ "destination": "+393201234567", "sender": "MyBrand", "body": "Ciao {nome}, il tuo'
        ' codice e {codice}.", "placeholders": {"nome": "Marco", "codice": "ABC123"},'
        ' "campaignId": "promo-2024-01", "enableNotification": true }',
        id="api-reference SMS Universal: SMS with placeholders",
    ),
    pytest.param(
        "sms",
        {
            "destination": "+393201234567",
            "sender": "MyBrand",
            "body": "Promemoria: appuntamento domani alle 10:00.",
            "scheduled_date": "2024-12-20 09:00:00.000+0100",
        },
        '{ "destination": "+393201234567", "sender": "MyBrand", "body": "Promemoria:'
        ' appuntamento domani alle 10:00.", "scheduledDate": "2024-12-20 09:00:00.000+0100" }',
        id="api-reference SMS Universal: Scheduled SMS (string)",
    ),
    pytest.param(
        "sms",
        {
            "destination": "+393201234567",
            "sender": "MyBrand",
            "body": "Promemoria: appuntamento domani alle 10:00.",
            "scheduled_date": datetime(2024, 12, 20, 9, tzinfo=timezone(timedelta(hours=1))),
        },
        '{ "destination": "+393201234567", "sender": "MyBrand", "body": "Promemoria:'
        ' appuntamento domani alle 10:00.", "scheduledDate": "2024-12-20 09:00:00.000+0100" }',
        id="api-reference SMS Universal: Scheduled SMS (datetime)",
    ),
    pytest.param(
        "rcs",
        {
            "destination": "+393401234567",
            "agent_id": 10,
            "body": RCS_TEXT_BODY,
            "enable_notification": True,
        },
        '{ "destination": "+393401234567", "agentId": 10, "body": { "type": "TEXT", "body":'
        ' {"text": "Ciao! Il tuo ordine e stato confermato."} }, "enableNotification": true }',
        id="api-reference RCS: Text message",
    ),
    pytest.param(
        "rcs",
        {
            "destination": "+393401234567",
            "agent_id": 10,
            "template_id": 42,
            "placeholders": {"name": "Mario", "order": "ORD-12345"},
            "enable_notification": True,
        },
        '{ "destination": "+393401234567", "agentId": 10, "templateId": 42, "placeholders":'
        ' {"name": "Mario", "order": "ORD-12345"}, "enableNotification": true }',
        id="api-reference RCS: Send with template",
    ),
    pytest.param(
        "rcs",
        {
            "destination": "+393401234567",
            "agent_id": 10,
            "body": RCS_TEXT_BODY,
            "max_sms_parts": 3,
            "enable_notification": True,
        },
        '{ "destination": "+393401234567", "agentId": 10, "body": { "type": "TEXT", "body":'
        ' {"text": "Ciao! Il tuo ordine e stato confermato."} }, "maxSmsParts": 3,'
        ' "enableNotification": true }',
        id="api-reference RCS: Send with SMS fallback",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "template": WhatsAppTemplate(id=42),
            "enable_notification": True,
        },
        '{ "destination": "+393401234567", "phoneNumberId": 5, "template": {"id": 42},'
        ' "enableNotification": true }',
        id="api-reference WhatsApp: Send with template",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "template": WhatsAppTemplate(id=42, media_url="https://example.com/header-image.jpg"),
            "placeholders": {"name": "Mario", "order": "ORD-12345"},
            "enable_notification": True,
        },
        '{ "destination": "+393401234567", "phoneNumberId": 5, "template": {"id": 42,'
        ' "mediaUrl": "https://example.com/header-image.jpg"}, "placeholders": {"name": "Mario",'
        ' "order": "ORD-12345"}, "enableNotification": true }',
        id="api-reference WhatsApp: Template + placeholder + media header",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "body": WhatsAppBody(text=WhatsAppText(body="Ciao! Il tuo ordine e stato spedito.")),
        },
        '{ "destination": "+393401234567", "phoneNumberId": 5, "body": {"text": {"body": "Ciao!'
        ' Il tuo ordine e stato spedito."}} }',
        id="api-reference WhatsApp: Free-form text",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "body": WhatsAppBody(
                image=WhatsAppImage(
                    url="https://example.com/product.jpg", caption="Ecco il tuo prodotto!"
                )
            ),
        },
        '{ "destination": "+393401234567", "phoneNumberId": 5, "body": {"image": {"url":'
        ' "https://example.com/product.jpg", "caption": "Ecco il tuo prodotto!"}} }',
        id="api-reference WhatsApp: Send image",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "body": WhatsAppBody(
                document=WhatsAppDocument(
                    url="https://example.com/invoice.pdf",
                    filename="fattura_marzo.pdf",
                    caption="La tua fattura",
                )
            ),
        },
        '{ "destination": "+393401234567", "phoneNumberId": 5, "body": {"document": {"url":'
        ' "https://example.com/invoice.pdf", "filename": "fattura_marzo.pdf", "caption": "La tua'
        ' fattura"}} }',
        id="api-reference WhatsApp: Send document",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "body": WhatsAppBody(
                location=WhatsAppLocation(
                    latitude="45.4642",
                    longitude="9.1900",
                    name="Negozio Milano Centro",
                    address="Via Roma 1, 20121 Milano",
                )
            ),
        },
        '{ "destination": "+393401234567", "phoneNumberId": 5, "body": {"location": {"latitude":'
        ' "45.4642", "longitude": "9.1900", "name": "Negozio Milano Centro", "address": "Via Roma'
        ' 1, 20121 Milano"}} }',
        id="api-reference WhatsApp: Send location",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "template": WhatsAppTemplate(id=42),
            "fallback_rcs": FallbackRcs(agent_id=10, template_id=99),
            "fallback_sms": FallbackSms(
                sender="MyCompany", text="Ciao! Visita https://example.com"
            ),
            "placeholders": {"name": "Mario"},
        },
        '{ "destination": "+393401234567", "phoneNumberId": 5, "template": {"id": 42},'
        ' "fallbackRcs": {"agentId": 10, "templateId": 99}, "fallbackSms": {"sender":'
        ' "MyCompany", "text": "Ciao! Visita https://example.com"}, "placeholders": {"name":'
        ' "Mario"} }',
        id="api-reference WhatsApp: Send with fallback chain (WhatsApp -> RCS -> SMS)",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "template": WhatsAppTemplate(id=42, media_url="https://example.com/images/promo.jpg"),
            "placeholders": {"nome": "Mario", "codiceSconto": "SPRING25"},
            "enable_notification": True,
        },
        """{
        "destination": "+393401234567",
        "phoneNumberId": 5,
        "template": {"id": 42, "mediaUrl": "https://example.com/images/promo.jpg"},
        "placeholders": {"nome": "Mario", "codiceSconto": "SPRING25"},
        "enableNotification": true
        }""",
        id="whatsapp-api 1. Sending with a template",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "body": WhatsAppBody(
                text=WhatsAppText(
                    body="Ciao Mario! Grazie per averci contattato."
                    " Il tuo ordine è in fase di preparazione."
                )
            ),
        },
        """{
        "destination": "+393401234567",
        "phoneNumberId": 5,
        "body": {"text": {"body": "Ciao Mario! Grazie per averci contattato. Il tuo ordine è in\
 fase di preparazione."}}
        }""",
        id="whatsapp-api 2. Sending a text message",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "body": WhatsAppBody(
                image=WhatsAppImage(
                    url="https://example.com/images/ricevuta-ordine.jpg",
                    caption="Ecco la ricevuta del tuo ordine #12345",
                )
            ),
        },
        """{
        "destination": "+393401234567",
        "phoneNumberId": 5,
        "body": {"image": {"url": "https://example.com/images/ricevuta-ordine.jpg",
                           "caption": "Ecco la ricevuta del tuo ordine #12345"}}
        }""",
        id="whatsapp-api 3. Sending an image",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "body": WhatsAppBody(
                document=WhatsAppDocument(
                    url="https://example.com/docs/fattura-marzo-2025.pdf",
                    filename="Fattura_Marzo_2025.pdf",
                    caption="In allegato la fattura di marzo 2025",
                )
            ),
            "campaign_id": "fatture-marzo-2025",
        },
        """{
        "destination": "+393401234567",
        "phoneNumberId": 5,
        "body": {"document": {"url": "https://example.com/docs/fattura-marzo-2025.pdf",
                              "filename": "Fattura_Marzo_2025.pdf",
                              "caption": "In allegato la fattura di marzo 2025"}},
        "campaignId": "fatture-marzo-2025"
        }""",
        id="whatsapp-api 4. Sending a document",
    ),
    pytest.param(
        "whatsapp",
        {
            "destination": "+393401234567",
            "phone_number_id": 5,
            "template": WhatsAppTemplate(id=42),
            "placeholders": {"nome": "Mario"},
            "enable_notification": True,
            "fallback_rcs": FallbackRcs(agent_id=1, template_id=10),
            "fallback_sms": FallbackSms(
                sender="MyBrand",
                text="Ciao Mario, abbiamo una promozione per te!"
                " Visita il nostro sito per i dettagli.",
            ),
        },
        """{
        "destination": "+393401234567",
        "phoneNumberId": 5,
        "template": {"id": 42},
        "placeholders": {"nome": "Mario"},
        "enableNotification": true,
        "fallbackRcs": {"agentId": 1, "templateId": 10},
        "fallbackSms": {"sender": "MyBrand", "text": "Ciao Mario, abbiamo una promozione per te!\
 Visita il nostro sito per i dettagli."}
        }""",
        id="whatsapp-api 5. Sending with RCS + SMS fallback",
    ),
]

# The RCS "Body Types" examples, each the ``body`` of an RCS send.
RCS_BODY_EXAMPLES: list[Any] = [
    pytest.param(
        RcsTextBody(body=RcsText(text="Ciao! Il tuo ordine e stato confermato.")),
        '{ "type": "TEXT", "body": { "text": "Ciao! Il tuo ordine e stato confermato." } }',
        id="api-reference RCS Body Types: TEXT body",
    ),
    pytest.param(
        RcsCardBody(
            body=RcsCard(
                title="Offerta speciale",
                description="Scopri la nostra promozione esclusiva",
                media_url="https://example.com/promo.jpg",
                suggestions=[
                    RcsSuggestion(
                        type="URL", text="Scopri di piu", value="https://example.com/promo"
                    )
                ],
            )
        ),
        '{ "type": "CARD", "body": { "title": "Offerta speciale", "description": "Scopri la nostra'
        ' promozione esclusiva", "mediaUrl": "https://example.com/promo.jpg", "suggestions": ['
        ' {"type": "URL", "text": "Scopri di piu", "value": "https://example.com/promo"} ] } }',
        id="api-reference RCS Body Types: CARD body",
    ),
    pytest.param(
        RcsCarouselBody(
            body=RcsCarousel(
                cards=[
                    RcsCard(
                        title=f"Prodotto {n}",
                        description=f"Descrizione prodotto {n}",
                        media_url=f"https://example.com/prod{n}.jpg",
                        suggestions=[
                            RcsSuggestion(
                                type="URL", text="Dettagli", value=f"https://example.com/prod{n}"
                            )
                        ],
                    )
                    for n in (1, 2)
                ]
            )
        ),
        '{ "type": "CAROUSEL", "body": { "cards": [ { "title": "Prodotto 1", "description":'
        ' "Descrizione prodotto 1", "mediaUrl": "https://example.com/prod1.jpg", "suggestions": ['
        ' {"type": "URL", "text": "Dettagli", "value": "https://example.com/prod1"} ] }, {'
        ' "title": "Prodotto 2", "description": "Descrizione prodotto 2", "mediaUrl":'
        ' "https://example.com/prod2.jpg", "suggestions": [ {"type": "URL", "text": "Dettagli",'
        ' "value": "https://example.com/prod2"} ] } ] } }',
        id="api-reference RCS Body Types: CAROUSEL body",
    ),
]

LEGACY_EXAMPLE = (
    '{ "enableConcatenated": true, "enableUnicode": true, "enableDelivery": true, "messages": [ {'
    ' "destinations": ["+393401234567", "+393407654321"], "sender": "MyCompany", "body": "Promo:'
    ' 20% di sconto su tutti i prodotti!" } ] }'
)
LEGACY_KWARGS: dict[str, Any] = {
    "enable_concatenated": True,
    "enable_unicode": True,
    "enable_delivery": True,
    "messages": [
        LegacySmsMessage(
            destinations=["+393401234567", "+393407654321"],
            sender="MyCompany",
            body="Promo: 20% di sconto su tutti i prodotti!",
        )
    ],
}


def as_dicts(kwargs: dict[str, Any]) -> dict[str, Any]:
    """The same keyword arguments with every nested Struct spelled as a docs-style dict."""
    return {
        k: msgspec.to_builtins(v) if isinstance(v, (msgspec.Struct, list)) else v
        for k, v in kwargs.items()
    }


def body_without_id(content: bytes, id_field: str = "messageId") -> Any:
    """The JSON body with the generated id popped, after checking it is a UUID."""
    body = json.loads(content)
    generated = body.pop(id_field)
    assert str(uuid.UUID(generated)) == generated
    return body


# --- requests, at the prepare_message level


@pytest.mark.parametrize("form", ["structs", "dicts"])
@pytest.mark.parametrize(("channel", "kwargs", "expected"), SEND_EXAMPLES)
def test_send_example_prepared(channel: str, kwargs: dict[str, Any], expected: str, form: str):
    """The message built from the keywords encodes to the docs' example, nested Structs or dicts."""
    if form == "dicts":
        kwargs = as_dicts(kwargs)
    prepared = prepare_message(MODEL[channel](**kwargs))
    assert prepared.path == PATH[channel]
    assert body_without_id(prepared.content) == json.loads(expected)


@pytest.mark.parametrize("form", ["structs", "dicts"])
@pytest.mark.parametrize(("body", "expected"), RCS_BODY_EXAMPLES)
def test_rcs_body_example_prepared(body: Any, expected: str, form: str):
    """Each RCS body type encodes to the docs' example, as a Struct or as a dict."""
    if form == "dicts":
        body = msgspec.to_builtins(body)
    prepared = prepare_message(RcsMessage(destination="+393401234567", agent_id=10, body=body))
    assert body_without_id(prepared.content)["body"] == json.loads(expected)


@pytest.mark.parametrize("form", ["structs", "dicts"])
def test_legacy_example_prepared(form: str):
    """api-reference SMS Legacy curl example: the request encodes to the docs' body."""
    from qlara_async.models import LegacySmsRequest

    kwargs = as_dicts(LEGACY_KWARGS) if form == "dicts" else LEGACY_KWARGS
    prepared = prepare_legacy_sms(LegacySmsRequest(**kwargs))
    assert body_without_id(prepared.content, "globalId") == json.loads(LEGACY_EXAMPLE)


# --- requests, through the client's keyword calls


class Recorder:
    """An httpx MockTransport handler that records requests and answers from a table."""

    def __init__(self, responses: dict[str, Any] | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.responses = responses or {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        answer = self.responses.get(request.url.path, SMS_RESPONSE)
        if isinstance(answer, bytes):
            return httpx.Response(200, content=answer)
        return httpx.Response(200, content=answer.encode())


@pytest.fixture
def recorder() -> Recorder:
    """Records every request the client makes."""
    return Recorder()


@pytest.fixture
async def client(recorder: Recorder) -> Any:
    """An AsyncQlara whose HTTP goes to ``recorder``."""
    from qlara_async import AsyncQlara

    http = httpx.AsyncClient(transport=httpx.MockTransport(recorder))
    async with (
        http,
        AsyncQlara(
            api_key="k", base_url="https://api.test/api", http_client=http, rate_limit=None
        ) as c,
    ):
        yield c


@pytest.mark.anyio
@pytest.mark.parametrize(("channel", "kwargs", "expected"), SEND_EXAMPLES)
async def test_send_example_via_client(
    client: Any, recorder: Recorder, channel: str, kwargs: dict[str, Any], expected: str
):
    """``client.<channel>.send(**keywords)`` POSTs exactly the docs' example body."""
    await getattr(client, channel).send(**kwargs)
    (request,) = recorder.requests
    assert request.method == "POST"
    assert request.url.path == "/api" + PATH[channel]
    assert body_without_id(request.content) == json.loads(expected)


@pytest.mark.anyio
async def test_legacy_example_via_client(client: Any, recorder: Recorder):
    """api-reference SMS Legacy: ``client.sms.send_legacy`` POSTs the docs' body."""
    recorder.responses["/api/services/sms/send"] = LEGACY_RESPONSE
    result = await client.sms.send_legacy(**LEGACY_KWARGS)
    (request,) = recorder.requests
    assert request.url.path == "/api/services/sms/send"
    assert body_without_id(request.content, "globalId") == json.loads(LEGACY_EXAMPLE)
    assert result.processed_sms_parts == 2


# --- responses

SMS_RESPONSE = (
    '{ "messageId": "a1b2c3d4-e5f6-7890-abcd-ef1234567890", "simulation": false, "results": {'
    ' "sms": { "accepted": true, "unicode": false, "parts": 1, "reasons": [] } } }'
)
RCS_RESPONSE = (
    '{ "messageId": "e76614d1-4ac1-4d94-89f0-d07f1b5a190c", "simulation": false, "results": {'
    ' "rcs": { "accepted": true, "reasons": [] }, "sms": null } }'
)
WHATSAPP_RESPONSE = (
    '{ "messageId": "e76614d1-4ac1-4d94-89f0-d07f1b5a190c", "simulation": false, "results": {'
    ' "whatsapp": {"accepted": true}, "rcs": null, "sms": null } }'
)
WHATSAPP_FALLBACK_RESPONSE = """{
"messageId": "e76614d1-4ac1-4d94-89f0-d07f1b5a190c",
"simulation": false,
"results": {
"whatsapp": {"accepted": true},
"rcs": {"accepted": true, "reasons": []},
"sms": {"accepted": true, "unicode": false, "parts": 1, "reasons": []}
}
}"""
QUICK_START_RESPONSE = """{
"messageId": "msg_1234567890",
"customerMessageId": "your_reference_id",
"simulation": false,
"results": [
{"phoneNumber": "+393901234567", "accepted": true, "channel": "sms", "statusCode": 200}
]
}"""
LEGACY_RESPONSE = (
    '{ "globalId": "campaign-2025-001", "processedMessages": 1, "processedSmsParts": 2,'
    ' "credit": 150.50 }'
)
CREDIT_RESPONSE = '{ "credit": 150.50 }'
PHONE_NUMBERS_RESPONSE = (
    '{ "data": [ { "id": 5, "phoneNumber": "+393209998877", "displayName": "My Business",'
    ' "onboardingScope": "RECEIVE_AND_SEND" } ] }'
)


def test_sms_response_example():
    """api-reference SMS Universal response decodes with its SMS result."""
    r = decode_send_result(SMS_RESPONSE.encode())
    assert r.message_id == "a1b2c3d4-e5f6-7890-abcd-ef1234567890"
    assert r.simulation is False
    assert r.accepted
    assert r.results.sms is not None
    assert (r.results.sms.unicode, r.results.sms.parts, r.results.sms.reasons) == (False, 1, [])
    assert r.results.rcs is None and r.results.whatsapp is None


def test_rcs_response_example():
    """api-reference RCS response decodes: RCS accepted, no SMS fallback result."""
    r = decode_send_result(RCS_RESPONSE.encode())
    assert r.results.rcs is not None and r.results.rcs.accepted
    assert r.results.sms is None
    assert r.accepted


def test_whatsapp_response_example():
    """api-reference / whatsapp-api WhatsApp response decodes."""
    r = decode_send_result(WHATSAPP_RESPONSE.encode())
    assert r.results.whatsapp is not None and r.results.whatsapp.accepted
    assert r.results.whatsapp.reasons == []
    assert r.results.rcs is None and r.results.sms is None


def test_whatsapp_fallback_response_example():
    """whatsapp-api "Response (with fallback activated)" decodes all three channel results."""
    r = decode_send_result(WHATSAPP_FALLBACK_RESPONSE.encode())
    assert r.results.whatsapp is not None and r.results.whatsapp.accepted
    assert r.results.rcs is not None and r.results.rcs.accepted
    assert r.results.sms is not None and r.results.sms.parts == 1


def test_quick_start_response_example():
    """quick-start's array-shaped ``results`` decodes to the same per-channel results."""
    r = decode_send_result(QUICK_START_RESPONSE.encode())
    assert r.message_id == "msg_1234567890"
    assert r.results.sms is not None and r.results.sms.accepted
    assert r.results.rcs is None and r.results.whatsapp is None
    assert r.accepted


def test_legacy_response_example():
    """api-reference SMS Legacy response decodes."""
    r = decode_legacy_sms_result(LEGACY_RESPONSE.encode())
    assert (r.global_id, r.processed_messages, r.processed_sms_parts, r.credit) == (
        "campaign-2025-001",
        1,
        2,
        150.50,
    )


def test_credit_response_example():
    """api-reference Check Credit response decodes."""
    assert decode_credit(CREDIT_RESPONSE.encode()).credit == 150.50


def test_phone_numbers_response_example():
    """api-reference Phone Numbers response decodes to its one number."""
    (number,) = decode_phone_numbers(PHONE_NUMBERS_RESPONSE.encode())
    assert (number.id, number.phone_number, number.display_name, number.onboarding_scope) == (
        5,
        "+393209998877",
        "My Business",
        "RECEIVE_AND_SEND",
    )


RESPONSES_BY_CHANNEL: list[Any] = [
    pytest.param("sms", SMS_RESPONSE, id="SMS response"),
    pytest.param("rcs", RCS_RESPONSE, id="RCS response"),
    pytest.param("whatsapp", WHATSAPP_RESPONSE, id="WhatsApp response"),
    pytest.param("whatsapp", WHATSAPP_FALLBACK_RESPONSE, id="WhatsApp fallback response"),
    pytest.param("sms", QUICK_START_RESPONSE, id="quick-start array response"),
]

MINIMAL: dict[str, Callable[[], dict[str, Any]]] = {
    "sms": lambda: {"destination": "+393201234567", "sender": "MyBrand", "body": "hi"},
    "rcs": lambda: {"destination": "+393201234567", "agent_id": 10, "template_id": 42},
    "whatsapp": lambda: {
        "destination": "+393201234567",
        "phone_number_id": 5,
        "template": {"id": 1},
    },
}


@pytest.mark.anyio
@pytest.mark.parametrize(("channel", "response"), RESPONSES_BY_CHANNEL)
async def test_response_example_via_client(
    client: Any, recorder: Recorder, channel: str, response: str
):
    """A send through the client returns the docs' response as an accepted ``SendResult``."""
    recorder.responses["/api" + PATH[channel]] = response
    result = await getattr(client, channel).send(**MINIMAL[channel]())
    assert result.accepted
    assert result.message_id == json.loads(response)["messageId"]


@pytest.mark.anyio
async def test_credit_via_client(client: Any, recorder: Recorder):
    """``client.sms.credit()`` GETs /services/sms/credit and decodes the docs' response."""
    recorder.responses["/api/services/sms/credit"] = CREDIT_RESPONSE
    credit = await client.sms.credit()
    assert credit.credit == 150.50
    (request,) = recorder.requests
    assert (request.method, request.url.path) == ("GET", "/api/services/sms/credit")


@pytest.mark.anyio
async def test_phone_numbers_list_via_client(client: Any, recorder: Recorder):
    """``client.whatsapp.phone_numbers.list()`` iterates over the docs' ``data`` array."""
    recorder.responses["/api/message-server/whatsapp/phone-numbers"] = PHONE_NUMBERS_RESPONSE
    numbers = [n async for n in client.whatsapp.phone_numbers.list()]
    assert [n.id for n in numbers] == [5]


@pytest.mark.anyio
async def test_phone_number_get_via_client(client: Any, recorder: Recorder):
    """``client.whatsapp.phone_numbers.get(5)`` GETs the number's path and decodes it."""
    recorder.responses["/api/message-server/whatsapp/phone-numbers/5"] = PHONE_NUMBERS_RESPONSE
    number = await client.whatsapp.phone_numbers.get(5)
    assert number.display_name == "My Business"
    assert recorder.requests[0].url.path == "/api/message-server/whatsapp/phone-numbers/5"


MEDIA_KEY = "b394ab72/efd4987c/39b4879f6fed01f0d622453be1488c93"


@pytest.mark.anyio
async def test_download_url_via_client(client: Any, recorder: Recorder):
    """``client.files.download_url`` GETs /files/{mediaKey} with its slashes and expireMinutes."""
    recorder.responses[f"/api/files/{MEDIA_KEY}"] = '{"url": "https://cdn.test/x?sig=1"}'
    url = await client.files.download_url(MEDIA_KEY, expire_minutes=30)
    assert url == "https://cdn.test/x?sig=1"
    (request,) = recorder.requests
    assert request.url.raw_path == f"/api/files/{MEDIA_KEY}?expireMinutes=30".encode()


def _iter_ids() -> Iterator[str]:
    yield from ("first", "second")


def test_new_id_called_once_before_encoding():
    """``prepare_message`` calls ``new_id`` once and the id it returns is in the body."""
    ids = _iter_ids()
    prepared = prepare_message(SmsMessage(**MINIMAL["sms"]()), new_id=lambda: next(ids))
    assert prepared.message_id == "first"
    assert json.loads(prepared.content)["messageId"] == "first"
    assert next(ids) == "second"
