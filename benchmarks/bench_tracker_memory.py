"""Peak memory of the delivery tracker over a million-message job.

A job of N messages is tracked (``job.track_many``, as ``on_outcome`` does) while delivery
callbacks arrive ``--lag`` messages behind the sends (the messages in flight: send rate x callback
latency; 50/s x 60 s = 3,000 at the production limit, 50,000 is generous). The tracker holds only
the messages in flight plus an LRU of ``max_recent`` settled states, so its peak follows the lag,
not N. The baseline, measured in the same run, is the naive design: one dict entry per message
for the whole job. Numbers are tracemalloc peaks (Python allocations).

    python benchmarks/bench_tracker_memory.py                    # 1,000,000 messages, lag 50,000
    python benchmarks/bench_tracker_memory.py -n 200000 --lag 5000
"""

from __future__ import annotations

import argparse
import gc
import time
import tracemalloc

import anyio

from qlara_async.webhooks import Channel, DeliveryEvent, DeliveryTracker


def mid(i: int) -> str:
    # Real message ids are 36-character UUIDs; these have the same length.
    return f"{i:08d}-0000-4000-8000-000000000000"


def delivered(i: int) -> DeliveryEvent:
    return DeliveryEvent(channel=Channel.SMS, message_id=mid(i), status_code=3)


async def tracked_peak(n: int, lag: int, chunk: int) -> tuple[float, int, int]:
    tracker = DeliveryTracker(max_recent=10_000)
    job = tracker.job()
    gc.collect()
    tracemalloc.start()
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        job.track_many((mid(i), Channel.SMS) for i in range(start, stop))
        # Callbacks for the messages sent `lag` earlier arrive now.
        for i in range(max(0, start - lag), max(0, stop - lag)):
            tracker.observe(delivered(i))
    for i in range(max(0, n - lag), n):
        tracker.observe(delivered(i))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    report = await job.wait(timeout=0)
    return peak / 1e6, report.delivered, report.unknown


def naive_peak(n: int) -> float:
    gc.collect()
    tracemalloc.start()
    states = {mid(i): "DELIVERED" for i in range(n)}
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del states
    return peak / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000)
    parser.add_argument("--lag", type=int, default=50_000)
    parser.add_argument("--chunk", type=int, default=1_000)
    args = parser.parse_args()
    t0 = time.perf_counter()
    peak, delivered, unknown = anyio.run(tracked_peak, args.n, args.lag, args.chunk)
    elapsed = time.perf_counter() - t0
    baseline = naive_peak(args.n)
    print(f"messages {args.n:,}, callbacks lagging {args.lag:,} behind")
    print(
        f"tracker peak          {peak:8.1f} MB  (delivered {delivered:,}, unknown {unknown:,}; {elapsed:.1f} s)"
    )
    print(f"naive dict of all ids {baseline:8.1f} MB")
    print(f"ratio tracker/naive   {peak / baseline:8.2f}")
    assert delivered == args.n and unknown == 0


if __name__ == "__main__":
    main()
