"""The simulator's subscription and social-profile endpoints, in-process (ASGI) and over real
HTTP: paths relative to the base URL (docs README point 5), the docs' response example, and the
five platforms in any case."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from qlara_async.testing import Simulator, run_in_thread
from qlara_async.testing.handlers.account import SUBSCRIPTION

pytestmark = pytest.mark.anyio

SUB = "/v1/partner-gateway/subscription"
SOCIALS = "/v1/partner-gateway/socials"
KEY = {"X-Api-Key": "test-key"}


@pytest.fixture
def sim() -> Simulator:
    return Simulator(credit=42.25)


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


async def test_subscription_is_the_docs_example(client: httpx.AsyncClient) -> None:
    r = await client.get(SUB)
    assert r.status_code == 200
    assert r.json() == {
        "planCode": "PRO_MONTHLY",
        "status": "ACTIVE",
        "billingPeriodStart": "2025-03-01T00:00:00+01:00",
        "billingPeriodEnd": "2025-03-31T23:59:59+01:00",
        "nextRenew": "2025-04-01T00:00:00+01:00",
        "canceled": False,
        "nextPlan": None,
    }
    assert r.json() == SUBSCRIPTION


async def test_usage_and_credit(sim: Simulator, client: httpx.AsyncClient) -> None:
    """Contact usage from the account's subscription; credit from Simulator(credit=...)."""
    assert (await client.get(f"{SUB}/contacts")).json() == {"used": 0, "limit": 5000}
    sim.collection("subscriptions").update(1, {"_contacts": {"used": 120, "limit": 5000},
                                               "canceled": True})  # fmt: skip
    assert (await client.get(f"{SUB}/contacts")).json() == {"used": 120, "limit": 5000}
    assert (await client.get(SUB)).json()["canceled"] is True
    assert (await client.get(f"{SUB}/credit")).json() == {"credit": 42.25, "currency": "EUR"}


async def test_the_docs_absolute_path_is_not_doubled(client: httpx.AsyncClient) -> None:
    """``/api/v1/partner-gateway/...`` in the docs is ``/v1/...`` under the base URL."""
    assert (await client.get(f"/api{SUB}")).status_code == 404


async def test_socials_list_and_detail(sim: Simulator, client: httpx.AsyncClient) -> None:
    """None until seeded; the list without pages; each platform in any case; others 404."""
    assert (await client.get(SOCIALS)).json() == {"data": []}
    assert (await client.get(f"{SOCIALS}/facebook")).status_code == 404
    sim.seed("social_profiles", 5)
    listed = (await client.get(SOCIALS)).json()["data"]
    assert [p["platform"] for p in listed] == ["facebook", "instagram", "linkedin", "google",
                                               "tiktok"]  # fmt: skip
    assert all("pages" not in p for p in listed)
    for name in ("facebook", "Instagram", "LINKEDIN", "gOOgle", "TikTok"):
        r = await client.get(f"{SOCIALS}/{name}")
        assert r.status_code == 200
        assert r.json()["platform"] == name.lower() and r.json()["pages"]
    r = await client.get(f"{SOCIALS}/myspace")
    assert r.status_code == 404 and "myspace" in r.json()["message"]


async def test_account_state_is_per_key() -> None:
    sim = Simulator(api_keys=("alice", "bob"))
    sim.seed("social_profiles", 1, key="alice")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sim), base_url="http://sim/api"
    ) as http:
        r = await http.get(SOCIALS, headers={"X-Api-Key": "bob"})
        assert r.json() == {"data": []}
        r = await http.get(f"{SOCIALS}/facebook", headers={"X-Api-Key": "alice"})
        assert r.status_code == 200
