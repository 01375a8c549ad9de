"""Type-checked, never run: how users write against the public API (mypy --strict checks it)."""

from __future__ import annotations

from collections.abc import Iterator

from qlara_async import (
    AsyncQlara,
    BadRequestError,
    BulkReport,
    Outcome,
    RateLimit,
    RateLimitError,
    SendResult,
    SmsMessage,
    WhatsAppMessage,
)
from qlara_async.bulk import Progress, messages_from_rows, read_csv


async def one_message() -> bool:
    async with AsyncQlara(api_key="k", rate_limit=RateLimit.TRIAL) as client:
        r: SendResult = await client.sms.send(
            destination="+393201234567",
            sender="MyBrand",
            body="Ciao {nome}",
            placeholders={"nome": "Marco"},
        )
        again: SendResult = await client.send(
            SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")
        )
        try:
            await client.whatsapp.send(
                destination="+393401234567", phone_number_id=5, template={"id": 42}
            )
        except BadRequestError as exc:
            errors: dict[str, str] = exc.field_errors
            print(errors, exc.status_code, exc.request_id)
        except RateLimitError as exc:
            wait: float | None = exc.retry_after
            print(wait)
        sms = r.results.sms
        return r.accepted and again.accepted and (sms is None or (sms.parts or 1) >= 1)


def recipients() -> Iterator[SmsMessage | WhatsAppMessage]:
    yield SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")


async def bulk() -> int:
    def on_outcome(outcome: Outcome) -> None:
        print(outcome.index, outcome.status, outcome.attempts, outcome.error)

    async def on_progress(progress: Progress) -> None:
        print(progress.done, progress.total)

    async with AsyncQlara(api_key="k") as client:
        report: BulkReport = await client.bulk.run(
            recipients(), concurrency=32, journal="job.sqlite", on_outcome=on_outcome
        )
        rows = messages_from_rows(read_csv("r.csv"), sender="MyBrand", body="Ciao {nome}")
        async with client.bulk.stream(rows, on_progress=on_progress) as outcomes:
            async for outcome in outcomes:
                print(outcome.message_id)
        return report.accepted + report.rejected + report.failed


async def per_call_options_and_raw_responses(client: AsyncQlara) -> str | None:
    quick: AsyncQlara = client.with_options(timeout=2.0, max_retries=1)
    raw = await quick.with_raw_response(
        quick.sms.send, destination="+393201234567", sender="MyBrand", body="Ciao"
    )
    result: SendResult = raw.parsed
    status: int = raw.status_code
    print(result.message_id, status)
    return raw.request_id


async def bulk_job_fields(client: AsyncQlara) -> None:
    from qlara_async.bulk import BulkOutageError, JournalError

    try:
        report: BulkReport = await client.bulk.run([], max_outage=60.0, journal="j.sqlite")
        print(report.outage, report.skipped)
    except BulkOutageError as exc:
        print(exc.report.not_sent)
    except JournalError as exc:
        print(exc)

    async def show(p: Progress) -> None:
        print(p.cooldown, p.paused)

    async with client.bulk.stream([], on_progress=show) as outcomes:
        async for o in outcomes:
            resumed: bool = o.resumed
            print(resumed)


async def platform_api(client: AsyncQlara) -> None:
    from msgspec import UNSET

    from qlara_async.models.enums import CampaignStatus, WhatsAppStatus

    async for contact in client.contacts.list(name="Rossi", page_size=50):
        print(contact.id, contact.phone)
    async for page in client.contact_lists.members(3).pages():
        print(page.total, len(page.items))
    created = await client.contacts.create(phone="+393201234567", first_name="Marco")
    await client.contacts.update(1, city="Roma", company=None, phone=UNSET)
    campaign = await client.campaigns.create(
        name="Promo", sending_mode="SMS", destination_type=2, destinations=["+393201234567"]
    )
    if campaign.status == CampaignStatus.DRAFT and campaign.id is not None:
        cost = await client.campaigns.calculate_cost(campaign.id)
        print(cost.amount)
    status = await client.messages.status("ref", channel="WHATSAPP")
    print(status.state == WhatsAppStatus.DELIVERED, created.id)
    job = await client.messages.export_history()
    if job.id is not None:
        link = await client.exports.wait(job.id, timeout=60.0)
        print(link.link)
    await client.webhooks.configure("https://example.com/h", replace=True)
    media = await client.media.upload(b"\x89PNG...", name="logo")
    print(media.media_key)
    async for template in client.whatsapp.templates.list(status="APPROVED"):
        print(template.name)
