"""The bulk job's producer (``qlara_async.bulk._producer``): the input read lazily and closed
however the job ends, a broken input, and caller-given message ids used twice (the numbers are
the hardening issue's findings)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from qlara_async import AuthenticationError, ValidationError
from qlara_async.bulk import Outcome
from qlara_async.models import SmsMessage

from .test_bulk import Recorder, dest, make_client, ok, sms

pytestmark = pytest.mark.anyio


# -- reading the input -----------------------------------------------------------------------------


async def test_input_is_read_lazily_with_bounded_concurrency() -> None:
    """At most ``concurrency`` sends are in flight; the input is read only a little ahead."""
    pulled = 0
    in_flight = 0
    peak = 0
    ahead: list[int] = []

    def gen() -> Iterator[SmsMessage]:
        nonlocal pulled
        for i in range(200):
            pulled += 1
            yield sms(i)

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        for _ in range(3):
            await anyio.lowlevel.checkpoint()
        in_flight -= 1
        return ok(json.loads(request.content))

    def on_outcome(o: Outcome) -> None:
        ahead.append(pulled - o.index)

    async with make_client(handler) as client:
        report = await client.bulk.run(gen(), concurrency=4, buffer=2, on_outcome=on_outcome)
    assert report.accepted == 200
    assert 1 < peak <= 4
    # Read ahead of the outcomes: the senders, the buffer and the outcome queue, no more.
    assert max(ahead) <= 4 + 2 + 2 + 2


async def test_a_broken_input_stops_the_job_and_raises() -> None:
    """An exception from the input iterator ends the job after what is in flight, then raises."""

    def gen() -> Iterator[SmsMessage]:
        for i in range(10):
            yield sms(i)
        raise OSError("disk gone")

    async with make_client(Recorder()) as client:
        with pytest.raises(OSError, match="disk gone"):
            await client.bulk.run(gen())


# -- 20: the input is closed when the job ends early ----------------------------------------------


async def test_stopping_closes_a_generator_input() -> None:
    """20: a job that stops early closes the generator it reads (its ``finally`` runs)."""
    closed = anyio.Event()

    def gen() -> Iterator[Any]:
        try:
            for i in range(10_000):
                yield sms(i)
        finally:
            closed.set()

    async with make_client(Recorder()) as client:
        job = client.bulk.job(
            gen(), concurrency=2, on_outcome=lambda o: job.stop() if o.index == 3 else None
        )
        report = await job.run()
    assert report.stopped and closed.is_set()


async def test_a_failing_job_closes_an_async_generator_input() -> None:
    """20: a job that fails (here a job-wide 401) closes the async generator it reads."""
    closed = anyio.Event()

    async def agen() -> AsyncIterator[Any]:
        try:
            for i in range(10_000):
                await anyio.lowlevel.checkpoint()
                yield sms(i)
        finally:
            closed.set()

    refused = Recorder(lambda body, k: httpx.Response(401, json={"message": "no"}))
    async with make_client(refused) as client:
        with pytest.raises(AuthenticationError):
            await client.bulk.run(agen(), concurrency=2)
    assert closed.is_set()


# -- 15: duplicate caller ids ---------------------------------------------------------------------


async def test_a_duplicate_caller_message_id_is_rejected_unsent() -> None:
    """15: the second message with an id already used in the job is rejected, not sent."""
    rec = Recorder()
    got: dict[int, Outcome] = {}
    messages = [sms(0, message_id="dup"), sms(1), sms(2, message_id="dup")]
    async with make_client(rec) as client:
        report = await client.bulk.run(
            messages, concurrency=1, on_outcome=lambda o: got.__setitem__(o.index, o)
        )
    assert got[0].status == "accepted" and got[1].status == "accepted"
    assert got[2].status == "rejected" and got[2].attempts == 0
    assert isinstance(got[2].error, ValidationError) and got[2].error.field == "messageId"
    assert "dup" in str(got[2].error)
    assert dest(2) not in rec.ids and report.rejected == 1


async def test_a_duplicate_id_across_a_resume_is_rejected(tmp_path: Path) -> None:
    """15: with a journal, an id used by a message settled in an earlier run is detected too."""
    journal = tmp_path / "job.sqlite"
    messages = [sms(0, message_id="dup")] + [sms(i) for i in range(1, 6)]
    messages.append(sms(6, message_id="dup"))
    rec = Recorder()
    async with make_client(rec) as client:
        first = await client.bulk.run(messages[:3], journal=journal)  # settles index 0, "dup"
        assert first.accepted == 3
        got: dict[int, Outcome] = {}
        await client.bulk.run(
            messages, journal=journal, on_outcome=lambda o: got.__setitem__(o.index, o)
        )
    assert got[0].resumed and got[0].message_id == "dup"
    assert got[6].status == "rejected" and isinstance(got[6].error, ValidationError)
    assert dest(6) not in rec.ids
