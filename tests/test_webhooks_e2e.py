"""Acceptance, end to end over real HTTP on loopback: 1,000 sends through the bulk engine against
the simulator, whose callbacks (duplicated, reordered, some attempts lost and retried) reach a
``WebhookReceiver`` that feeds a ``DeliveryTracker``; every message ends in a final state.

The simulator and the receiver each run in their own server thread; the callback dispatcher and
the tracker run on the test's loop. Nothing sleeps in the test: it waits on the tracker.
Run with ``-s`` to see the figures, the tracker's peak memory included: the run's sends and
callbacks are replayed into a fresh tracker under tracemalloc (every send first, then every
callback: the most messages pending at once, an upper bound of the run's own interleaving).
tracemalloc around the whole run would trace the simulator's and the receiver's threads too, and
quadruple the test's time. Printed, not asserted.
"""

from __future__ import annotations

import tracemalloc
from typing import Any

import pytest

from qlara_async import AsyncQlara
from qlara_async.models import RcsMessage, SmsMessage, WhatsAppMessage
from qlara_async.testing import CallbackOptions, Simulator, run_in_thread
from qlara_async.webhooks import DeliveryTracker, WebhookEvent, WebhookReceiver
from qlara_async.webhooks._tracker import BulkTracking

pytestmark = [pytest.mark.e2e]

TOKEN = "e2e-webhook-token"
N = 1000
UNDELIVERED = {f"+39347{i:07d}" for i in range(0, N, 50)}  # 20 destinations get statusCode 6


def message(i: int) -> Any:
    dest = f"+39347{i:07d}"
    kind = i % 3
    if kind == 0:
        return SmsMessage(
            destination=dest, sender="Brand", body="Ciao {n}", placeholders={"n": str(i)}
        )
    if kind == 1:
        return RcsMessage(
            destination=dest, agent_id=10, body={"type": "TEXT", "body": {"text": "x"}}
        )
    return WhatsAppMessage(destination=dest, phone_number_id=5, body={"text": {"body": "x"}})


# 1,000 on asyncio (the acceptance figure); trio runs the same path with 100 to keep the suite
# fast (each callback is a real HTTP round trip on a shared two-core machine).
@pytest.mark.anyio
async def test_1000_sends_reach_a_final_state_through_callbacks(anyio_backend: str) -> None:
    n = N if anyio_backend == "asyncio" else 100
    undelivered = {d for d in UNDELIVERED if int(d[-7:]) < n}
    options = CallbackOptions(
        delay=0.0,
        jitter=0.02,
        read_after=0.0,
        duplicate_rate=0.2,
        reorder=True,
        failure_rate=0.1,
        retry_delay=0.01,
        max_attempts=20,
        undelivered=undelivered,
        seed=7,
    )
    sim = Simulator(callbacks=options)
    tracker = DeliveryTracker(poll_after=3600)  # callbacks alone must settle every message
    arrived: list[tuple[str, str | None]] = []

    events: list[WebhookEvent] = []
    sent: list[Any] = []

    def handle(event: WebhookEvent) -> None:
        arrived.append((type(event).__name__, event.message_id))
        events.append(event)
        tracker.observe(event)

    receiver = WebhookReceiver(handle, token=TOKEN)
    with run_in_thread(sim) as api_url, run_in_thread(receiver, base_path="") as hook_url:
        async with AsyncQlara("test-key", base_url=api_url, rate_limit=None) as client:
            await client.webhooks.configure(f"{hook_url}/qlara?token={TOKEN}")
            job = tracker.job()

            def on_outcome(outcome: Any) -> None:
                sent.append(outcome)
                job.on_outcome(outcome)

            async with sim.callbacks.running():
                report = await client.bulk.run(
                    (message(i) for i in range(n)), concurrency=32, on_outcome=on_outcome
                )
                tracked = await job.wait(report, timeout=120)

    assert report.accepted == n
    assert tracked.unknown == 0
    assert tracked.delivered + tracked.not_delivered == n
    assert tracked.not_delivered == len(undelivered)
    assert len(tracker) == 0 and tracker.polls == 0
    # The mix really was hostile: duplicates were sent and recognised, attempts were lost.
    stats = sim.callbacks.stats
    assert stats.duplicates > 0 and receiver.stats.duplicates > 0
    assert stats.failed_attempts > 0 and stats.given_up == 0
    first = {}
    for kind, mid in arrived:
        first.setdefault((kind, mid), len(first))
    overtaken = [
        mid
        for kind, mid in first
        if kind == "ReadEvent" and first[kind, mid] < first.get(("DeliveryEvent", mid), -1)
    ]
    assert overtaken, "reordering: some READ must reach the receiver before its DELIVERY"
    assert receiver.stats.handler_errors == 0 and receiver.stats.unauthorized == 0
    print(
        f"\n{n} sends ({anyio_backend}): delivered {tracked.delivered}, not delivered {tracked.not_delivered},"
        f" unknown {tracked.unknown}; callbacks POSTed {stats.delivered} (+{stats.duplicates}"
        f" duplicates, {stats.failed_attempts} lost attempts retried); receiver handled"
        f" {receiver.stats.handled}, recognised {receiver.stats.duplicates} duplicates;"
        f" {len(overtaken)} READs overtook their DELIVERY"
        f"; the tracker's peak memory {_replayed_peak(sent, events) / 1024:.0f} KiB"
        " (a million messages: benchmarks/bench_tracker_memory.py)"
    )


def _replayed_peak(outcomes: list[Any], events: list[WebhookEvent]) -> int:
    # Must run on the event loop (the tracker binds to it); synchronous, so nothing else runs.
    tracemalloc.start()
    try:
        replay = DeliveryTracker(poll_after=3600)
        job: BulkTracking = replay.job()
        for outcome in outcomes:
            job.on_outcome(outcome)
        for event in events:
            replay.observe(event)
        assert len(replay) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
