"""The client against the simulator over real HTTP: RCS and WhatsApp templates (the docs' create
examples, get, update, delete), 1,250 templates in each page-numbered style in 13 requests, the
inbox, the subscription and social profiles."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from qlara_async import AsyncQlara, BadRequestError, NotFoundError
from qlara_async._clock import ManualClock
from qlara_async.models.account import SocialPlatform
from qlara_async.testing import Simulator, run_in_thread
from qlara_async.testing.handlers.templates import REVIEW_SECONDS

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

N = 1250

# api-reference.md, "Example: Create TEXT Template" (the body of the curl -d).
RCS_EXAMPLE: dict[str, Any] = { "name": "rcs_welcome", "description": "Welcome template", "type": "TEXT", "body": { "text": "Ciao {name}! Benvenuto nel nostro servizio.", "suggestions": [ {"type": "reply", "text": "Grazie!"}, {"type": "url", "text": "Visita il sito", "url": {"url": "https://example.com"}} ], "fallbackSms": { "sender": "AZIENDA", "text": "Ciao {name}! Benvenuto. Visita https://example.com" } } }  # fmt: skip

# api-reference.md, "Example: Create Template with Buttons" (posted with ?phoneNumberId=5).
WA_EXAMPLE: dict[str, Any] = { "name": "marketing_welcome", "lang": "it", "category": "MARKETING", "headerText": "Welcome", "body": "Ciao {firstName} siamo contentissimi di averti tra noi", "footer": "Per info visita il sito", "buttons": [ {"type": "URL", "text": "Apri il sito", "url": "https://agiletelecom.com/"}, {"type": "PHONE_NUMBER", "text": "Chiamaci", "phoneNumber": "+39 123123123"}, {"type": "QUICK_REPLY", "text": "Voglio essere contattato"} ] }  # fmt: skip


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(100.0, wall_offset=1_800_000_000.0)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(api_keys=("k",), clock=clock)


@pytest.fixture
def url(sim: Simulator) -> Iterator[str]:
    with run_in_thread(sim) as base_url:
        yield base_url


@pytest.fixture
async def client(url: str, http_backend: str) -> AsyncIterator[AsyncQlara]:
    async with AsyncQlara(api_key="k", base_url=url, http_backend=http_backend) as client:
        yield client


async def test_rcs_template_lifecycle(client: AsyncQlara, sim: Simulator) -> None:
    """The docs' example created through the client arrives as the docs' body; get, update
    (PUT), delete, then get is NotFoundError."""
    made = await client.rcs.templates.create(
        name=RCS_EXAMPLE["name"],
        description=RCS_EXAMPLE["description"],
        type=RCS_EXAMPLE["type"],
        body=RCS_EXAMPLE["body"],
    )
    stored = sim.collection("rcs_templates").get(made.id or 0)
    assert {k: stored[k] for k in RCS_EXAMPLE} == RCS_EXAMPLE
    assert (made.name, made.type, made.enabled, made.body) == (
        "rcs_welcome", "TEXT", True, RCS_EXAMPLE["body"])  # fmt: skip
    assert await client.rcs.templates.get(made.id or 0) == made

    card = {"cardOrientation": "HORIZONTAL", "thumbnailAlignment": "LEFT",
            "card": {"title": "Saldi", "media": {"mediaKey": "k/1", "height": "SHORT"}}}  # fmt: skip
    updated = await client.rcs.templates.update(made.id or 0, name="promo", type="CARD", body=card)
    assert (updated.id, updated.type, updated.body) == (made.id, "CARD", card)

    await client.rcs.templates.delete(made.id or 0)
    with pytest.raises(NotFoundError):
        await client.rcs.templates.get(made.id or 0)


async def test_whatsapp_template_lifecycle(client: AsyncQlara, clock: ManualClock) -> None:
    """The docs' example: PENDING, APPROVED after the review delay on the simulator's clock,
    a partial update back to PENDING, delete, then NotFoundError."""
    made = await client.whatsapp.templates.create(
        phone_number_id=5,
        name="marketing_welcome",
        lang="it",
        category="MARKETING",
        header_text="Welcome",
        body="Ciao {firstName} siamo contentissimi di averti tra noi",
        footer="Per info visita il sito",
        buttons=WA_EXAMPLE["buttons"],
    )
    assert (made.status, made.phone_number_id, made.header_text) == ("PENDING", 5, "Welcome")
    assert made.buttons == WA_EXAMPLE["buttons"]
    clock.advance(REVIEW_SECONDS)
    assert (await client.whatsapp.templates.get(made.id or 0)).status == "APPROVED"

    updated = await client.whatsapp.templates.update(made.id or 0, footer=None, body="Nuovo {n}")
    assert (updated.status, updated.body, updated.footer) == ("PENDING", "Nuovo {n}", None)
    assert updated.header_text == "Welcome"

    with pytest.raises(BadRequestError):  # a second header kind: the simulator's own check
        await client.whatsapp.templates.update(made.id or 0, header_format="IMAGE")

    await client.whatsapp.templates.delete(made.id or 0)
    with pytest.raises(NotFoundError):
        await client.whatsapp.templates.get(made.id or 0)


async def test_1250_rcs_templates_with_page_and_limit(client: AsyncQlara, sim: Simulator) -> None:
    sim.seed("rcs_templates", N)
    paginator = client.rcs.templates.list()
    ids = [t.id async for t in paginator]
    print(f"\nRCS templates (page+limit): {len(ids)} items in {paginator.requests} requests")
    assert ids == list(range(1, N + 1))
    assert paginator.requests == 13


async def test_1250_whatsapp_templates_with_page_and_size(
    client: AsyncQlara, sim: Simulator
) -> None:
    sim.seed("whatsapp_templates", N)
    paginator = client.whatsapp.templates.list()
    ids = [t.id async for t in paginator]
    print(f"\nWhatsApp templates (page+size): {len(ids)} items in {paginator.requests} requests")
    assert ids == list(range(1, N + 1))
    assert paginator.requests == 13


async def test_template_list_filters(client: AsyncQlara, sim: Simulator) -> None:
    """The client's filter names are the ones the simulator reads from the docs."""
    sim.seed("rcs_templates", 5)
    sim.collection("rcs_templates").update(3, {"enabled": False})
    off = [t.id async for t in client.rcs.templates.list(enabled=False, sort_by="id")]
    assert off == [3]
    found = [t.id async for t in client.rcs.templates.list(search="TEMPLATE_0004")]
    assert found == [5]
    desc = [t.id async for t in client.rcs.templates.list(sort_by="name", sort_order="desc")]
    assert desc == [5, 4, 3, 2, 1]
    sim.seed("whatsapp_templates", 6)
    utility = [t.id async for t in client.whatsapp.templates.list(category="UTILITY")]
    assert utility == [2, 5]
    numbered = client.whatsapp.templates.list(phone_number_id=5, status="APPROVED")
    assert len([t async for t in numbered]) == 6


async def test_inbox(client: AsyncQlara, sim: Simulator) -> None:
    """Conversations with filters, messages with idFrom/idTo, reply, mark_read, archive and
    unarchive; an unknown chat is NotFoundError."""
    sim.seed("conversations", 6)
    conversations = [c async for c in client.inbox.conversations()]
    assert [c.chat_id for c in conversations] == [1, 2, 3, 4, 5, 6]
    assert (conversations[1].channel, conversations[1].channel_id) == ("RCS", 10)
    rcs_unread = [
        c.id async for c in client.inbox.conversations(channel_ids=[10], unread_only=True)
    ]
    assert rcs_unread == [4]
    newest = [c.id async for c in client.inbox.conversations(order_by="-lastMessageDate")]
    assert newest == [6, 5, 4, 3, 2, 1]
    recent = [c.id async for c in client.inbox.conversations(date_from="2026-04-09T08:04:00Z")]
    assert recent == [5, 6]

    messages = [m async for m in client.inbox.messages(4, id_from=2, id_to=3)]
    assert [(m.id, m.direction) for m in messages] == [(2, "OUTBOUND"), (3, "INBOUND")]

    answer = await client.inbox.reply(4, text="Grazie, a presto!")
    assert (answer.id, answer.status) == (4, "ACCEPTED")
    last = [m async for m in client.inbox.messages(4, id_from=4)]
    assert [(m.direction, m.text) for m in last] == [("OUTBOUND", "Grazie, a presto!")]

    await client.inbox.mark_read(4)
    await client.inbox.archive(4)
    four = [c async for c in client.inbox.conversations(channel_ids=[10])][1]
    assert (four.id, four.unread_count, four.archived) == (4, 0, True)
    await client.inbox.unarchive(4)
    four = [c async for c in client.inbox.conversations(channel_ids=[10])][1]
    assert four.archived is False

    with pytest.raises(NotFoundError):
        await client.inbox.reply(99, text="x")
    with pytest.raises(NotFoundError):
        await client.inbox.mark_read(99)


async def test_subscription_and_socials(client: AsyncQlara, sim: Simulator) -> None:
    sub = await client.subscription.get()
    assert (sub.plan_code, sub.status, sub.canceled, sub.next_plan) == (
        "PRO_MONTHLY", "ACTIVE", False, None)  # fmt: skip
    assert (sub.billing_period_start, sub.next_renew) == (
        "2025-03-01T00:00:00+01:00", "2025-04-01T00:00:00+01:00")  # fmt: skip
    usage = await client.subscription.contacts()
    assert (usage.used, usage.limit) == (0, 5000)
    credit = await client.subscription.credit()
    assert (credit.credit, credit.currency) == (150.5, "EUR")

    assert await client.socials.list() == []
    sim.seed("social_profiles", 5)
    profiles = await client.socials.list()
    assert [p.platform for p in profiles] == [p.value for p in SocialPlatform]
    tiktok = await client.socials.get("TikTok")
    assert tiktok.platform == "tiktok" and tiktok.pages
    assert await client.socials.get(SocialPlatform.GOOGLE) == await client.socials.get("GOOGLE")
