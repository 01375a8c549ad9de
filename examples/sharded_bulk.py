"""One bulk job spread over several worker processes, sharing one rate limit through Redis.

    python examples/sharded_bulk.py                          # 3 workers, 3,000 messages
    python examples/sharded_bulk.py --kill-one-at 5          # SIGKILL a worker 5 s in
    python examples/sharded_bulk.py --redis redis://host:6379/0 --workers 4

Without ``--redis`` a throwaway redis-server is started (``qlara_async.redis.testing``). The
messages go to the embedded simulator (real HTTP on loopback). Each worker process runs::

    limiter = RedisLimiter(redis_url, RATE, key="example-key")
    async with AsyncQlara(api_key=..., base_url=..., rate_limit=limiter) as client:
        await ShardedJob(redis_url, "example-job", shards=12, journal_dir=...).run(client, make_messages)

At the end the simulator's log is checked: every message processed exactly once, no 429.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

from qlara_async import AsyncQlara, RateLimit
from qlara_async.models import SmsMessage
from qlara_async.redis import RedisLimiter, ShardedJob
from qlara_async.redis.testing import redis_server
from qlara_async.testing import Simulator, run_in_thread

RATE = RateLimit((50, 0.25), (1000, 15.0))


def make_messages(n: int) -> Iterator[SmsMessage]:
    """The whole input, the same in every worker (a CSV read, a query...)."""
    for i in range(n):
        yield SmsMessage(destination=f"+3932{i:08d}", sender="MyBrand", body="Ciao!")


async def worker(url: str, redis_url: str, journal_dir: str, n: int, shards: int) -> None:
    limiter = RedisLimiter(redis_url, RATE, key="example-key", lease=5.0)
    job = ShardedJob(redis_url, "example-job", shards, journal_dir=journal_dir, lease=5.0)
    async with AsyncQlara(api_key="example-key", base_url=url, rate_limit=limiter) as client:
        reports = await job.run(client, lambda: make_messages(n), concurrency=32)
    accepted = sum(r.accepted for r in reports)
    print(f"worker done: {len(reports)} shards, {accepted} accepted", flush=True)


def main() -> int:
    if len(sys.argv) > 1 and sys.argv[1] == "worker":
        url, redis_url, journal_dir, n, shards = sys.argv[2:7]
        asyncio.run(worker(url, redis_url, journal_dir, int(n), int(shards)))
        return 0
    parser = argparse.ArgumentParser(description="A bulk job over several worker processes.")
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--shards", type=int, default=12)
    parser.add_argument("--redis", help="a Redis URL (default: start a throwaway server)")
    parser.add_argument("--kill-one-at", type=float, help="SIGKILL the first worker after S s")
    args = parser.parse_args()
    sim = Simulator(RATE, api_keys=["example-key"])
    with contextlib.ExitStack() as stack:
        redis_url = args.redis or stack.enter_context(redis_server()).url
        url = stack.enter_context(run_in_thread(sim))
        journal_dir = stack.enter_context(tempfile.TemporaryDirectory())
        start = time.perf_counter()
        cmd = [sys.executable, __file__, "worker", url, redis_url, journal_dir]
        procs = [
            subprocess.Popen([*cmd, str(args.n), str(args.shards)]) for _ in range(args.workers)
        ]
        if args.kill_one_at is not None:
            time.sleep(args.kill_one_at)
            procs[0].send_signal(signal.SIGKILL)
            print(f"killed worker pid {procs[0].pid} at {args.kill_one_at}s", flush=True)
        codes = [p.wait() for p in procs]
        elapsed = time.perf_counter() - start
    counts = collections.Counter(m.destination for m in sim.processed)
    twice = sum(1 for c in counts.values() if c > 1)
    missing = args.n - len(counts)
    report = sim.arrival_report()
    print(
        f"{len(counts)} of {args.n} processed, {twice} twice, {missing} missing,"
        f" {report.rate_limited} 429s, {elapsed:.1f}s, exit codes {codes}"
    )
    return 0 if not twice and not missing and not report.rate_limited else 1


if __name__ == "__main__":
    sys.exit(main())
