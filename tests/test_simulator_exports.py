"""The simulator's exports area (jobs, timing on the simulator's clock, links, regenerate), in
process and over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from qlara_async._clock import ManualClock
from qlara_async.testing import Simulator

from ._sim_client import assert_platform_error, sim_client

pytestmark = pytest.mark.anyio

PATH = "/partner-gateway/v1/exports"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(100.0)


@pytest.fixture
def sim(clock: ManualClock) -> Simulator:
    return Simulator(clock=clock, export_delay=10.0, export_link_ttl=60.0)


@pytest.fixture(params=["asgi", pytest.param("http", marks=pytest.mark.e2e)])
async def client(
    sim: Simulator, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    async with sim_client(sim, request.param) as http:
        yield http


async def test_job_lifecycle(client: httpx.AsyncClient, clock: ManualClock) -> None:
    """PENDING (link 409) until export_delay; COMPLETED with a link; EXPIRED after the link's
    ttl (409); regenerate gives a new link, COMPLETED again."""
    r = await client.post(f"{PATH}/contacts")
    assert r.status_code == 202
    job = r.json()
    assert set(job) == {
        "id",
        "type",
        "filters",
        "creationDate",
        "status",
        "isAvailableForDownload",
        "expirationDate",
    }
    assert (job["id"], job["type"], job["status"], job["isAvailableForDownload"]) == (
        1,
        "CONTACTS",
        "PENDING",
        False,
    )
    assert_platform_error(await client.get(f"{PATH}/1"), 409, "not ready")
    assert_platform_error(await client.post(f"{PATH}/1"), 409, "not ready")
    clock.advance(9.9)
    assert (await client.get(PATH)).json()["data"][0]["status"] == "PENDING"
    clock.advance(0.1)
    [listed] = (await client.get(PATH)).json()["data"]
    assert (listed["status"], listed["isAvailableForDownload"]) == ("COMPLETED", True)
    assert listed["expirationDate"] == "2023-11-14T22:16:10Z"
    link = (await client.get(f"{PATH}/1")).json()
    assert set(link) == {"id", "downloadUrl", "expirationDate"}
    assert link["downloadUrl"].startswith("https://")
    clock.advance(60.0)
    [listed] = (await client.get(PATH)).json()["data"]
    assert (listed["status"], listed["isAvailableForDownload"]) == ("EXPIRED", False)
    assert_platform_error(await client.get(f"{PATH}/1"), 409, "expired")
    fresh = (await client.post(f"{PATH}/1")).json()
    assert fresh["downloadUrl"] != link["downloadUrl"]
    assert fresh["expirationDate"] == "2023-11-14T22:17:10Z"  # regenerated at 22:16:10, +60 s
    assert (await client.get(f"{PATH}/1")).json() == fresh


async def test_delivery_reports_filters(client: httpx.AsyncClient) -> None:
    r = await client.post(f"{PATH}/delivery-reports", params={"from": "2023-11-01"})
    assert r.status_code == 202
    assert (r.json()["type"], r.json()["filters"]) == ("DELIVERY_REPORTS", {"from": "2023-11-01"})
    r = await client.post(f"{PATH}/delivery-reports", params={"to": "soon"})
    assert_platform_error(r, 400, "to")
    assert_platform_error(await client.post(f"{PATH}/contacts", json={"all": True}), 400, "body")


async def test_unknown_and_bad_ids(client: httpx.AsyncClient) -> None:
    assert_platform_error(await client.get(f"{PATH}/7"), 404, "Export 7 not found")
    assert_platform_error(await client.post(f"{PATH}/7"), 404)
    assert_platform_error(await client.get(f"{PATH}/x"), 400, "exportId")


async def test_jobs_page_and_seed(sim: Simulator, client: httpx.AsyncClient) -> None:
    """Seeded jobs are available; the list pages with offset/limit."""
    sim.seed("exports", 25)
    page = (await client.get(PATH, params={"offset": 20})).json()
    assert page["pagination"] == {"offset": 20, "limit": 20, "total": 25}
    assert all(j["isAvailableForDownload"] for j in page["data"])
    assert (await client.get(f"{PATH}/25")).json()["downloadUrl"].startswith("https://")
