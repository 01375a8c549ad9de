"""``client.rcs.templates`` and ``client.whatsapp.templates``: the docs' create examples
JSON-equal, the tables' rules before any request, the two page-numbered styles."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from qlara_async import ValidationError

from ._fakes import make_client

pytestmark = pytest.mark.anyio


def _recorder(answer: Any):
    seen: list[tuple[str, str, Any, dict[str, str]]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body, dict(request.url.params)))
        return httpx.Response(200, json=answer)

    return handler, seen


# api-reference.md, "Example: Create TEXT Template".
RCS_EXAMPLE = {
    "name": "rcs_welcome",
    "description": "Welcome template",
    "type": "TEXT",
    "body": {
        "text": "Ciao {name}! Benvenuto nel nostro servizio.",
        "suggestions": [
            {"type": "reply", "text": "Grazie!"},
            {"type": "url", "text": "Visita il sito", "url": {"url": "https://example.com"}},
        ],
        "fallbackSms": {
            "sender": "AZIENDA",
            "text": "Ciao {name}! Benvenuto. Visita https://example.com",
        },
    },
}

# api-reference.md, "Example: Create Template with Buttons".
WA_EXAMPLE = {
    "name": "marketing_welcome",
    "lang": "it",
    "category": "MARKETING",
    "headerText": "Welcome",
    "body": "Ciao {firstName} siamo contentissimi di averti tra noi",
    "footer": "Per info visita il sito",
    "buttons": [
        {"type": "URL", "text": "Apri il sito", "url": "https://agiletelecom.com/"},
        {"type": "PHONE_NUMBER", "text": "Chiamaci", "phoneNumber": "+39 123123123"},
        {"type": "QUICK_REPLY", "text": "Voglio essere contattato"},
    ],
}


async def test_rcs_create_reproduces_the_docs_example() -> None:
    """The keyword call sends exactly the docs' body."""
    handler, seen = _recorder({"id": 1, "name": "rcs_welcome", "type": "TEXT"})
    client, _, _ = make_client(handler)
    async with client:
        template = await client.rcs.templates.create(
            name="rcs_welcome",
            description="Welcome template",
            type="TEXT",
            body=RCS_EXAMPLE["body"],
        )
    assert seen[0][:3] == ("POST", "/api/message-server/rcs/templates", RCS_EXAMPLE)
    assert template.id == 1


async def test_whatsapp_create_reproduces_the_docs_example() -> None:
    """``POST ...?phoneNumberId=5`` with the docs' body."""
    handler, seen = _recorder({"id": 3, "status": "PENDING"})
    client, _, _ = make_client(handler)
    async with client:
        template = await client.whatsapp.templates.create(
            phone_number_id=5,
            name="marketing_welcome",
            lang="it",
            category="MARKETING",
            header_text="Welcome",
            body="Ciao {firstName} siamo contentissimi di averti tra noi",
            footer="Per info visita il sito",
            buttons=WA_EXAMPLE["buttons"],
        )
    assert seen[0] == (
        "POST",
        "/api/message-server/whatsapp/templates",
        WA_EXAMPLE,
        {"phoneNumberId": "5"},
    )
    assert template.status == "PENDING"


async def test_whatsapp_update_is_a_partial_patch() -> None:
    """``PATCH`` with only the fields given."""
    handler, seen = _recorder({"id": 3, "status": "PENDING"})
    client, _, _ = make_client(handler)
    async with client:
        await client.whatsapp.templates.update(3, footer=None, body="Nuovo {nome}")
    assert seen[0][:3] == (
        "PATCH",
        "/api/message-server/whatsapp/templates/3",
        {"footer": None, "body": "Nuovo {nome}"},
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "Marketing Welcome"}, "name"),
        ({"name": "promo-1"}, "name"),
        ({"category": "PROMO"}, "category"),
        ({"header_format": "IMAGE"}, "headerText"),
        ({"buttons": [{"type": "URL", "text": "x"}]}, "buttons[0].url"),
        ({"buttons": [{"type": "CALL", "text": "x"}]}, "buttons[0].type"),
        (
            {"buttons": [{"type": "QUICK_REPLY", "text": "x", "url": "https://e.com"}]},
            "buttons[0].url",
        ),
        (
            {"buttons": [{"type": "URL", "text": "x", "url": "u", "phoneNumber": "1"}]},
            "buttons[0].phoneNumber",
        ),
        ({"phone_number_id": "5"}, "phoneNumberId"),
    ],
)
async def test_whatsapp_rules(kwargs: dict[str, Any], field: str) -> None:
    """snake_case names, the three categories, exclusive headers, button fields."""
    handler, seen = _recorder({})
    base: dict[str, Any] = {
        "phone_number_id": 5,
        "name": "promo_1",
        "lang": "it",
        "category": "MARKETING",
        "body": "Ciao",
        "header_text": "Hi",
    }
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(ValidationError) as info:
            await client.whatsapp.templates.create(**{**base, **kwargs})
    assert info.value.field == field and seen == []


@pytest.mark.parametrize(
    ("type_", "body", "field"),
    [
        ("MEDIA", {"text": "x"}, "type"),
        ("TEXT", {}, "body.text"),
        (
            "TEXT",
            {"text": "x", "suggestions": [{"type": "tap", "text": "x"}]},
            "body.suggestions[0].type",
        ),
        (
            "CARD",
            {"cardOrientation": "DIAGONAL", "card": {"media": {"fileUrl": "u"}}},
            "body.cardOrientation",
        ),
        ("CARD", {"cardOrientation": "VERTICAL", "card": {"media": {}}}, "body.card.media.fileUrl"),
        ("CAROUSEL", {"cardWidth": "SMALL", "cards": []}, "body.cards"),
        # "Suggestion Types": each type's object and its required fields.
        (
            "TEXT",
            {"text": "x", "suggestions": [{"type": "url", "text": "x"}]},
            "body.suggestions[0].url",
        ),
        (
            "TEXT",
            {"text": "x", "suggestions": [{"type": "url", "text": "x", "url": {}}]},
            "body.suggestions[0].url.url",
        ),
        (
            "TEXT",
            {
                "text": "x",
                "suggestions": [{"type": "reply", "text": "x", "dial": {"phoneNumber": "1"}}],
            },
            "body.suggestions[0].dial",
        ),
        (
            "CARD",
            {
                "cardOrientation": "VERTICAL",
                "card": {
                    "media": {"fileUrl": "u"},
                    "suggestions": [{"type": "calendar", "text": "x", "calendar": {"title": "t"}}],
                },
            },
            "body.card.suggestions[0].calendar.description",
        ),
        # "Fallback Chain": fallbackSms is required if fallbackWhatsApp is present.
        ("TEXT", {"text": "x", "fallbackWhatsApp": {"templateId": 1}}, "body.fallbackSms"),
        (
            "CARD",
            {"cardOrientation": "VERTICAL", "card": {"media": {"fileUrl": "u", "height": "HUGE"}}},
            "body.card.media.height",
        ),
    ],
)
async def test_rcs_template_rules(type_: str, body: dict[str, Any], field: str) -> None:
    """The TEXT, CARD and CAROUSEL tables: required fields, enums, one media source."""
    handler, seen = _recorder({})
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(ValidationError) as info:
            await client.rcs.templates.create(name="t", type=type_, body=body)
    assert info.value.field == field and seen == []


async def test_the_two_page_numbered_styles() -> None:
    """RCS templates page with ``page``+``limit``, WhatsApp with ``page``+``size``."""
    handler, seen = _recorder([])
    client, _, _ = make_client(handler)
    async with client:
        assert [t async for t in client.rcs.templates.list(type="TEXT", enabled=True)] == []
        assert [t async for t in client.whatsapp.templates.list(status="APPROVED")] == []
    assert seen[0][3] == {"type": "TEXT", "enabled": "1", "page": "0", "limit": "100"}
    assert seen[1][3] == {"status": "APPROVED", "page": "0", "size": "100"}
