"""The simulator's delivery status, history and history export, over messages sent to it, in
process and over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from qlara_async._clock import ManualClock
from qlara_async.testing import Simulator

from ._sim_client import assert_platform_error, sim_client

pytestmark = pytest.mark.anyio

STATUS = "/partner-gateway/v1/messages/status"
HISTORY = "/partner-gateway/v1/messages/history"
OTHER = {"X-Api-Key": "other-key"}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(100.0)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(
        api_keys=("test-key", "other-key"),
        clock=clock,
        delivery_delay=3.0,
        rejected_destinations=["+393209999999"],
    )


@pytest.fixture(params=["asgi", pytest.param("http", marks=pytest.mark.e2e)])
async def client(
    sim: Simulator, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    async with sim_client(sim, request.param) as http:
        yield http


async def _sms(client: httpx.AsyncClient, mid: str, dest: str = "+393201234567") -> None:
    body = {"messageId": mid, "destination": dest, "sender": "MyBrand", "body": "Ciao"}
    assert (await client.post("/message-server/sms/send", json=body)).status_code == 200


async def test_sms_status_sent_then_delivered(
    client: httpx.AsyncClient, clock: ManualClock
) -> None:
    """SENT at once, DELIVERED (3) once delivery_delay has passed on the simulator's clock."""
    await _sms(client, "m-1")
    r = await client.get(f"{STATUS}/m-1", params={"channel": "SMS"})
    assert r.json() == {
        "customerMessageId": "m-1",
        "messageId": "m-1",
        "channel": "SMS",
        "destination": "+393201234567",
        "deliveryStatus": "SENT",
        "statusCode": None,
        "description": "sent",
        "sentDate": "2023-11-14T22:15:00Z",
        "eventDate": "2023-11-14T22:15:00Z",
    }
    clock.advance(2.9)
    r = await client.get(f"{STATUS}/m-1", params={"channel": "SMS"})
    assert r.json()["deliveryStatus"] == "SENT"
    clock.advance(0.1)
    body = (await client.get(f"{STATUS}/m-1", params={"channel": "SMS"})).json()
    assert (body["deliveryStatus"], body["statusCode"], body["eventDate"]) == (
        "DELIVERED",
        3,
        "2023-11-14T22:15:03Z",
    )


async def test_rejected_is_not_delivered(client: httpx.AsyncClient) -> None:
    await _sms(client, "m-bad", "+393209999999")
    body = (await client.get(f"{STATUS}/m-bad", params={"channel": "SMS"})).json()
    assert (body["deliveryStatus"], body["statusCode"]) == ("NOT_DELIVERED", 6)


async def test_legacy_ids_are_sms_messages(client: httpx.AsyncClient) -> None:
    """A legacy send's ids (given or generated from globalId) are found on channel SMS and as
    a batch by globalId."""
    msg = {"destinations": ["+393201234567", "+393201234568"], "sender": "X", "body": "Hi"}
    body = {"globalId": "g-1", "messages": [msg]}
    assert (await client.post("/services/sms/send", json=body)).status_code == 200
    r = await client.get(f"{STATUS}/g-1-0-1", params={"channel": "SMS"})
    assert r.json()["destination"] == "+393201234568"
    batch = (await client.get(STATUS, params={"batchId": "g-1"})).json()
    assert [s["messageId"] for s in batch["data"]] == ["g-1-0-0", "g-1-0-1"]
    assert batch["pagination"] == {"offset": 0, "limit": 20, "total": 2}


async def test_rcs_and_whatsapp_endpoints(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """The dedicated endpoints answer their channel's messages only, callback-shaped."""
    rcs = {"messageId": "r-1", "destination": "+393401234567", "agentId": 10, "templateId": 4}
    wa = {
        "messageId": "w-1",
        "destination": "+393401234567",
        "phoneNumberId": 5,
        "template": {"id": 4},
    }
    assert (await client.post("/message-server/rcs/send", json=rcs)).status_code == 200
    assert (await client.post("/message-server/whatsapp/send", json=wa)).status_code == 200
    clock.advance(3.0)
    r = (await client.get("/partner-gateway/v1/rcs/messages/r-1")).json()
    assert (r["channel"], r["status"], r["statusCode"], r["destination"]) == (
        "RCS",
        "DELIVERED",
        3,
        "+393401234567",
    )
    w = (await client.get("/partner-gateway/v1/whatsapp/messages/w-1")).json()
    assert (w["channel"], w["status"]) == ("WHATSAPP", "DELIVERED")
    assert "statusCode" not in w
    assert_platform_error(await client.get("/partner-gateway/v1/rcs/messages/w-1"), 404, "w-1")
    assert_platform_error(await client.get("/partner-gateway/v1/whatsapp/messages/r-1"), 404)


@pytest.mark.parametrize(
    ("query", "status", "word"),
    [
        ({"channel": "SMS"}, 404, "nope"),
        ({}, 400, "channel"),
        ({"channel": "sms"}, 400, "channel"),
        ({"channel": "EMAIL"}, 400, "channel"),
    ],
)
async def test_single_status_errors(
    client: httpx.AsyncClient, query: dict[str, str], status: int, word: str
) -> None:
    assert_platform_error(await client.get(f"{STATUS}/nope", params=query), status, word)


async def test_state_is_per_api_key(client: httpx.AsyncClient) -> None:
    """Another account does not see this one's messages."""
    await _sms(client, "m-1")
    r = await client.get(f"{STATUS}/m-1", params={"channel": "SMS"}, headers=OTHER)
    assert r.status_code == 404
    assert (await client.get(HISTORY, headers=OTHER)).json()["pagination"]["total"] == 0


async def test_history_filters_and_pages(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """History lists the account's messages in sending order, filtered by channel, status and
    date, paged with offset/limit."""
    await _sms(client, "m-1")
    await _sms(client, "m-bad", "+393209999999")
    clock.advance(86_400.0)
    rcs = {"messageId": "r-1", "destination": "+393401234567", "agentId": 10, "templateId": 4}
    await client.post("/message-server/rcs/send", json=rcs)
    page = (await client.get(HISTORY)).json()
    assert [(m["id"], m["messageId"], m["status"]) for m in page["data"]] == [
        (1, "m-1", "DELIVERED"),
        (2, "m-bad", "NOT_DELIVERED"),
        (3, "r-1", "SENT"),
    ]
    assert set(page["data"][0]) == {
        "id",
        "messageId",
        "channel",
        "destination",
        "status",
        "sentDate",
    }

    async def ids(**params: Any) -> list[str]:
        return [m["messageId"] for m in (await client.get(HISTORY, params=params)).json()["data"]]

    assert await ids(channel="RCS") == ["r-1"]
    assert await ids(status="DELIVERED") == ["m-1"]
    assert await ids(**{"from": "2023-11-15"}) == ["r-1"]
    assert await ids(to="2023-11-14") == ["m-1", "m-bad"]
    assert await ids(to="2023-11-14T22:15:00Z", channel="SMS") == ["m-1", "m-bad"]
    assert await ids(offset=1, limit=1) == ["m-bad"]
    for bad in (
        {"status": "LOST"},
        {"from": "2023-13-01"},
        {"from": "2023-11-15", "to": "2023-11-14"},
        {"limit": 101},
    ):
        assert_platform_error(await client.get(HISTORY, params=bad), 400)


async def test_history_export_is_202_job(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{HISTORY}/export", params={"channel": "SMS", "status": "SENT"})
    assert r.status_code == 202
    job = r.json()
    assert (job["type"], job["status"], job["isAvailableForDownload"]) == (
        "MESSAGE_HISTORY",
        "PENDING",
        False,
    )
    assert job["filters"] == {"channel": "SMS", "status": "SENT"}
    assert_platform_error(await client.post(f"{HISTORY}/export", params={"channel": "X"}), 400)
    assert_platform_error(await client.post(f"{HISTORY}/export", json={"channel": "SMS"}), 400)
