"""Benchmark: the Redis-shared limiter across processes, and its overhead beside the local one.

``share``: one simulator (real HTTP on loopback, in this process) and one throwaway
``redis-server``; ``--procs`` worker processes each send ``--n`` messages through their own
client, all sharing ``RedisLimiter(url, RATE, key=...)``. Printed per server model: the 429s the
server answered, the span from the first to the last admitted arrival, the best possible span
for ``procs * n`` requests (:func:`qlara_async.testing.best_completion_time`) and the
utilisation, best / span. ``--kill-redis-at S`` kills Redis ``S`` seconds into the run and
restarts it (empty) ``--outage`` seconds later; the run then also checks that every message
arrived exactly once.

``overhead``: per-request cost of ``acquire()`` + ``release()`` with no waiting (a rate limit
far above what is sent), the local limiter beside the Redis one on loopback.

    python benchmarks/bench_redis_limiter.py share                  # 3 x 1000, both models
    python benchmarks/bench_redis_limiter.py share --kill-redis-at 8 --outage 5
    python benchmarks/bench_redis_limiter.py overhead
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import threading
import time

from qlara_async import AsyncQlara, RateLimit
from qlara_async._limiter import Limiter, LocalLimiter
from qlara_async.redis import RedisLimiter
from qlara_async.redis.testing import redis_server
from qlara_async.testing import Simulator, best_completion_time, run_in_thread

RATE = RateLimit((50, 0.25), (1000, 15.0))


async def _child(url: str, redis_url: str, key: str, worker: int, n: int, conc: int) -> None:
    limiter = RedisLimiter(redis_url, RATE, key=key)
    failed = 0
    async with AsyncQlara(
        api_key="bench-key", base_url=url, rate_limit=limiter, max_retries=20
    ) as client:
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(n):
            queue.put_nowait(i)

        async def one() -> None:
            nonlocal failed
            while not queue.empty():
                i = queue.get_nowait()
                try:
                    await client.sms.send(
                        destination=f"+39{worker}{i:09d}", sender="Bench", body="hello"
                    )
                except Exception as exc:
                    failed += 1
                    print(f"worker {worker}: {type(exc).__name__}: {exc}", file=sys.stderr)

        await asyncio.gather(*(one() for _ in range(conc)))
    print(f"worker {worker}: failed={failed}", flush=True)


def _share(model: str, args: argparse.Namespace) -> bool:
    sim = Simulator(RATE, model=model, api_keys=["bench-key"])
    with redis_server() as server, run_in_thread(sim) as url:
        start = time.perf_counter()
        procs = [
            subprocess.Popen(
                [
                    sys.executable,
                    __file__,
                    "child",
                    url,
                    server.url,
                    f"bench-{model}",
                    str(w),
                    str(args.n),
                    str(args.concurrency),
                ]
            )
            for w in range(args.procs)
        ]
        outage = None
        if args.kill_redis_at is not None:

            def cut() -> None:
                time.sleep(args.kill_redis_at)
                server.stop()
                time.sleep(args.outage)
                server.start()

            outage = threading.Thread(target=cut)
            outage.start()
        codes = [p.wait() for p in procs]
        if outage is not None:
            outage.join()
        elapsed = time.perf_counter() - start
    report = sim.arrival_report()
    total = args.procs * args.n
    best = best_completion_time(model, RATE, total)
    util = best / report.span if report.span > 0 else float("nan")
    destinations = collections.Counter(m.destination for m in sim.processed)
    twice = sum(1 for c in destinations.values() if c > 1)
    missing = total - len(destinations)
    print(
        f"{model:<14} {report.rate_limited:>5} {report.admitted:>8} {elapsed:>8.2f}"
        f" {report.span:>8.2f} {best:>8.2f} {util:>6.3f}  exit={codes} twice={twice} missing={missing}",
        flush=True,
    )
    return report.rate_limited == 0 and not twice and not missing and not any(codes)


async def _overhead(limiter: Limiter, n: int) -> float:
    for _ in range(50):  # warm up (connection, script load)
        (await limiter.acquire()).release(status=200, headers={})
    start = time.perf_counter()
    for _ in range(n):
        permit = await limiter.acquire()
        permit.release(status=200, headers={})
    per = (time.perf_counter() - start) / n
    await limiter.aclose()
    return per


def _overhead_main(args: argparse.Namespace) -> None:
    huge = RateLimit((10**6, 1.0))
    local = asyncio.run(_overhead(LocalLimiter(huge), args.n))
    with redis_server() as server:
        shared = asyncio.run(_overhead(RedisLimiter(server.url, huge, key="overhead"), args.n))
    print(f"{args.n} acquire+release, no waiting, one task, Redis on loopback")
    print(f"  local limiter : {local * 1e6:9.1f} us per request")
    print(f"  redis limiter : {shared * 1e6:9.1f} us per request ({shared / local:.0f}x local)")


def main() -> int:
    """Run the benchmark; returns 1 when a shared run saw a 429 or lost a message."""
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        url, redis_url, key, worker, n, conc = sys.argv[2:8]
        asyncio.run(_child(url, redis_url, key, int(worker), int(n), int(conc)))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    share = sub.add_parser("share")
    share.add_argument("--procs", type=int, default=3)
    share.add_argument("--n", type=int, default=1000)
    share.add_argument("--concurrency", type=int, default=32)
    share.add_argument("--models", nargs="+", default=["sliding", "single_bucket"])
    share.add_argument("--kill-redis-at", type=float, default=None)
    share.add_argument("--outage", type=float, default=5.0)
    over = sub.add_parser("overhead")
    over.add_argument("--n", type=int, default=5000)
    args = parser.parse_args()
    if args.cmd == "overhead":
        _overhead_main(args)
        return 0
    print(f"{RATE!r}: {args.procs} processes x {args.n} sends, one RedisLimiter key")
    print(
        f"{'model':<14} {'429s':>5} {'admitted':>8} {'elapsed':>8} {'span':>8} {'best':>8} {'util':>6}"
    )
    results = [_share(model, args) for model in args.models]
    ok = all(results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
