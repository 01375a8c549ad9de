"""Bulk acceptance over real HTTP on loopback against the simulator.

* 5,000 messages under 10% 503, 3% 500, 2% resets, 2% drops after processing and 1% responses
  slower than the client's timeout: one outcome each, one messageId each, failed <= 0.5%.
* kill -9 at about 40% of a 3,000-message journaled job, then the same command again: every
  message processed once, at most ``concurrency`` requests for messages processed before the kill.
* a 20 s total outage in the middle of a 5,000-message job: no failed outcome, requests during
  the outage <= 5% of the job, every request after it answered (how soon sending resumes is
  printed; the probe spacing that bounds it is pinned on virtual time in ``test_bulk.py``).

Nothing here sleeps to let a race settle or asserts a duration: the runs wait for known counts,
and the kill -9 run stops the server before it counts, so no request can still be on the wire.

Run with ``pytest -m e2e -s tests/test_bulk_e2e.py`` to see the figures.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from qlara_async import AsyncQlara
from qlara_async.bulk import Outcome
from qlara_async.models import SmsMessage
from qlara_async.testing import Faults, Simulator, run_in_thread

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def anyio_backend() -> str:
    """Over real HTTP the event loop does not matter: asyncio only."""
    return "asyncio"


def messages(n: int) -> Iterator[SmsMessage]:
    for i in range(n):
        yield SmsMessage(destination=f"+3932{i:08d}", sender="Brand", body=f"Ciao {i}")


@pytest.mark.anyio
# A long real-time run: more than the suite's 120 s per-test limit on a loaded machine.
@pytest.mark.timeout(600)
async def test_5000_messages_under_faults(http_backend: str, anyio_backend: str) -> None:
    """Every input has one outcome, one messageId, and accepted means processed. (5,000 on
    asyncio with httpx; on trio and on the aiohttp backend 2,000 under the same faults, so the
    suite stays under its time bound.)"""
    n = 5000 if (http_backend, anyio_backend) == ("httpx", "asyncio") else 2000
    sim = Simulator(
        faults=Faults(
            status_503=0.10, status_500=0.03, reset=0.02, drop=0.02, slow=0.01, slow_seconds=1.5
        ),
        seed=20240601,
    )
    outcomes: dict[int, Outcome] = {}
    dupes = 0

    def on_outcome(o: Outcome) -> None:
        nonlocal dupes
        if o.index in outcomes:
            dupes += 1
        outcomes[o.index] = o

    with run_in_thread(sim) as url:
        async with AsyncQlara(
            api_key="test-key",
            base_url=url,
            rate_limit=None,
            timeout=1.0,
            http_backend=http_backend,
        ) as client:
            started = time.perf_counter()
            report = await client.bulk.run(messages(n), concurrency=96, on_outcome=on_outcome)
            took = time.perf_counter() - started

    ids_by_dest: defaultdict[str, set[str]] = defaultdict(set)
    for p in sim.processed:
        ids_by_dest[p.destination].add(p.message_id)
    processed_ids = {p.message_id for p in sim.processed}
    accepted = [o for o in outcomes.values() if o.status == "accepted"]
    print(
        f"\nfaults: {n} messages in {took:.1f}s; {report.accepted} accepted, {report.rejected}"
        f" rejected, {report.failed} failed; {report.requests} requests, {report.retries}"
        f" retries, {report.requeues} requeues, {report.pauses} pauses;"
        f" simulator faults {dict(sim.stats.faults)}, duplicates {sim.stats.duplicates}"
    )
    assert dupes == 0 and sorted(outcomes) == list(range(n))
    assert report.total == n and report.not_sent == 0
    # No message processed under two ids, none processed twice.
    assert all(len(ids) == 1 for ids in ids_by_dest.values())
    assert len(sim.processed) == len(processed_ids)
    # Every accepted outcome was really processed, under the outcome's id.
    assert all(o.message_id in processed_ids for o in accepted)
    assert report.failed <= n * 0.005


@pytest.mark.anyio
# A long real-time run: more than the suite's 120 s per-test limit on a loaded machine.
@pytest.mark.timeout(600)
async def test_20s_outage_pauses_the_job() -> None:
    """No failed outcome, few requests during the outage, quick resumption after it."""
    n = 5000
    outage = 20.0
    sim = Simulator(seed=3)
    window: list[float] = []

    async def start_outage() -> None:
        while sim.stats.processed < n // 2:  # noqa: ASYNC110 - the simulator runs in a thread
            await anyio.sleep(0.005)
        t = sim.clock.now()
        sim.outage_for(outage)
        window.extend([t, t + outage])

    with run_in_thread(sim) as url:
        async with (
            AsyncQlara(api_key="test-key", base_url=url, rate_limit=None) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(start_outage)
            report = await client.bulk.run(messages(n), concurrency=32)

    start, end = window
    during = [a for a in sim.arrivals if start <= a.time < end]
    after_ok = [a.time for a in sim.arrivals if a.time >= end and a.status == 200]
    resumed = min(after_ok) - end
    print(
        f"\noutage: {len(during)} requests during the {outage:.0f}s outage"
        f" ({len(during) / n:.2%} of the job), resumed {resumed:.2f}s after it;"
        f" {report.accepted} accepted, {report.failed} failed, {report.pauses} pauses,"
        f" {report.requeues} requeues, {report.requests} requests, {report.elapsed:.1f}s"
    )
    assert report.failed == 0 and report.accepted == n and report.pauses >= 1
    assert len(during) <= 0.05 * n
    # Once the server is back the job sends again: nothing after the outage failed, and the job
    # had messages left to send at its end (it resumed, rather than finishing in the outage).
    assert after_ok and all(a.status == 200 for a in sim.arrivals if a.time >= end)


_JOB = textwrap.dedent(
    """
    import sys
    import anyio
    from qlara_async import AsyncQlara
    from qlara_async.models import SmsMessage

    url, journal, n, concurrency = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

    async def main() -> None:
        msgs = (
            SmsMessage(destination=f"+3932{i:08d}", sender="Brand", body=f"Ciao {i}")
            for i in range(n)
        )
        async with AsyncQlara(api_key="test-key", base_url=url, rate_limit=None) as client:
            r = await client.bulk.run(msgs, concurrency=concurrency, journal=journal)
        print(r.accepted, r.skipped, r.failed, r.requests, r.total, flush=True)

    anyio.run(main)
    """
)


# A long real-time run: more than the suite's 120 s per-test limit on a loaded machine.
@pytest.mark.timeout(600)
def test_kill_9_and_resume(tmp_path: Path) -> None:
    """A killed journaled job, run again, sends everything once by effect."""
    n, concurrency = 3000, 16
    script = tmp_path / "job.py"
    script.write_text(_JOB)
    journal = tmp_path / "job.sqlite"
    sim = Simulator(seed=5)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    with run_in_thread(sim) as url:
        cmd = [sys.executable, str(script), url, str(journal), str(n), str(concurrency)]
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while sim.stats.processed < n * 0.4:  # a known count, polled (the job is another process)
            assert proc.poll() is None, "the job ended before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # The server has stopped: no request of the killed job can still be processed.
    before = len(sim.processed)
    dupes_before = sim.stats.duplicates
    with run_in_thread(sim) as url:
        cmd = [sys.executable, str(script), url, str(journal), str(n), str(concurrency)]
        second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
        assert second.returncode == 0, second.stderr
        accepted, skipped, failed, requests, total = map(int, second.stdout.split())

    per_dest = Counter(p.destination for p in sim.processed)
    resent = sim.stats.duplicates - dupes_before
    print(
        f"\nkill -9: killed at {before} processed ({before / n:.0%}); second run: {skipped}"
        f" skipped, {accepted} accepted, {requests} requests, {resent} re-sent for messages"
        f" processed before the kill (concurrency {concurrency})"
    )
    assert len(per_dest) == n and set(per_dest.values()) == {1}
    # The second run's report covers the whole job; each sender lost at most one journal write.
    assert failed == 0 and accepted == total == n
    assert before - concurrency <= skipped <= before and requests == n - skipped
    assert resent <= concurrency
