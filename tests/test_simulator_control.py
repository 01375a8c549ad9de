"""The simulator seen from another process: the stats endpoint and the JSON-lines arrival log."""

from __future__ import annotations

import io
import json
from pathlib import Path

import anyio
import httpx
import pytest

from qlara_async import AsyncQlara, RateLimit
from qlara_async.testing import STATS_PATH, ArrivalLog, Faults, Simulator, run_in_thread, serve

pytestmark = pytest.mark.anyio

SEND = "/api/message-server/sms/send"


def sms(mid: str, dest: str = "+393201234567") -> dict[str, str]:
    return {"destination": dest, "sender": "S", "body": "Ciao {n}", "messageId": mid}


async def test_stats_endpoint_counts_without_a_key_and_is_not_an_arrival() -> None:
    sim = Simulator(RateLimit((1, 60.0)))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(sim), base_url="http://sim") as h:
        key = {"X-Api-Key": "test-key"}
        assert (await h.post(SEND, json=sms("a"), headers=key)).status_code == 200
        assert (await h.post(SEND, json=sms("a"), headers=key)).status_code == 429
        r = await h.get(STATS_PATH)
    assert r.status_code == 200
    stats = r.json()
    assert stats["arrivals"] == 2 and sim.stats.arrivals == 2  # the stats call is not one
    assert stats["processed"] == stats["unique_messages"] == 1
    assert stats["rate_limited"] == 1


async def test_arrival_log_writes_one_line_per_request_with_the_message_id() -> None:
    sim = Simulator(faults=Faults())
    out = io.StringIO()
    log = ArrivalLog(sim, out)
    async with serve(log) as url, httpx.AsyncClient(base_url=url) as h:
        key = {"X-Api-Key": "test-key"}
        await h.post("/message-server/sms/send", json=sms("m1"), headers=key)
        await h.post("/message-server/sms/send", json=sms("m1"), headers=key)  # duplicate
        await h.get("/services/sms/credit", headers={"X-Api-Key": "nope"})
        await h.get("/_simulator/stats")  # served, not logged
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [(r["method"], r["status"], r["message_id"]) for r in records] == [
        ("POST", 200, "m1"),
        ("POST", 200, "m1"),
        ("GET", 401, None),
    ]
    assert "body" not in records[0]
    assert sim.stats.duplicates == 1


async def test_arrival_log_with_bodies_and_a_reset(tmp_path: Path) -> None:
    sim = Simulator(faults=Faults(reset=1.0))
    path = str(tmp_path / "arrivals.jsonl")
    log = ArrivalLog(sim, path, bodies=True)
    with run_in_thread(log) as url:
        async with httpx.AsyncClient(base_url=url) as h:
            with pytest.raises(httpx.TransportError):
                await h.post(
                    "/message-server/sms/send", json=sms("r1"), headers={"X-Api-Key": "test-key"}
                )
    log.close()
    text = await anyio.Path(path).read_text()
    [record] = [json.loads(line) for line in text.splitlines()]
    assert record["status"] is None and record["message_id"] == "r1"
    assert record["body"]["destination"] == "+393201234567"


async def test_the_seed_makes_faults_reproducible() -> None:
    async def run(seed: int) -> list[int]:
        sim = Simulator(faults=Faults(status_503=0.3), seed=seed)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(sim), base_url="http://s") as h:
            return [
                (
                    await h.get("/api/services/sms/credit", headers={"X-Api-Key": "test-key"})
                ).status_code
                for _ in range(30)
            ]

    first = await run(7)
    assert first == await run(7)
    assert 503 in first and first != await run(8)


async def test_pytest_plugin_fixtures(qlara_client: AsyncQlara, qlara_simulator: Simulator) -> None:
    async with qlara_client as client:
        r = await client.sms.send(destination="+393201234567", sender="Shop", body="Ciao")
    assert r.accepted
    assert qlara_simulator.stats.processed == 1
