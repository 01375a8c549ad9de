"""The platform overview's four core workflows, walked by the client (``AsyncQlara``) against the
simulator over real HTTP on loopback. Client and simulator share one ``ManualClock``: the
simulator's delays (delivery, export) pass when the test advances it, or when the client's own
``exports.wait`` sleeps on it; nothing sleeps for real."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from qlara_async import AsyncQlara, ConflictError, ManualClock, NotFoundError
from qlara_async.models.enums import CampaignStatus, ExportStatus
from qlara_async.testing import Simulator, run_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]


@pytest.fixture
def anyio_backend() -> str:
    """The loopback server runs in its own thread; the client side needs only one backend here."""
    return "asyncio"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(100.0)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(clock=clock, delivery_delay=2.0, export_delay=30.0, export_link_ttl=600.0)


@pytest.fixture
def url(sim: Simulator) -> Iterator[str]:
    with run_in_thread(sim) as base_url:
        yield base_url


@pytest.fixture
async def client(url: str, clock: ManualClock, http_backend: str) -> AsyncIterator[AsyncQlara]:
    async with AsyncQlara(
        api_key="test-key", base_url=url, clock=clock, http_backend=http_backend
    ) as qlara:
        yield qlara


async def test_workflow_1_sms_status_reaches_delivered(
    client: AsyncQlara, clock: ManualClock
) -> None:
    """An SMS sent through the simulator is SENT at once and DELIVERED (code 3) once the
    simulator's delivery delay has passed; an id never sent is NotFoundError."""
    sent = await client.sms.send(destination="+393201234567", sender="MyBrand", body="Ciao")
    first = await client.messages.status(sent.message_id, channel="SMS")
    assert (first.customer_message_id, first.state) == (sent.message_id, "SENT")
    assert first.destination == "+393201234567"
    clock.advance(2.0)
    later = await client.messages.status(sent.message_id, channel="SMS")
    assert (later.delivery_status, later.status_code) == ("DELIVERED", 3)
    with pytest.raises(NotFoundError):
        await client.messages.status("never-sent", channel="SMS")
    with pytest.raises(NotFoundError):  # ids are per channel
        await client.messages.status(sent.message_id, channel="RCS")


async def test_workflow_1_rcs_and_whatsapp_status(client: AsyncQlara, clock: ManualClock) -> None:
    """RCS and WhatsApp sends answer on their dedicated status endpoints, with the channel's
    words: SENT, then DELIVERED."""
    rcs = await client.rcs.send(destination="+393401234567", agent_id=10, template_id=42)
    wa = await client.whatsapp.send(
        destination="+393401234568", phone_number_id=5, template={"id": 42}
    )
    assert (await client.messages.whatsapp_status(wa.message_id)).state == "SENT"
    clock.advance(5.0)
    rcs_status = await client.messages.rcs_status(rcs.message_id)
    assert (rcs_status.channel, rcs_status.state, rcs_status.status_code) == ("RCS", "DELIVERED", 3)
    wa_status = await client.messages.whatsapp_status(wa.message_id)
    assert (wa_status.channel, wa_status.state) == ("WHATSAPP", "DELIVERED")
    assert wa_status.destination == "+393401234568"
    with pytest.raises(NotFoundError):  # an RCS id is not a WhatsApp message
        await client.messages.whatsapp_status(rcs.message_id)


async def test_workflow_2_webhook_configure_conflict_replace_delete(client: AsyncQlara) -> None:
    """Configure, a second configure with another URL is ConflictError, the same URL again is
    the current config, replace=True updates it, get shows it, delete revokes it."""
    made = await client.webhooks.configure("https://hooks.example.com/a")
    assert made.callback_url == "https://hooks.example.com/a"
    assert isinstance(made.company_id, int)
    with pytest.raises(ConflictError):
        await client.webhooks.configure("https://hooks.example.com/b")
    again = await client.webhooks.configure("https://hooks.example.com/a")
    assert again == made
    replaced = await client.webhooks.configure("https://hooks.example.com/b", replace=True)
    assert replaced.callback_url == "https://hooks.example.com/b"
    assert (await client.webhooks.get()).callback_url == "https://hooks.example.com/b"
    await client.webhooks.delete()
    with pytest.raises(NotFoundError):
        await client.webhooks.get()
    local = await client.webhooks.configure("http://127.0.0.1:8080/hook")  # loopback receiver
    assert local.callback_url == "http://127.0.0.1:8080/hook"


async def test_workflow_3_campaign_draft_cost_confirm_stats(
    client: AsyncQlara, clock: ManualClock
) -> None:
    """A campaign is created as a draft, costs recipients x the SMS rate, is sending once
    confirmed, completed with its counters after the delivery delay, and shows in stats."""
    numbers = ["+393201234567", "+393201234568", "+393201234569"]
    draft = await client.campaigns.create(
        name="Spring sale",
        sending_mode="SMS",
        destination_type=2,
        destinations=numbers,
        sms_sender="MyBrand",
        sms_body="Ciao {{nome}}",
    )
    assert draft.id is not None
    assert (draft.status, draft.total_destinations) == (CampaignStatus.DRAFT, 3)
    cost = await client.campaigns.calculate_cost(draft.id)
    assert (cost.recipients, cost.amount, cost.currency) == (3, pytest.approx(0.105), "EUR")
    assert (await client.campaigns.price(draft.id)).amount == cost.amount
    confirmed = await client.campaigns.confirm(draft.id)
    assert confirmed.status == CampaignStatus.SENDING
    with pytest.raises(ConflictError):
        await client.campaigns.confirm(draft.id)
    clock.advance(2.0)
    done = await client.campaigns.get(draft.id)
    assert done.status == CampaignStatus.COMPLETED
    assert (done.total_sent, done.total_success, done.sms_sent) == (3, 3, 3)
    stats = await client.campaigns.stats()
    assert len(stats) == 1
    assert (stats[0].sending_mode, stats[0].num_message_campaigns) == ("SMS", 1)
    assert (stats[0].total_sent, stats[0].time_bucket) == (3, "2023-11-14")


async def test_workflow_3_scheduled_campaign(client: AsyncQlara, clock: ManualClock) -> None:
    """A campaign with a future scheduledDate (RCS: a string agent id) is scheduled when
    confirmed, and sending once the simulator's clock reaches its date."""
    draft = await client.campaigns.create(
        name="Later",
        sending_mode="RCS_SMS",
        destination_type=1,
        contact_list_ids=[7],
        rcs_agent_id="10",
        scheduled_date="2023-11-15 09:00:00.000+0000",
    )
    assert draft.id is not None
    assert (await client.campaigns.confirm(draft.id)).status == CampaignStatus.SCHEDULED
    assert (await client.campaigns.get(draft.id)).status == CampaignStatus.SCHEDULED
    clock.advance(86_400.0)  # 2023-11-15 22:16 UTC
    assert (await client.campaigns.get(draft.id)).status == CampaignStatus.COMPLETED


async def test_workflow_4_history_export_wait_download_regenerate(
    client: AsyncQlara, clock: ManualClock
) -> None:
    """export_history answers a PENDING job; exports.wait polls (sleeping on the client's clock)
    until it is available and returns its download URL; once the link expired, get is a
    ConflictError and regenerate gives a new URL; wait then returns at once."""
    await client.sms.send(destination="+393201234567", sender="MyBrand", body="Ciao")
    job = await client.messages.export_history(channel="SMS")
    assert job.id is not None
    assert (job.status, job.is_available_for_download) == (ExportStatus.PENDING, False)
    link = await client.exports.wait(job.id, poll_interval=2.0)
    assert sum(clock.sleeps) >= 30.0  # the export became available only on the client's sleeps
    assert link.link is not None and link.link.startswith("https://")
    assert (await client.exports.get(job.id)).link == link.link
    listed = [j async for j in client.exports.list()]
    assert [(j.id, j.type, j.is_available_for_download) for j in listed] == [
        (job.id, "MESSAGE_HISTORY", True)
    ]
    clock.advance(600.0)
    [expired] = [j async for j in client.exports.list()]
    assert (expired.status, expired.is_available_for_download) == (ExportStatus.EXPIRED, False)
    with pytest.raises(ConflictError):
        await client.exports.get(job.id)
    fresh = await client.exports.regenerate(job.id)
    assert fresh.link is not None and fresh.link != link.link
    sleeps = len(clock.sleeps)
    assert (await client.exports.wait(job.id)).link == fresh.link
    assert len(clock.sleeps) == sleeps
    history = [m async for m in client.messages.history(channel="SMS")]
    assert [(m.channel, m.destination) for m in history] == [("SMS", "+393201234567")]


async def test_campaign_reads_back_its_create_fields(client: AsyncQlara) -> None:
    """The campaign the client decodes keeps the create fields the API answers with: smsBody
    with its {{placeholder}} untouched and the string rcsAgentId."""
    made = await client.campaigns.create(
        name="Fields",
        sending_mode="RCS_SMS",
        destination_type=2,
        destinations=["+393201234567"],
        rcs_agent_id="10",
        sms_sender="MyBrand",
        sms_body="Ciao {{nome}}",
    )
    assert made.id is not None
    got = await client.campaigns.get(made.id)
    assert (got.sms_body, got.rcs_agent_id, got.destinations) == (
        "Ciao {{nome}}",
        "10",
        ["+393201234567"],
    )
    assert got.sms_sender == "MyBrand"
