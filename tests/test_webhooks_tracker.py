"""``DeliveryTracker``: forward-only states, waiting, the polling fallback, bulk jobs, bounds,
and events handed over from another thread. Time is a ``ManualClock`` (timeouts and polls jump
at once) or a clock frozen until an event arrives; nothing sleeps for real."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import SimpleNamespace
from typing import Any

import anyio
import httpx
import pytest

from qlara_async import AsyncQlara, ManualClock
from qlara_async.bulk import Outcome
from qlara_async.models import SmsMessage
from qlara_async.testing import Simulator
from qlara_async.webhooks import (
    Channel,
    Delivery,
    DeliveryState,
    DeliveryTracker,
    parse_event,
)

from .test_webhooks_events import RCS_DELIVERY, RCS_READ


def delivery(mid: str, code: int = 3, channel: str = "RCS") -> Any:
    body = RCS_DELIVERY.replace(b'"uuid"', f'"{mid}"'.encode())
    body = body.replace(b'"statusCode": 3', f'"statusCode": {code}'.encode())
    return parse_event(body.replace(b'"RCS"', f'"{channel}"'.encode()))


def read(mid: str) -> Any:
    return parse_event(RCS_READ.replace(b'"uuid"', f'"{mid}"'.encode()))


class FrozenClock(ManualClock):
    """Time stands still and sleeping never ends: only an event can finish a wait."""

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep_forever()


def test_state_only_moves_forward() -> None:
    tracker = DeliveryTracker()
    tracker.observe(delivery("m1", code=3))
    tracker.observe(delivery("m1", code=1))  # a late, non-final status
    assert tracker.state("m1").state is DeliveryState.DELIVERED
    tracker.observe(delivery("m1", code=6))  # of two final outcomes, the first stands
    assert tracker.state("m1").state is DeliveryState.DELIVERED
    tracker.observe(read("m1"))
    assert tracker.state("m1") == Delivery("m1", DeliveryState.READ, Channel.RCS)
    tracker.observe(delivery("m1", code=3))
    assert tracker.state("m1").state is DeliveryState.READ
    assert tracker.state("never").state is DeliveryState.UNKNOWN
    assert not DeliveryState.SENT.final and DeliveryState.NOT_DELIVERED.final
    assert DeliveryState.READ.delivered and not DeliveryState.NOT_DELIVERED.delivered


def test_inbound_and_unknown_events_are_ignored() -> None:
    tracker = DeliveryTracker()
    tracker.observe(parse_event(b'{"channel":"RCS","eventType":"INBOUND","messageId":"m"}'))
    tracker.observe(parse_event(b'{"channel":"SMS","eventType":"CLICK","messageId":"m"}'))
    assert tracker.events_observed == 0 and tracker.state("m").state is DeliveryState.UNKNOWN


@pytest.mark.anyio
async def test_wait_returns_when_the_callback_arrives() -> None:
    tracker = DeliveryTracker(clock=FrozenClock())
    result: list[Delivery] = []
    async with anyio.create_task_group() as tg:

        async def waiter() -> None:
            result.append(await tracker.wait("m1", timeout=60, channel="RCS"))

        tg.start_soon(waiter)
        await anyio.wait_all_tasks_blocked()
        assert len(tracker) == 1
        tracker.observe(delivery("m1", code=1))  # not final: still waiting
        await anyio.wait_all_tasks_blocked()
        assert result == []
        tracker.observe(delivery("m1", code=6))
    assert result == [Delivery("m1", DeliveryState.NOT_DELIVERED, Channel.RCS)]
    assert len(tracker) == 0


@pytest.mark.anyio
async def test_a_callback_before_the_wait_settles_it_at_once() -> None:
    tracker = DeliveryTracker(clock=FrozenClock())
    tracker.observe(delivery("early"))
    got = await tracker.wait("early", timeout=5)
    assert got.state is DeliveryState.DELIVERED and got.final


@pytest.mark.anyio
async def test_wait_times_out_on_the_injected_clock() -> None:
    clock = ManualClock()
    tracker = DeliveryTracker(clock=clock)
    got = await tracker.wait("m1", timeout=30)
    assert got == Delivery("m1", DeliveryState.UNKNOWN)
    assert not got.final
    assert clock.now() == pytest.approx(30)


@pytest.mark.anyio
async def test_events_from_another_thread_are_handed_over() -> None:
    tracker = DeliveryTracker(clock=FrozenClock())
    tracker.track("m1")

    def from_thread() -> None:
        tracker.observe(delivery("m1"))

    async with anyio.create_task_group() as tg:

        async def observe_later() -> None:
            await anyio.wait_all_tasks_blocked()
            await anyio.to_thread.run_sync(from_thread)

        tg.start_soon(observe_later)
        got = await tracker.wait("m1", timeout=60)
    assert got.state is DeliveryState.DELIVERED
    assert threading.active_count() >= 1


@asynccontextmanager
async def sim_client(sim: Simulator, clock: ManualClock) -> AsyncIterator[AsyncQlara]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(sim), base_url="http://127.0.0.1/api")
    async with (
        http,
        AsyncQlara(
            "test-key",
            base_url="http://127.0.0.1/api",
            http_client=http,
            rate_limit=None,
            clock=clock,
        ) as client,
    ):
        yield client


@pytest.mark.anyio
async def test_polling_fallback_on_every_channel() -> None:
    clock = ManualClock()
    sim = Simulator(clock=clock, delivery_delay=5.0, rejected_destinations=["+393409999999"])
    async with sim_client(sim, clock) as client:
        sms = await client.sms.send(destination="+393401234567", sender="Brand", body="Ciao")
        rcs = await client.rcs.send(
            destination="+393401234567", agent_id=10, body={"type": "TEXT", "body": {"text": "x"}}
        )
        wa = await client.whatsapp.send(
            destination="+393401234567", phone_number_id=5, body={"text": {"body": "x"}}
        )
        tracker = DeliveryTracker(client, clock=clock, poll_after=10, poll_interval=10)
        got = [
            await tracker.wait(sms.message_id, timeout=60, channel="SMS"),
            await tracker.wait(rcs.message_id, timeout=60, channel=Channel.RCS),
            await tracker.wait(wa.message_id, timeout=60, channel="whatsapp"),
        ]
        assert [d.state for d in got] == [DeliveryState.DELIVERED] * 3
        assert tracker.polls == 3
        # An id the API does not know: polls fail quietly, the wait ends unknown at its deadline.
        missing = await tracker.wait("nope", timeout=45, channel="RCS")
        assert missing.state is DeliveryState.UNKNOWN and tracker.polls > 3


def outcome(mid: str, status: str = "accepted", channel: str = "sms") -> Any:
    part = SimpleNamespace(accepted=True)
    results = SimpleNamespace(sms=None, rcs=None, whatsapp=None)
    setattr(results, channel, part)
    return SimpleNamespace(message_id=mid, status=status, result=SimpleNamespace(results=results))


@pytest.mark.anyio
async def test_a_job_counts_delivered_not_delivered_and_unknown() -> None:
    clock = ManualClock()
    tracker = DeliveryTracker(clock=clock)
    job = tracker.job()
    tracker.observe(delivery("a", channel="SMS"))  # the callback beat the send's answer
    for mid in "abcd":
        job.on_outcome(outcome(mid))
    job.on_outcome(outcome("rejected", status="rejected"))
    job.on_outcome(outcome("e", channel="whatsapp"))
    tracker.observe(delivery("b", code=6))
    tracker.observe(read("c"))
    assert job.pending == 2  # d and e; the rejected one was never sent
    report = await job.wait(SimpleNamespace(accepted=5, total=6), timeout=100)
    assert (report.delivered, report.not_delivered, report.unknown) == (2, 1, 2)
    assert report.accepted == 5 and report.total == 6  # read through to the bulk report


@pytest.mark.anyio
async def test_a_job_polls_what_callbacks_leave_open() -> None:
    clock = ManualClock()
    sim = Simulator(clock=clock, delivery_delay=1.0, rejected_destinations=["+393409999999"])
    async with sim_client(sim, clock) as client:
        tracker = DeliveryTracker(client, clock=clock, poll_after=30, poll_interval=30)
        job = tracker.job()
        messages = [
            SmsMessage(destination=f"+39340{i:07d}", sender="Brand", body="Ciao") for i in range(30)
        ]
        report = await client.bulk.run(messages, on_outcome=job.on_outcome)
        assert report.accepted == 30
        tracked = await job.wait(report, timeout=120)
    assert (tracked.delivered, tracked.not_delivered, tracked.unknown) == (30, 0, 0)
    assert tracker.polls == 30 and len(tracker) == 0


@pytest.mark.anyio
async def test_memory_stays_bounded() -> None:
    tracker = DeliveryTracker(clock=ManualClock(), max_pending=2, max_recent=3)
    job = tracker.job()
    job.track_many([("m1", "SMS"), ("m2", "RCS"), ("m3", None)])
    assert len(tracker) == 2 and job.pending == 2  # m1 was given up
    for i in range(10):
        tracker.observe(delivery(f"x{i}"))
    assert len(tracker._recent) == 3
    report = await job.wait(timeout=1)
    assert report.unknown == 3
    with pytest.raises(ValueError):
        DeliveryTracker(max_pending=0)
    with pytest.raises(ValueError):
        tracker.track("")


def test_outcome_type_is_what_the_bulk_engine_yields() -> None:
    # on_outcome reads only these attributes of a real Outcome.
    assert {"message_id", "status", "result"} <= set(Outcome.__struct_fields__)
