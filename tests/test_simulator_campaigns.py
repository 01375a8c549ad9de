"""The simulator's campaigns area, in-process and over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from qlara_async._clock import ManualClock
from qlara_async.testing import Simulator

from ._sim_client import assert_platform_error, sim_client

pytestmark = pytest.mark.anyio

PATH = "/partner-gateway/v1/campaigns"
SMS: dict[str, Any] = {
    "name": "Spring sale",
    "sendingMode": "SMS",
    "destinationType": 2,
    "destinations": ["+393201234567", "+393201234568"],
    "smsSender": "MyBrand",
    "smsBody": "Ciao {{nome}}, {name} stays too",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(100.0)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(clock=clock, rejected_destinations=["+393201234568"])


@pytest.fixture(params=["asgi", pytest.param("http", marks=pytest.mark.e2e)])
async def client(
    sim: Simulator, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    async with sim_client(sim, request.param) as http:
        yield http


async def test_create_is_a_draft_with_fields_as_written(client: httpx.AsyncClient) -> None:
    """201 with status 0, zeroed counters, totalDestinations, and smsBody exactly as written."""
    r = await client.post(PATH, json=SMS)
    assert r.status_code == 201
    body = r.json()
    assert (body["id"], body["status"], body["totalDestinations"]) == (1, 0, 2)
    assert body["smsBody"] == SMS["smsBody"]
    assert body["totalSent"] == body["smsSuccess"] == body["waRead"] == 0
    assert body["rcsAgentId"] is None
    assert (await client.get(f"{PATH}/1")).json() == body


async def test_rcs_agent_id_is_a_string(client: httpx.AsyncClient) -> None:
    """rcsAgentId is a string (docs README point 10): "10" is kept, 10 is a 400 naming it."""
    rcs = {**SMS, "sendingMode": "RCS_SMS", "rcsAgentId": "10", "rcsTemplateId": 4}
    r = await client.post(PATH, json=rcs)
    assert (r.status_code, r.json()["rcsAgentId"]) == (201, "10")
    assert_platform_error(
        await client.post(PATH, json={**rcs, "rcsAgentId": 10}), 400, "rcsAgentId"
    )


@pytest.mark.parametrize(
    ("changes", "word"),
    [
        ({"name": "x" * 51}, "name"),
        ({"name": ""}, "name"),
        ({"description": "x" * 351}, "description"),
        ({"sendingMode": "EMAIL"}, "sendingMode"),
        ({"destinationType": 3}, "destinationType"),
        ({"destinations": []}, "destinations"),
        ({"destinations": ["hello"]}, "destinations[0]"),
        ({"destinationType": 1}, "contactListIds"),
        ({"destinationType": 1, "destinations": None, "contactListIds": [0]}, "contactListIds"),
        ({"contactListIds": [1]}, "contactListIds"),
        ({"sendingMode": "RCS"}, "rcsAgentId"),
        ({"sendingMode": "WHATSAPP_SMS"}, "whatsappPhoneNumberId"),
        ({"scheduledDate": "2025-10-01T09:00:00Z"}, "scheduledDate"),
        ({"smsText": "hi"}, "smsText"),
        ({"readyToSend": "yes"}, "readyToSend"),
    ],
)
async def test_bad_create_is_400_naming_the_field(
    client: httpx.AsyncClient, changes: dict[str, Any], word: str
) -> None:
    """The docs' table enforced: a 400 in the platform format naming the field; nothing made."""
    body = {k: v for k, v in {**SMS, **changes}.items() if v is not None}
    assert_platform_error(await client.post(PATH, json=body), 400, word)
    assert (await client.get(PATH)).json()["pagination"]["total"] == 0


async def test_missing_required_fields_are_400(client: httpx.AsyncClient) -> None:
    for name in ("name", "sendingMode", "destinationType"):
        body = {k: v for k, v in SMS.items() if k != name}
        assert_platform_error(await client.post(PATH, json=body), 400, name)


async def test_update_delete_and_404(client: httpx.AsyncClient) -> None:
    """PUT changes only the given fields (re-checked as a whole); DELETE 204; then 404."""
    await client.post(PATH, json=SMS)
    r = await client.put(f"{PATH}/1", json={"description": "d", "destinations": ["+393331112222"]})
    body = r.json()
    assert (body["description"], body["destinations"], body["name"]) == (
        "d",
        ["+393331112222"],
        "Spring sale",
    )
    assert body["totalDestinations"] == 1
    r = await client.put(f"{PATH}/1", json={"destinationType": 1, "contactListIds": [3, 4]})
    assert (r.json()["destinations"], r.json()["totalDestinations"]) == (None, 200)
    assert_platform_error(await client.put(f"{PATH}/1", json={"sendingMode": "RCS"}), 400)
    assert (await client.delete(f"{PATH}/1")).status_code == 204
    assert_platform_error(await client.get(f"{PATH}/1"), 404, "Campaign 1 not found")
    assert_platform_error(await client.get(f"{PATH}/abc"), 400, "id")


async def test_cost_confirm_and_completion(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """calculateGoal and price: recipients x rate; confirm: 2 sending; after the delivery delay 3
    completed with counters (the rejected number failed); a confirmed campaign is frozen."""
    await client.post(PATH, json=SMS)
    cost = (await client.post(f"{PATH}/1/calculateGoal")).json()
    assert cost == {
        "campaignId": 1,
        "recipients": 2,
        "unitPrice": 0.035,
        "price": 0.07,
        "totalPrice": 0.07,
        "currency": "EUR",
    }
    assert (await client.get(f"{PATH}/1/price")).json() == cost
    r = await client.put(f"{PATH}/1/confirm")
    assert (r.status_code, r.json()["status"]) == (200, 2)
    assert_platform_error(await client.put(f"{PATH}/1/confirm"), 409, "already confirmed")
    assert_platform_error(await client.put(f"{PATH}/1", json={"name": "x"}), 409, "draft")
    clock.advance(2.0)
    done = (await client.get(f"{PATH}/1")).json()
    assert done["status"] == 3
    assert (done["totalSent"], done["totalSuccess"], done["totalFailed"]) == (2, 1, 1)
    assert (done["smsSent"], done["smsSuccess"], done["smsFailed"]) == (2, 1, 1)


async def test_scheduled_confirm(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """With a future scheduledDate confirm gives 1 scheduled; at the date it is sending."""
    await client.post(PATH, json={**SMS, "scheduledDate": "2023-11-14 23:00:00.000+0000"})
    assert (await client.put(f"{PATH}/1/confirm")).json()["status"] == 1
    clock.advance(2700.0)  # 2023-11-14 23:00:00 UTC
    assert (await client.get(f"{PATH}/1")).json()["status"] == 2


async def test_stats_path_is_not_an_id(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """GET .../campaigns/stats is the stats (README point 14), bucketed by day and mode."""
    assert (await client.get(f"{PATH}/stats")).json() == {"data": []}
    await client.post(PATH, json=SMS)
    await client.post(PATH, json=SMS)
    await client.post(PATH, json={**SMS, "sendingMode": "WHATSAPP", "whatsappPhoneNumberId": 5})
    for i in (1, 2, 3):
        await client.put(f"{PATH}/{i}/confirm")
    clock.advance(5.0)
    data = (await client.get(f"{PATH}/stats")).json()["data"]
    assert [(b["timeBucket"], b["sendingMode"], b["numMessageCampaigns"]) for b in data] == [
        ("2023-11-14", "SMS", 2),
        ("2023-11-14", "WHATSAPP", 1),
    ]
    assert data[0]["totalSent"] == 4
    only = (await client.get(f"{PATH}/stats", params={"channel": "WHATSAPP"})).json()["data"]
    assert [b["sendingMode"] for b in only] == ["WHATSAPP"]
    none = await client.get(f"{PATH}/stats", params={"from": "2023-11-15"})
    assert none.json() == {"data": []}
    assert_platform_error(await client.get(f"{PATH}/stats", params={"channel": "FAX"}), 400)


async def test_list_filters_and_paging(sim: Simulator, client: httpx.AsyncClient) -> None:
    """The list pages with offset/limit and filters by status, channel and date."""
    sim.seed("campaigns", 30)
    await client.put(f"{PATH}/3/confirm")
    page = (await client.get(PATH, params={"offset": 20, "limit": 20})).json()
    assert page["pagination"] == {"offset": 20, "limit": 20, "total": 30}
    sending = (await client.get(PATH, params={"status": 2})).json()["data"]
    assert [c["id"] for c in sending] == [3]
    rcs = (await client.get(PATH, params={"channel": "RCS"})).json()
    assert rcs["pagination"]["total"] == 0
    later = (await client.get(PATH, params={"from": "2023-11-15T00:00:00Z"})).json()
    assert later["pagination"]["total"] == 0
    assert_platform_error(await client.get(PATH, params={"status": 9}), 400, "status")
    assert_platform_error(await client.get(PATH, params={"from": "yesterday"}), 400, "from")
