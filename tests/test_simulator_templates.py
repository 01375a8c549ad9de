"""The simulator's RCS and WhatsApp template areas, in-process (ASGI) and over real HTTP: the docs'
create examples, the body tables enforced field by field, list filters, both page-numbered paging
styles, and Meta's review on the simulator's clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from qlara_async._clock import ManualClock
from qlara_async.testing import Simulator, run_in_thread
from qlara_async.testing.handlers.templates import REVIEW_SECONDS

pytestmark = pytest.mark.anyio

RCS = "/message-server/rcs/templates"
WA = "/message-server/whatsapp/templates"
KEY = {"X-Api-Key": "test-key"}
WALL = 1_700_000_000.0

# api-reference.md, "Example: Create TEXT Template".
RCS_EXAMPLE: dict[str, Any] = {
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

# api-reference.md, "Example: Create Template with Buttons" (with ?phoneNumberId=5).
WA_EXAMPLE: dict[str, Any] = {
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

MEDIA = {"fileUrl": "https://example.com/a.png", "height": "MEDIUM"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(100.0, wall_offset=WALL)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(clock=clock)


@pytest.fixture(params=["asgi", pytest.param("http", marks=pytest.mark.e2e)])
async def client(
    sim: Simulator, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "asgi":
        transport = httpx.ASGITransport(sim)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sim/api", headers=KEY
        ) as http:
            yield http
    else:
        with run_in_thread(sim) as url:
            async with httpx.AsyncClient(base_url=url, headers=KEY) as http:
                yield http


def _is_platform_400(r: httpx.Response, field: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"status", "error", "message", "timestamp", "path"}
    assert f"'{field}'" in body["message"], body["message"]


# ----------------------------------------------------------------------------- RCS


async def test_rcs_docs_example_create_get_update_delete(client: httpx.AsyncClient) -> None:
    """The docs' example is created as sent (201, enabled), read back, replaced by PUT (keeping
    id and creation time), and deleted (204, then 404 in the platform format)."""
    r = await client.post(RCS, json=RCS_EXAMPLE)
    assert r.status_code == 201
    made = r.json()
    assert {k: made[k] for k in RCS_EXAMPLE} == RCS_EXAMPLE
    assert (made["id"], made["enabled"], made["creationDate"]) == (1, True, "2023-11-14T22:15:00Z")
    assert (await client.get(f"{RCS}/1")).json() == made

    card = {"name": "promo", "type": "CARD", "body": {"cardOrientation": "VERTICAL",
            "card": {"title": "Saldi", "media": MEDIA}}}  # fmt: skip
    r = await client.put(f"{RCS}/1", json=card)
    assert r.status_code == 200
    updated = r.json()
    assert (updated["id"], updated["type"], updated["body"]) == (1, "CARD", card["body"])
    assert "description" not in updated and updated["creationDate"] == made["creationDate"]

    r = await client.delete(f"{RCS}/1")
    assert (r.status_code, r.content) == (204, b"")
    r = await client.get(f"{RCS}/1")
    assert r.status_code == 404 and r.json()["message"] == "RCS template 1 not found."
    assert (await client.put(f"{RCS}/1", json=card)).status_code == 404


@pytest.mark.parametrize(
    ("type_", "body", "field"),
    [
        ("TEXT", {}, "body.text"),
        ("TEXT", {"text": ""}, "body.text"),
        ("TEXT", {"text": "x", "ttlSeconds": 0}, "body.ttlSeconds"),
        ("TEXT", {"text": "x", "colour": "red"}, "body.colour"),
        ("TEXT", {"text": "x", "suggestions": [{"type": "tap", "text": "x"}]},
         "body.suggestions[0].type"),
        ("TEXT", {"text": "x", "suggestions": [{"type": "reply"}]}, "body.suggestions[0].text"),
        ("TEXT", {"text": "x", "suggestions": [{"type": "url", "text": "x"}]},
         "body.suggestions[0].url"),
        ("TEXT", {"text": "x", "suggestions": [{"type": "url", "text": "x", "url": {}}]},
         "body.suggestions[0].url.url"),
        ("TEXT", {"text": "x", "suggestions": [{"type": "dial", "text": "x", "dial": {}}]},
         "body.suggestions[0].dial.phoneNumber"),
        ("TEXT", {"text": "x", "suggestions": [{"type": "reply", "text": "x",
                                                "dial": {"phoneNumber": "1"}}]},
         "body.suggestions[0].dial"),
        ("TEXT", {"text": "x", "suggestions": [{"type": "locationCoordinates", "text": "x",
                  "locationCoordinates": {"latitude": 45.4, "longitude": 9.1}}]},
         "body.suggestions[0].locationCoordinates.label"),
        ("TEXT", {"text": "x", "suggestions": [{"type": "locationQuery", "text": "x",
                                                "locationQuery": {}}]},
         "body.suggestions[0].locationQuery.query"),
        ("TEXT", {"text": "x", "suggestions": [{"type": "calendar", "text": "x", "calendar": {
            "title": "t", "description": "d", "startTime": "2026-01-01T10:00:00Z"}}]},
         "body.suggestions[0].calendar.endTime"),
        ("TEXT", {"text": "x", "fallbackSms": {"sender": "A"}}, "body.fallbackSms.text"),
        ("TEXT", {"text": "x", "fallbackSms": {"text": "t"}}, "body.fallbackSms.sender"),
        ("TEXT", {"text": "x", "fallbackWhatsApp": {"templateId": 1}}, "body.fallbackSms"),
        ("CARD", {"card": {"media": MEDIA}}, "body.cardOrientation"),
        ("CARD", {"cardOrientation": "DIAGONAL", "card": {"media": MEDIA}},
         "body.cardOrientation"),
        ("CARD", {"cardOrientation": "VERTICAL"}, "body.card"),
        ("CARD", {"cardOrientation": "VERTICAL", "card": {}}, "body.card.media"),
        ("CARD", {"cardOrientation": "VERTICAL", "card": {"media": {}}},
         "body.card.media.fileUrl"),
        ("CARD", {"cardOrientation": "VERTICAL",
                  "card": {"media": {"fileUrl": "u", "mediaKey": "k"}}},
         "body.card.media.fileUrl"),
        ("CARD", {"cardOrientation": "VERTICAL",
                  "card": {"media": {"fileUrl": "u", "height": "HUGE"}}},
         "body.card.media.height"),
        ("CARD", {"cardOrientation": "VERTICAL", "thumbnailAlignment": "UP",
                  "card": {"media": MEDIA}}, "body.thumbnailAlignment"),
        ("CAROUSEL", {"cardWidth": "SMALL", "cards": []}, "body.cards"),
        ("CAROUSEL", {"cards": [{"media": MEDIA}]}, "body.cardWidth"),
        ("CAROUSEL", {"cardWidth": "WIDE", "cards": [{"media": MEDIA}]}, "body.cardWidth"),
        ("CAROUSEL", {"cardWidth": "SMALL", "cards": [{"media": MEDIA}, {"media": {}}]},
         "body.cards[1].media.fileUrl"),
        ("TEXT", "just text", "body"),
        ("MEDIA", {"text": "x"}, "type"),
    ],
)  # fmt: skip
async def test_rcs_body_tables_are_enforced(
    sim: Simulator, client: httpx.AsyncClient, type_: str, body: Any, field: str
) -> None:
    """Each rule of the TEXT/CARD/CAROUSEL, media, suggestion and fallback tables is a platform
    400 naming the wire field, and nothing is created."""
    r = await client.post(RCS, json={"name": "t", "type": type_, "body": body})
    _is_platform_400(r, field)
    assert len(sim.collection("rcs_templates")) == 0


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"type": "TEXT", "body": {"text": "x"}}, "name"),
        ({"name": "t", "body": {"text": "x"}}, "type"),
        ({"name": "t", "type": "TEXT"}, "body"),
        ({"name": "t", "type": "TEXT", "body": {"text": "x"}, "enabled": False}, "enabled"),
    ],
)
async def test_rcs_creation_fields(client: httpx.AsyncClient, payload: Any, field: str) -> None:
    """name, type and body are required; unknown top-level fields are refused."""
    _is_platform_400(await client.post(RCS, json=payload), field)


async def test_valid_card_and_carousel_bodies_are_accepted(client: httpx.AsyncClient) -> None:
    """Every suggestion type with its fields, mediaKey instead of fileUrl, both fallbacks."""
    suggestions = [
        {"type": "reply", "text": "Si"},
        {"type": "dial", "text": "Chiama", "dial": {"phoneNumber": "+39021234567"}},
        {"type": "locationCoordinates", "text": "Qui", "locationCoordinates":
            {"latitude": 45.46, "longitude": "9.19", "label": "Negozio"}},
        {"type": "locationQuery", "text": "Cerca", "locationQuery": {"query": "pizza"}},
        {"type": "calendar", "text": "Salva", "calendar": {"title": "t", "description": "d",
            "startTime": "2026-01-01T10:00:00Z", "endTime": "2026-01-01T11:00:00Z"}},
    ]  # fmt: skip
    carousel = {
        "cardWidth": "MEDIUM",
        "cards": [
            {"media": {"mediaKey": "k/1", "height": "TALL"}, "suggestions": suggestions},
            {"title": "B", "media": MEDIA},
        ],
        "fallbackWhatsApp": {"phoneNumberId": 5, "templateId": 3},
        "fallbackSms": {"sender": "AZIENDA", "text": "Offerte"},
    }
    r = await client.post(RCS, json={"name": "c", "type": "CAROUSEL", "body": carousel})
    assert r.status_code == 201, r.text
    assert r.json()["body"] == carousel


async def test_rcs_list_filters_and_sorting(sim: Simulator, client: httpx.AsyncClient) -> None:
    """search (name or description, any case), type, enabled 0/1, sortBy/sortOrder."""
    sim.seed("rcs_templates", 6)
    sim.collection("rcs_templates").update(2, {"enabled": False, "type": "CARD"})
    sim.collection("rcs_templates").update(5, {"description": "Promo SALDI"})

    async def ids(**params: Any) -> list[int]:
        r = await client.get(RCS, params=params)
        assert r.status_code == 200, r.text
        return [item["id"] for item in r.json()["data"]]

    assert await ids() == [1, 2, 3, 4, 5, 6]
    assert await ids(search="saldi") == [5]
    assert await ids(search="RCS_TEMPLATE_0003") == [4]
    assert await ids(type="CARD") == [2]
    assert await ids(enabled=0) == [2]
    assert await ids(enabled=1) == [1, 3, 4, 5, 6]
    assert await ids(sortBy="id", sortOrder="desc") == [6, 5, 4, 3, 2, 1]
    assert (await ids(sortBy="type", sortOrder="asc"))[:2] == [2, 1]


@pytest.mark.parametrize(
    "query",
    ["type=MEDIA", "enabled=true", "sortBy=colour", "sortOrder=up", "offset=0", "size=5",
     "limit=101", "page=-1", "colour=red"],
)  # fmt: skip
async def test_rcs_bad_list_queries_are_400(client: httpx.AsyncClient, query: str) -> None:
    """Filters and paging are checked strictly; offset/size belong to the other styles."""
    r = await client.get(f"{RCS}?{query}")
    assert r.status_code == 400 and r.json()["status"] == 400


async def test_1250_rcs_templates_page_with_page_and_limit(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """page (0-based) + limit 100: 13 pages, each template once, the flat envelope."""
    seeded = sim.seed("rcs_templates", 1250)
    seen: list[int] = []
    for page in range(13):
        body = (await client.get(RCS, params={"page": page, "limit": 100})).json()
        assert (body["page"], body["limit"], body["total"], body["totalPages"]) == (
            page, 100, 1250, 13)  # fmt: skip
        seen += [item["id"] for item in body["data"]]
    assert seen == [item["id"] for item in seeded]
    assert (await client.get(RCS, params={"page": 13, "limit": 100})).json()["data"] == []


# ----------------------------------------------------------------------------- WhatsApp


async def test_whatsapp_docs_example_create_get_patch_delete(
    clock: ManualClock, client: httpx.AsyncClient
) -> None:
    """Created PENDING for phone number 5; approved REVIEW_SECONDS later on the simulator's
    clock; a partial PATCH keeps the other fields and goes back to PENDING; delete is 204,
    then 404."""
    r = await client.post(f"{WA}?phoneNumberId=5", json=WA_EXAMPLE)
    assert r.status_code == 201, r.text
    made = r.json()
    assert {k: made[k] for k in WA_EXAMPLE} == WA_EXAMPLE
    assert (made["id"], made["status"], made["phoneNumberId"]) == (1, "PENDING", 5)
    assert not any(k.startswith("_") for k in made)

    clock.advance(REVIEW_SECONDS - 1)
    assert (await client.get(f"{WA}/1")).json()["status"] == "PENDING"
    clock.advance(1)
    assert (await client.get(f"{WA}/1")).json()["status"] == "APPROVED"

    r = await client.patch(f"{WA}/1", json={"footer": None, "body": "Nuovo {nome}"})
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["status"] == "PENDING" and "footer" not in patched
    assert patched["body"] == "Nuovo {nome}" and patched["buttons"] == WA_EXAMPLE["buttons"]
    assert patched["headerText"] == "Welcome"

    assert (await client.delete(f"{WA}/1")).status_code == 204
    assert (await client.get(f"{WA}/1")).status_code == 404
    assert (await client.patch(f"{WA}/1", json={"lang": "en"})).status_code == 404


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Marketing Welcome"}, "name"),
        ({"name": "promo-1"}, "name"),
        ({"name": ""}, "name"),
        ({"lang": ""}, "lang"),
        ({"category": "PROMO"}, "category"),
        ({"body": ""}, "body"),
        ({"headerFormat": "IMAGE"}, "headerText"),
        ({"headerText": None, "headerFormat": "GIF"}, "headerFormat"),
        ({"buttons": [{"type": "URL", "text": "x"}]}, "buttons[0].url"),
        ({"buttons": [{"type": "PHONE_NUMBER", "text": "x"}]}, "buttons[0].phoneNumber"),
        ({"buttons": [{"type": "QUICK_REPLY", "text": "x", "url": "https://e.com"}]},
         "buttons[0].url"),
        ({"buttons": [{"type": "CALL", "text": "x"}]}, "buttons[0].type"),
        ({"buttons": [{"type": "QUICK_REPLY"}]}, "buttons[0].text"),
        ({"trackButtonLinks": "yes"}, "trackButtonLinks"),
        ({"placeholderFields": {"WHATSAPP": "x"}}, "placeholderFields[...]"),
        ({"status": "APPROVED"}, "status"),
    ],
)  # fmt: skip
async def test_whatsapp_creation_rules(
    sim: Simulator, client: httpx.AsyncClient, change: dict[str, Any], field: str
) -> None:
    """snake_case names, the three categories, exclusive headers, each button's field: a
    platform 400 naming the field, nothing created."""
    payload = {k: v for k, v in {**WA_EXAMPLE, **change}.items() if v is not None}
    _is_platform_400(await client.post(f"{WA}?phoneNumberId=5", json=payload), field)
    assert len(sim.collection("whatsapp_templates")) == 0


@pytest.mark.parametrize("field", ["name", "lang", "category", "body"])
async def test_whatsapp_required_fields(client: httpx.AsyncClient, field: str) -> None:
    payload = {k: v for k, v in WA_EXAMPLE.items() if k != field}
    _is_platform_400(await client.post(f"{WA}?phoneNumberId=5", json=payload), field)


async def test_whatsapp_phone_number_and_duplicates(client: httpx.AsyncClient) -> None:
    """phoneNumberId is required and must be a known number; one name per language."""
    _is_platform_400(await client.post(WA, json=WA_EXAMPLE), "phoneNumberId")
    _is_platform_400(await client.post(f"{WA}?phoneNumberId=x", json=WA_EXAMPLE), "phoneNumberId")
    r = await client.post(f"{WA}?phoneNumberId=99", json=WA_EXAMPLE)
    assert r.status_code == 404
    assert (await client.post(f"{WA}?phoneNumberId=5", json=WA_EXAMPLE)).status_code == 201
    assert (await client.post(f"{WA}?phoneNumberId=5", json=WA_EXAMPLE)).status_code == 409
    english = {**WA_EXAMPLE, "lang": "en"}
    assert (await client.post(f"{WA}?phoneNumberId=5", json=english)).status_code == 201
    assert (await client.patch(f"{WA}/2", json={"lang": "it"})).status_code == 409


async def test_whatsapp_patch_rules_apply_to_the_merged_template(
    client: httpx.AsyncClient,
) -> None:
    """A PATCH adding headerFormat to a template with headerText is refused; clearing
    headerText in the same PATCH is fine."""
    await client.post(f"{WA}?phoneNumberId=5", json=WA_EXAMPLE)
    _is_platform_400(await client.patch(f"{WA}/1", json={"headerFormat": "IMAGE"}), "headerText")
    r = await client.patch(f"{WA}/1", json={"headerText": None, "headerFormat": "IMAGE"})
    assert r.status_code == 200 and r.json()["headerFormat"] == "IMAGE"
    _is_platform_400(await client.patch(f"{WA}/1", json={"status": "APPROVED"}), "status")


async def test_whatsapp_list_filters_and_page_size(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """category, status, phoneNumberId filters; Spring's page envelope."""
    sim.seed("whatsapp_templates", 9)
    sim.collection("whatsapp_templates").update(4, {"status": "REJECTED", "phoneNumberId": 6})
    body = (await client.get(WA, params={"category": "UTILITY", "size": 2})).json()
    assert [t["id"] for t in body["content"]] == [2, 5]
    assert body["page"] == {"size": 2, "number": 0, "totalElements": 3, "totalPages": 2}
    body = (await client.get(WA, params={"status": "REJECTED"})).json()
    assert [t["id"] for t in body["content"]] == [4]
    body = (await client.get(WA, params={"phoneNumberId": 6})).json()
    assert [t["id"] for t in body["content"]] == [4]
    for query in ("category=PROMO", "status=OK", "phoneNumberId=x", "limit=10", "offset=0"):
        assert (await client.get(f"{WA}?{query}")).status_code == 400


async def test_1250_whatsapp_templates_page_with_page_and_size(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    seeded = sim.seed("whatsapp_templates", 1250)
    seen: list[int] = []
    for page in range(13):
        body = (await client.get(WA, params={"page": page, "size": 100})).json()
        assert body["page"] == {"size": 100, "number": page, "totalElements": 1250,
                                "totalPages": 13}  # fmt: skip
        seen += [item["id"] for item in body["content"]]
    assert seen == [item["id"] for item in seeded]


async def test_templates_are_per_account() -> None:
    sim = Simulator(api_keys=("alice", "bob"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sim), base_url="http://sim/api"
    ) as http:
        r = await http.post(RCS, json=RCS_EXAMPLE, headers={"X-Api-Key": "alice"})
        assert r.status_code == 201
        r = await http.get(f"{RCS}/1", headers={"X-Api-Key": "bob"})
        assert r.status_code == 404
        r = await http.post(f"{WA}?phoneNumberId=5", json=WA_EXAMPLE, headers={"X-Api-Key": "bob"})
        assert r.status_code == 201  # the same name in another account is no conflict
        r = await http.get(WA, headers={"X-Api-Key": "alice"})
        assert r.json()["page"]["totalElements"] == 0
