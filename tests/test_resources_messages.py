"""``client.messages`` and ``client.exports``: paths, query spellings, the export workflow on a
virtual clock."""

from __future__ import annotations

import httpx
import pytest

from qlara_async import APITimeoutError, ManualClock, ValidationError
from qlara_async.models.enums import Channel, WhatsAppStatus

from ._fakes import make_client

pytestmark = pytest.mark.anyio

GW = "/api/partner-gateway/v1"


async def test_status_endpoints() -> None:
    """Single status by customer id with ``channel``; the RCS and WhatsApp endpoints."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"deliveryStatus": "DELIVERED", "statusCode": 3})

    client, _, _ = make_client(handler)
    async with client:
        one = await client.messages.status("ref-1", channel="whatsapp")
        await client.messages.rcs_status("m-1")
        wa = await client.messages.whatsapp_status("m-2")
    assert [(r.url.path, dict(r.url.params)) for r in seen] == [
        (f"{GW}/messages/status/ref-1", {"channel": "WHATSAPP"}),
        (f"{GW}/rcs/messages/m-1", {}),
        (f"{GW}/whatsapp/messages/m-2", {}),
    ]
    assert one.state == "DELIVERED" == WhatsAppStatus.DELIVERED
    assert wa.status_code == 3


async def test_batch_status_and_history_page_with_documented_filters() -> None:
    """``batchId``, ``channel``, ``from``, ``to`` plus offset/limit; history the same way."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200, json={"data": [{"messageId": "a"}], "pagination": {"offset": 0, "total": 1}}
        )

    client, _, _ = make_client(handler)
    async with client:
        statuses = [
            s
            async for s in client.messages.batch_status(
                batch_id="b1", channel=Channel.RCS, date_from="2025-01-01", date_to="2025-01-31"
            )
        ]
        history = [h async for h in client.messages.history(channel="SMS", status="DELIVERED")]
    assert statuses[0].message_id == "a" and history[0].message_id == "a"
    assert dict(seen[0].url.params) == {
        "batchId": "b1",
        "channel": "RCS",
        "from": "2025-01-01",
        "to": "2025-01-31",
        "offset": "0",
        "limit": "100",
    }
    assert seen[1].url.path == f"{GW}/messages/history"


async def test_a_bad_channel_is_refused_before_any_request() -> None:
    """Only SMS, RCS and WHATSAPP (any case)."""
    seen: list[httpx.Request] = []
    client, _, _ = make_client(lambda r: seen.append(r) or httpx.Response(200, json={}))
    async with client:
        with pytest.raises(ValidationError):
            await client.messages.status("x", channel="email")
        with pytest.raises(ValidationError):
            client.messages.history(channel="fax")
    assert seen == []


class ExportPlatform:
    """Exports that become available after ``ready_after`` polls of the list."""

    def __init__(self, ready_after: int, *, expired: bool = False) -> None:
        self.ready_after = ready_after
        self.expired = expired
        self.polls = 0
        self.seen: list[tuple[str, str]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        self.seen.append((request.method, path))
        if path == f"{GW}/messages/history/export":
            return httpx.Response(202, json={"id": 7, "status": "PENDING"})
        if path == f"{GW}/exports":
            self.polls += 1
            ready = self.polls > self.ready_after
            status = ("EXPIRED" if self.expired else "COMPLETED") if ready else "PENDING"
            job = {"id": 7, "status": status, "isAvailableForDownload": ready and not self.expired}
            return httpx.Response(200, json={"data": [{"id": 3, "status": "COMPLETED"}, job]})
        return httpx.Response(200, json={"id": 7, "url": f"https://files.test/{request.method}"})


async def test_the_export_workflow_waits_with_backoff_on_the_clock() -> None:
    """Overview workflow 4: request the export, poll until available, get the link."""
    platform = ExportPlatform(ready_after=3)
    clock = ManualClock()
    client, _, _ = make_client(platform, clock=clock)
    async with client:
        job = await client.messages.export_history(channel="SMS")
        link = await client.exports.wait(job.id, poll_interval=1.0, max_poll_interval=3.0)
    assert link.link == "https://files.test/GET"
    assert platform.polls == 4
    assert clock.sleeps == [1.0, 2.0, 3.0]
    assert platform.seen[-1] == ("GET", f"{GW}/exports/7")


async def test_an_expired_export_is_regenerated() -> None:
    """An export whose link expired gets a new one (``POST .../exports/{id}``)."""
    platform = ExportPlatform(ready_after=0, expired=True)
    client, _, _ = make_client(platform)
    async with client:
        link = await client.exports.wait(7)
    assert link.link == "https://files.test/POST"


async def test_waiting_past_the_deadline_raises() -> None:
    """Never ready: ``APITimeoutError`` once ``timeout`` has passed on the clock."""
    platform = ExportPlatform(ready_after=10**6)
    clock = ManualClock()
    client, _, _ = make_client(platform, clock=clock)
    async with client:
        with pytest.raises(APITimeoutError):
            await client.exports.wait(7, timeout=10.0, poll_interval=1.0, max_poll_interval=4.0)
    assert sum(clock.sleeps) == pytest.approx(10.0)
