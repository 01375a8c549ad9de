"""The bulk sender over ``httpx.MockTransport``: outcomes, ids, streaming, hooks, stopping.

Nothing here sleeps for real: retries use a zero backoff, and tests that need the health gate's
probe spacing run on a ``ManualClock``.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest
from trio.testing import MockClock

from qlara_async import (
    APIConnectionError,
    AsyncQlara,
    BadRequestError,
    InternalServerError,
    ManualClock,
    RetryPolicy,
    ValidationError,
)
from qlara_async.bulk import BulkEvent, BulkReport, Outcome, Progress
from qlara_async.models import SmsMessage

pytestmark = pytest.mark.anyio

FAST = RetryPolicy(max_retries=2, backoff_base=0, jitter=0)
Handler = Callable[[httpx.Request], Any]


def dest(i: int) -> str:
    return f"+3932{i:08d}"


def sms(i: int, **kw: Any) -> SmsMessage:
    return SmsMessage(destination=dest(i), sender="Brand", body=f"hello {i}", **kw)


def ok(
    body: dict[str, Any], accepted: bool = True, reasons: list[str] | None = None
) -> httpx.Response:
    return httpx.Response(
        200,
        json={
            "messageId": body["messageId"],
            "results": {"sms": {"accepted": accepted, "reasons": reasons or []}},
        },
    )


def make_client(handler: Handler, *, clock: ManualClock | None = None) -> AsyncQlara:
    return AsyncQlara(
        api_key="k",
        base_url="https://api.test/api",
        rate_limit=None,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(handler)),
        clock=clock,
        retry_policy=FAST,
    )


class Recorder:
    """A MockTransport handler: answers per ``decide`` and records every request's id."""

    def __init__(self, decide: Callable[[dict[str, Any], int], httpx.Response] | None = None):
        self.decide = decide or (lambda body, n: ok(body))
        self.ids: dict[str, list[str]] = {}
        self.requests = 0

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests += 1
        seen = self.ids.setdefault(body["destination"], [])
        seen.append(body["messageId"])
        return self.decide(body, len(seen))


def check_report(report: BulkReport) -> None:
    assert report.total == report.accepted + report.rejected + report.failed + report.not_sent
    assert report.skipped <= report.accepted + report.rejected


async def test_run_gives_one_accepted_outcome_per_message() -> None:
    """Every message of a clean job is accepted once, and the report counts them."""
    rec = Recorder()
    outcomes: list[Outcome] = []
    clock = ManualClock()

    def on_outcome(o: Outcome) -> None:
        outcomes.append(o)
        clock.advance(0.01)  # each outcome takes 10 ms of the job's (virtual) time

    async with make_client(rec, clock=clock) as client:
        report = await client.bulk.run(
            (sms(i) for i in range(300)), concurrency=8, on_outcome=on_outcome
        )
    assert sorted(o.index for o in outcomes) == list(range(300))
    assert all(o.status == "accepted" and o.attempts == 1 for o in outcomes)
    assert (report.accepted, report.total, report.requests, report.failed) == (300, 300, 300, 0)
    assert report.retries == 0
    # elapsed is the job's time on its clock; throughput is outcomes over it.
    assert report.elapsed == pytest.approx(3.0)
    assert report.throughput == pytest.approx(100.0)
    assert {o.message_id for o in outcomes} == {ids[0] for ids in rec.ids.values()}
    check_report(report)


async def test_outcome_kinds() -> None:
    """4xx and ``accepted: false`` are rejected, a lasting 5xx failed, bad input rejected unsent."""

    def decide(body: dict[str, Any], n: int) -> httpx.Response:
        d = body["destination"]
        if d == dest(1):
            return httpx.Response(400, json={"status": "fail", "data": {"body": "too long"}})
        if d == dest(2):
            return ok(body, accepted=False, reasons=["BLACKLISTED"])
        if d == dest(3):
            return httpx.Response(500, json={"message": "boom"})
        return ok(body)

    rec = Recorder(decide)
    messages = [sms(0), sms(1), sms(2), sms(3), SmsMessage(destination="x", sender="B", body="b")]
    got: dict[int, Outcome] = {}
    async with make_client(rec) as client:
        report = await client.bulk.run(messages, on_outcome=lambda o: got.__setitem__(o.index, o))
    assert got[0].status == "accepted" and got[0].result is not None
    assert got[1].status == "rejected" and isinstance(got[1].error, BadRequestError)
    assert got[2].status == "rejected" and got[2].reasons == ["BLACKLISTED"]
    assert got[3].status == "failed" and isinstance(got[3].error, InternalServerError)
    assert got[3].attempts == FAST.max_retries + 1
    assert got[4].status == "rejected" and isinstance(got[4].error, ValidationError)
    assert got[4].attempts == 0 and "x" not in rec.ids
    assert (report.accepted, report.rejected, report.failed) == (1, 3, 1)
    check_report(report)


async def test_one_message_id_per_message_across_retries() -> None:
    """Retries carry the id made before the first attempt; a caller's id is kept."""

    def decide(body: dict[str, Any], n: int) -> httpx.Response:
        return httpx.Response(503) if n < 3 else ok(body)

    rec = Recorder(decide)
    messages = [sms(0), sms(1, message_id="mine-1")]
    outcomes: list[Outcome] = []
    async with make_client(rec) as client:
        await client.bulk.run(messages, on_outcome=outcomes.append)
    for o in outcomes:
        ids = rec.ids[dest(o.index)]
        assert len(ids) == 3 and set(ids) == {o.message_id}
        assert o.attempts == 3
    assert rec.ids[dest(1)][0] == "mine-1"


async def test_connection_errors_are_retried_under_the_same_id() -> None:
    """A connection error is retried; the message is accepted under its one id."""
    calls = Counter[str]()

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        calls[body["messageId"]] += 1
        if calls[body["messageId"]] == 1:
            raise httpx.ReadError("dropped", request=request)
        return ok(body)

    async with make_client(handler) as client:
        report = await client.bulk.run([sms(i) for i in range(3)], concurrency=1)
    assert report.accepted == 3 and report.requests == 6 and report.retries == 3
    assert set(calls.values()) == {2}


async def test_async_iterable_input_and_async_callback() -> None:
    """An async generator is read; an async ``on_outcome`` is awaited, one call at a time."""

    async def agen() -> AsyncIterator[SmsMessage]:
        for i in range(50):
            await anyio.lowlevel.checkpoint()
            yield sms(i)

    running = 0
    seen: list[int] = []

    async def on_outcome(o: Outcome) -> None:
        nonlocal running
        running += 1
        assert running == 1
        await anyio.lowlevel.checkpoint()
        seen.append(o.index)
        running -= 1

    async with make_client(Recorder()) as client:
        report = await client.bulk.run(agen(), concurrency=5, on_outcome=on_outcome)
    assert sorted(seen) == list(range(50)) and report.accepted == 50


async def test_stream_yields_outcomes_in_completion_order() -> None:
    """``stream()`` yields each outcome once, with its input index."""
    async with make_client(Recorder()) as client:
        async with client.bulk.stream([sms(i) for i in range(40)], concurrency=6) as outcomes:
            got = [o async for o in outcomes]
        assert sorted(o.index for o in got) == list(range(40))
        assert outcomes.report.accepted == 40
        check_report(outcomes.report)


async def test_leaving_stream_early_stops_the_job() -> None:
    """Leaving the block early stops reading; the report accounts for everything read."""
    pulled = 0

    def gen() -> Iterator[SmsMessage]:
        nonlocal pulled
        for i in range(10_000):
            pulled += 1
            yield sms(i)

    async with (
        make_client(Recorder()) as client,
        client.bulk.stream(gen(), concurrency=4) as outcomes,
    ):
        async for o in outcomes:
            if o.index >= 5:
                break
    report = outcomes.report
    assert report.stopped and pulled < 100
    assert report.next_index <= pulled
    check_report(report)


async def test_cancelling_run_returns_a_report_of_what_was_not_sent() -> None:
    """Cancelling the task stops the job; in-flight sends finish within the grace period."""
    release = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if int(body["destination"][-8:]) >= 10:
            await release.wait()
        return ok(body)

    reports: list[BulkReport] = []
    outcomes: list[Outcome] = []

    def on_outcome(o: Outcome) -> None:
        outcomes.append(o)
        if len(outcomes) == 10:
            scope.cancel()
            # The sends in flight are answered during the grace period.
            release.set()

    async with make_client(handler) as client:
        with anyio.CancelScope() as scope:
            reports.append(
                await client.bulk.run(
                    (sms(i) for i in range(1000)), concurrency=4, on_outcome=on_outcome
                )
            )
    (report,) = reports
    assert report.stopped
    assert report.accepted == len(outcomes) >= 10
    assert report.failed == 0
    assert report.total < 1000 and report.next_index == report.total
    assert len(report.not_sent_indices) == report.not_sent
    check_report(report)


async def test_grace_period_cuts_off_hung_sends_as_failed() -> None:
    """Sends still hung after the grace period are cancelled and reported failed (ambiguous)."""
    never = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if body["destination"] != dest(0):
            await never.wait()
        return ok(body)

    async with make_client(handler) as client:
        job = client.bulk.job(
            (sms(i) for i in range(100)),
            concurrency=3,
            grace_period=0,
            on_outcome=lambda o: job.stop() if o.index == 0 else None,
        )
        report = await job.run()
    # The two other first sends hang (and maybe one more begun before stop() ran).
    assert report.accepted == 1 and 2 <= report.failed <= 3
    assert all(i > 0 for i in report.not_sent_indices)
    check_report(report)


async def test_stop_from_outside_returns_normally() -> None:
    """``job.stop()`` (the CLI's first Ctrl-C) ends ``run()`` with a report, no exception."""
    async with make_client(Recorder()) as client:

        def on_outcome(o: Outcome) -> None:
            if o.index == 20:
                job.stop()

        job = client.bulk.job((sms(i) for i in range(10_000)), concurrency=2, on_outcome=on_outcome)
        report = await job.run()
    assert report.stopped and report.accepted < 10_000
    check_report(report)


async def test_progress_and_event_hooks() -> None:
    """``on_event`` sees requests, retries and throttles; ``on_progress`` gets a final snapshot."""

    def decide(body: dict[str, Any], n: int) -> httpx.Response:
        if body["destination"] == dest(0) and n == 1:
            return httpx.Response(429, headers={"Retry-After": "0"})
        if body["destination"] == dest(1) and n == 1:
            return httpx.Response(503)
        return ok(body)

    events: list[BulkEvent] = []
    progress: list[Progress] = []
    async with make_client(Recorder(decide)) as client:
        report = await client.bulk.run(
            [sms(i) for i in range(5)],
            on_event=events.append,
            on_progress=progress.append,
            progress_interval=3600,
        )
    kinds = Counter(e.kind for e in events)
    assert kinds["request"] == 7 and kinds["retry"] == 2 and kinds["throttle"] == 1
    assert report.throttles == 1 and report.retries == 2 and report.requests == 7
    final = progress[-1]
    assert (final.done, final.total, final.accepted, final.in_flight) == (5, 5, 5, 0)


async def test_concurrency_is_validated() -> None:
    """``concurrency`` below 1 is refused before anything is sent."""
    async with make_client(Recorder()) as client:
        for bad in (0, -1, True):
            with pytest.raises(ValidationError):
                await client.bulk.run([sms(0)], concurrency=bad)


async def test_outage_pauses_the_job_instead_of_failing_messages() -> None:
    """A run of 503s across messages opens the health gate: no message fails, few requests."""
    clock = ManualClock()
    state = {"down_left": 60}

    def decide(body: dict[str, Any], n: int) -> httpx.Response:
        # A total outage of 60 requests, starting after the 100th.
        if rec.requests > 100 and state["down_left"] > 0:
            state["down_left"] -= 1
            return httpx.Response(503, json={"message": "down"})
        return ok(body)

    rec = Recorder(decide)
    events: list[BulkEvent] = []
    async with make_client(rec, clock=clock) as client:
        report = await client.bulk.run(
            [sms(i) for i in range(200)], concurrency=8, on_event=events.append
        )
    assert report.failed == 0 and report.accepted == 200
    assert report.pauses >= 1
    kinds = Counter(e.kind for e in events)
    assert kinds["pause"] == kinds["resume"] >= 1
    # Probes were spaced out, growing to at most 2 s.
    assert max(clock.sleeps) <= 2.0 + FAST.jitter
    check_report(report)


async def test_lone_failing_message_still_fails() -> None:
    """One message that keeps failing while others succeed is failed, not requeued forever."""

    def decide(body: dict[str, Any], n: int) -> httpx.Response:
        if body["destination"] == dest(7):
            raise httpx.ConnectError("refused")
        return ok(body)

    async with make_client(Recorder(decide)) as client:
        report = await client.bulk.run([sms(i) for i in range(30)], concurrency=4)
    assert report.failed == 1 and report.accepted == 29 and report.requeues == 0


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_random_faults_give_exactly_one_outcome_each(seed: int) -> None:
    """Under random statuses and connection errors every index has exactly one outcome."""
    rng = random.Random(seed)

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        r = rng.random()
        if r < 0.1:
            raise httpx.ReadTimeout("slow", request=request)
        if r < 0.2:
            return httpx.Response(503)
        if r < 0.25:
            return httpx.Response(400, json={"message": "bad"})
        if r < 0.3:
            return ok(body, accepted=False)
        return ok(body)

    counts = Counter[int]()
    async with make_client(handler, clock=ManualClock()) as client:
        report = await client.bulk.run(
            [sms(i) for i in range(300)],
            concurrency=16,
            on_outcome=lambda o: counts.update([o.index]),
        )
    assert sorted(counts) == list(range(300)) and set(counts.values()) == {1}
    check_report(report)
    assert report.not_sent == 0 and report.total == 300


async def test_errors_in_on_outcome_stop_the_job_and_propagate() -> None:
    """An exception from ``on_outcome`` stops the job and reaches the caller."""

    def boom(o: Outcome) -> None:
        raise RuntimeError("callback failed")

    async with make_client(Recorder()) as client:
        with pytest.raises(RuntimeError, match="callback failed"):
            await client.bulk.run((sms(i) for i in range(1000)), on_outcome=boom)


async def test_reasons_come_only_from_a_result() -> None:
    """A failed outcome (no result) has no reasons; a refusal by ``accepted: false`` has the
    channel's reasons."""

    def decide(body: dict[str, Any], n: int) -> httpx.Response:
        if body["destination"] == dest(0):
            raise httpx.ConnectError("refused")
        return ok(body, accepted=False, reasons=["BLACKLISTED"])

    got: dict[int, Outcome] = {}
    async with make_client(Recorder(decide)) as client:
        await client.bulk.run([sms(0), sms(1)], on_outcome=lambda o: got.__setitem__(o.index, o))
    assert got[0].status == "failed" and isinstance(got[0].error, APIConnectionError)
    assert got[0].reasons == [] and got[0].result is None
    assert got[1].status == "rejected" and got[1].reasons == ["BLACKLISTED"]


async def test_info_logs_carry_no_numbers_or_text(caplog: pytest.LogCaptureFixture) -> None:
    """At INFO and above the job logs counts and state, never destinations or message text."""
    clock = ManualClock()
    state = {"down_left": 30}

    def decide(body: dict[str, Any], n: int) -> httpx.Response:
        if rec.requests > 20 and state["down_left"] > 0:
            state["down_left"] -= 1
            return httpx.Response(503)
        return ok(body)

    rec = Recorder(decide)
    caplog.set_level("INFO", logger="qlara_async")
    async with make_client(rec, clock=clock) as client:
        report = await client.bulk.run([sms(i) for i in range(60)], concurrency=4)
    assert report.pauses >= 1
    text = "\n".join(r.getMessage() for r in caplog.records if r.levelno >= 20)
    assert "job done" in text and "pausing" in text
    assert "+3932" not in text and "hello" not in text


async def test_health_gate_admits_one_probe_at_growing_intervals() -> None:
    """Open: one probe at a time, spaced 0.25, 0.5, 1, 2, 2 s; a healthy answer closes it."""
    from qlara_async.bulk import HealthGate

    clock = ManualClock()
    gate = HealthGate(clock, failure_threshold=3)
    gates = [gate.for_message() for _ in range(3)]
    for g in gates:
        await g.enter()
        g.exit(False)
    assert gate.is_open and gate.epoch == 1
    entered: list[int] = []

    async def other() -> None:
        await gates[1].enter()
        entered.append(1)

    async with anyio.create_task_group() as tg:
        for _ in range(5):
            await gates[0].enter()
            assert gates[0].probing
            if not entered and len(clock.sleeps) == 1:
                tg.start_soon(other)
            for _ in range(10):
                await anyio.lowlevel.checkpoint()
            # Another message waits while the probe is out.
            assert not entered
            gates[0].exit(False)
        assert [round(s, 2) for s in clock.sleeps] == [0.25, 0.5, 1.0, 2.0, 2.0]
        await gates[0].enter()
        gates[0].exit(True)
        assert not gate.is_open
    assert entered == [1]  # released when the breaker closed


async def test_a_raising_on_event_stops_the_job_in_order() -> None:
    """A hook that raises ends the job like stop(): every message read has exactly one outcome
    and the hook's own exception comes out of run(), not wrapped in a group."""
    calls = 0

    def on_event(event: BulkEvent) -> None:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise RuntimeError("hook bug")

    outcomes: list[Outcome] = []
    job = None
    async with make_client(Recorder()) as client:
        job = client.bulk.job(
            (sms(i) for i in range(50)),
            concurrency=4,
            on_event=on_event,
            on_outcome=outcomes.append,
        )
        with pytest.raises(RuntimeError, match="hook bug"):
            await job.run()
    report = job.report
    check_report(report)
    assert report.stopped
    assert len({o.index for o in outcomes}) == len(outcomes)
    assert report.accepted + report.rejected + report.failed == len(outcomes)
    assert sorted(report.not_sent_indices) == list(report.not_sent_indices)
    assert len(report.not_sent_indices) == report.not_sent


@pytest.mark.parametrize(
    "anyio_backend",
    [pytest.param(("trio", {"clock": MockClock(autojump_threshold=0)}), id="trio-mockclock")],
)
async def test_a_raising_on_progress_stops_the_job_in_order() -> None:
    """on_progress raising gives the same orderly stop, with no send cut off (virtual time: every
    task's sleeps share one clock, so the grace period is really 10 s)."""

    def on_progress(progress: Progress) -> None:
        raise ValueError("progress bug")

    async def slow_answers(request: httpx.Request) -> httpx.Response:
        await anyio.sleep(0.4)  # every answer takes virtual time, so the ticker fires
        return ok(json.loads(request.content))

    client = AsyncQlara(
        api_key="k",
        base_url="https://api.test/api",
        rate_limit=None,
        http_client=httpx.AsyncClient(transport=httpx.MockTransport(slow_answers)),
        retry_policy=FAST,
    )
    async with client:
        job = client.bulk.job(
            (sms(i) for i in range(40)),
            concurrency=2,
            on_progress=on_progress,
            progress_interval=1.0,
        )
        with pytest.raises(ValueError, match="progress bug"):
            await job.run()
    check_report(job.report)
    assert job.report.stopped and job.report.failed == 0
    # The job stopped reading input: what it read is accepted or not sent, nothing cut off.
    assert job.report.accepted >= 2 and job.report.total < 40


async def test_a_finished_stream_is_not_reported_as_stopped() -> None:
    """A stream consumed to the end reports stopped=False; one left early reports True."""
    async with make_client(Recorder()) as client:
        job = client.bulk.job([sms(i) for i in range(5)], concurrency=2)
        async with job.stream() as outcomes:
            assert len([o async for o in outcomes]) == 5
        assert not job.report.stopped

        early = client.bulk.job([sms(i) for i in range(50)], concurrency=2)
        async with early.stream() as outcomes:
            async for _ in outcomes:
                break
        assert early.report.stopped
        check_report(early.report)


def test_progress_interval_must_be_positive() -> None:
    """A zero interval would spin the progress ticker: refused up front, naming the field."""
    client = AsyncQlara(api_key="k", rate_limit=None)
    with pytest.raises(ValidationError) as info:
        client.bulk.job([sms(0)], progress_interval=0)
    assert info.value.field == "progress_interval"
