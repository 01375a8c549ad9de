"""The bulk journal: stable ids, resume without re-sending, refusing a different input."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from qlara_async import AsyncQlara, RetryPolicy
from qlara_async.bulk import JournalMismatchError, Outcome
from qlara_async.models import SmsMessage

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(max_retries=1, backoff_base=0, jitter=0)


def sms(i: int, body: str = "hello") -> SmsMessage:
    return SmsMessage(destination=f"+3932{i:08d}", sender="Brand", body=body)


class Server:
    """A MockTransport handler that de-duplicates by messageId, like the platform."""

    def __init__(self) -> None:
        self.seen: dict[str, str] = {}  # messageId -> destination
        self.requests: Counter[str] = Counter()
        self.fail: set[str] = set()
        self.reject: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        mid, d = body["messageId"], body["destination"]
        self.requests[d] += 1
        if d in self.fail:
            return httpx.Response(503)
        self.seen.setdefault(mid, d)
        accepted = d not in self.reject
        return httpx.Response(
            200, json={"messageId": mid, "results": {"sms": {"accepted": accepted}}}
        )


def client_for(server: Server) -> AsyncQlara:
    return AsyncQlara(
        api_key="k",
        base_url="https://api.test/api",
        rate_limit=None,
        retry_policy=FAST,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(server)),
    )


async def test_resume_skips_accepted_and_rejected_and_resends_failed(tmp_path: Path) -> None:
    """A second run skips what was accepted or rejected and re-sends a failure under its id."""
    journal = tmp_path / "job.sqlite"
    server = Server()
    server.fail.add("+393200000003")
    server.reject.add("+393200000004")
    first: list[Outcome] = []
    async with client_for(server) as client:
        r1 = await client.bulk.run(
            [sms(i) for i in range(10)], journal=journal, on_outcome=first.append
        )
    assert (r1.accepted, r1.rejected, r1.failed) == (8, 1, 1)
    failed_id = next(o.message_id for o in first if o.status == "failed")

    server.fail.clear()
    second: list[Outcome] = []
    async with client_for(server) as client:
        r2 = await client.bulk.run(
            [sms(i) for i in range(10)], journal=journal, on_outcome=second.append
        )
    # The report covers the whole job: eight accepted earlier, one now, one rejected earlier.
    assert (r2.skipped, r2.accepted, r2.rejected, r2.requests, r2.total) == (9, 9, 1, 1, 10)
    (again,) = [o for o in second if not o.resumed]
    assert again.index == 3 and again.message_id == failed_id
    # Attempts over the message's whole life: two in the first run, one now.
    assert again.attempts == 3
    assert server.requests["+393200000000"] == 1


async def test_ids_are_derived_from_the_job_and_index(tmp_path: Path) -> None:
    """Without a caller id a message's id is the same in every run of a journaled job."""
    journal = tmp_path / "job.sqlite"
    server = Server()
    ids: list[dict[int, str | None]] = []
    for _ in range(2):
        got: dict[int, str | None] = {}
        async with client_for(server) as client:
            job = client.bulk.job(
                [sms(i) for i in range(5)],
                journal=journal,
                on_outcome=lambda o, got=got: got.__setitem__(o.index, o.message_id),  # type: ignore[misc]
            )
            await job.run()
        ids.append(got)
        # Forget the outcomes (as if every send had been cut off by a kill).
        with sqlite3.connect(journal) as db:
            db.execute("DELETE FROM outcomes")
    assert ids[0] == ids[1] and len(set(ids[0].values())) == 5
    # The server saw each message once by effect, under one id.
    assert len(server.seen) == 5


async def test_a_different_input_is_refused(tmp_path: Path) -> None:
    """An input whose message differs from the journal's at some index is refused up front."""
    journal = tmp_path / "job.sqlite"
    server = Server()
    async with client_for(server) as client:
        await client.bulk.run([sms(i) for i in range(5)], journal=journal)
        before = sum(server.requests.values())
        with pytest.raises(JournalMismatchError, match="message 0 differs") as info:
            await client.bulk.run([sms(i, body="other") for i in range(5)], journal=journal)
    assert info.value.index == 0
    assert sum(server.requests.values()) == before


async def test_a_shorter_input_is_refused(tmp_path: Path) -> None:
    """An input shorter than the journal's job is a different job."""
    journal = tmp_path / "job.sqlite"
    async with client_for(Server()) as client:
        await client.bulk.run([sms(i) for i in range(5)], journal=journal)
        with pytest.raises(JournalMismatchError, match="index 3"):
            await client.bulk.run([sms(i) for i in range(3)], journal=journal)


async def test_invalid_messages_are_journaled_as_rejected(tmp_path: Path) -> None:
    """A message refused by validation is recorded and not offered again."""
    journal = tmp_path / "job.sqlite"
    bad = SmsMessage(destination="nope", sender="B", body="x")
    async with client_for(Server()) as client:
        r1 = await client.bulk.run([sms(0), bad], journal=journal)
        r2 = await client.bulk.run([sms(0), bad], journal=journal)
    assert (r1.accepted, r1.rejected) == (1, 1)
    assert (r2.skipped, r2.requests, r2.accepted, r2.rejected) == (2, 0, 1, 1)


async def test_stream_with_journal_and_caller_ids(tmp_path: Path) -> None:
    """A caller's ``message_id`` is kept with a journal, and is part of the message's identity."""
    journal = tmp_path / "job.sqlite"
    messages = [
        SmsMessage(destination="+393200000001", sender="B", body="x", message_id=f"m{i}")
        for i in range(3)
    ]
    async with client_for(Server()) as client:
        async with client.bulk.stream(messages, journal=journal) as outcomes:
            ids = sorted([o.message_id async for o in outcomes])  # type: ignore[type-var]
        assert ids == ["m0", "m1", "m2"]
        changed = [
            SmsMessage(destination="+393200000001", sender="B", body="x", message_id=f"n{i}")
            for i in range(3)
        ]
        with pytest.raises(JournalMismatchError):
            async with client.bulk.stream(changed, journal=journal) as outcomes:
                async for _ in outcomes:
                    pass


async def test_journal_reads_back_in_chunks(tmp_path: Path) -> None:
    """A resume over more rows than one read chunk skips all of them."""
    journal = tmp_path / "job.sqlite"
    server = Server()
    n = 2500  # more than one read chunk (2048 rows)
    async with client_for(server) as client:
        await client.bulk.run((sms(i) for i in range(n)), journal=journal, concurrency=64)
        r = await client.bulk.run((sms(i) for i in range(n + 3)), journal=journal)
    assert (r.skipped, r.accepted, r.total, r.requests) == (n, n + 3, n + 3, 3)


async def test_stopped_journaled_job_resumes_where_it_stopped(tmp_path: Path) -> None:
    """Stop a job midway; the next run sends exactly the rest, each message once by effect."""
    journal = tmp_path / "job.sqlite"
    server = Server()
    n = 400
    async with client_for(server) as client:

        def on_outcome(o: Any) -> None:
            if job.report.accepted >= 100:
                job.stop()

        job = client.bulk.job(
            (sms(i) for i in range(n)), journal=journal, concurrency=8, on_outcome=on_outcome
        )
        r1 = await job.run()
        r2 = await client.bulk.run((sms(i) for i in range(n)), journal=journal, concurrency=8)
    assert r1.stopped and r1.accepted >= 100
    assert r2.skipped == r1.accepted and r2.accepted == n and r2.requests == n - r1.accepted
    assert len(server.seen) == n
    await anyio.lowlevel.checkpoint()
