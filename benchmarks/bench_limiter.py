"""Benchmark: qlara_async's limiter against aiolimiter, on the simulator's four server models.

For each server model a fresh simulator is served over real HTTP on loopback (its own thread),
and a bulk of ``--n`` sends at ``--concurrency`` goes through the real client:

* ``qlara``: ``rate_limit=RateLimit(...)`` (the ``LocalLimiter``), using the server's headers;
* ``qlara/no-headers``: the same, with the simulator's ``X-RateLimit-*`` headers switched off;
* ``aiolimiter``: aiolimiter used naively, one ``AsyncLimiter`` per window, releases spaced by
  release time, no headers; the client's cooldown and retries still make every send complete.

Printed per run: 429s the server answered, the job's elapsed time, the span from the first to the
last admitted arrival, the best possible span for that model
(:func:`qlara_async.testing.best_completion_time`: a client that obeys both the model and its own
windows) and the utilisation, best ÷ actual span.

    python benchmarks/bench_limiter.py                 # full size: ~35 s per run, ~7 minutes
    python benchmarks/bench_limiter.py --quick         # scaled down: a smoke run, ~1 minute
    python benchmarks/bench_limiter.py --models sliding single_bucket --limiters qlara
"""

from __future__ import annotations

import argparse
import asyncio
import math
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from qlara_async import AsyncQlara, RateLimit
from qlara_async._limiter import Limiter, LocalLimiter, Permit
from qlara_async.testing import MODELS, Simulator, best_completion_time, run_in_thread

LIMITERS = ("qlara", "qlara/no-headers", "aiolimiter")
FULL = RateLimit((50, 0.25), (1000, 15.0))
QUICK = RateLimit((20, 0.2), (100, 2.0))


class _NoopPermit:
    def release(
        self,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        sent: bool = True,
    ) -> None:
        return None


class NaiveAioLimiter:
    """aiolimiter as most code uses it: one ``AsyncLimiter(N, P)`` per window, entered before
    each request. The client's 429 cooldown is honoured (else it could not finish at all)."""

    def __init__(self, rate_limit: RateLimit) -> None:
        self._limiters = [AsyncLimiter(n, p) for n, p in rate_limit.windows]
        self._paused_until = -math.inf

    @property
    def paused_until(self) -> float:
        return self._paused_until

    async def acquire(self, *, priority: bool = False, max_pause: float = math.inf) -> Permit:
        # Re-check after sleeping: another 429 may have extended the pause meanwhile.
        while (wait := self._paused_until - time.monotonic()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(wait)
        for limiter in self._limiters:
            await limiter.acquire()
        return _NoopPermit()

    def pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    async def aclose(self) -> None:
        return None


@dataclass
class Row:
    model: str
    limiter: str
    n: int
    rejected_429: int
    failed: int
    elapsed: float
    span: float
    best: float

    @property
    def utilisation(self) -> float:
        return self.best / self.span if self.span > 0 else math.nan


async def _run_one(
    model: str, limiter_name: str, rate_limit: RateLimit, n: int, concurrency: int
) -> Row:
    headers = limiter_name != "qlara/no-headers"
    sim = Simulator(rate_limit, model=model, rate_limit_headers=headers, api_keys=["bench-key"])
    limiter: Limiter
    if limiter_name == "aiolimiter":
        limiter = NaiveAioLimiter(rate_limit)
    else:
        limiter = LocalLimiter(rate_limit, use_headers=headers)
    failed = 0
    with run_in_thread(sim) as url:
        async with AsyncQlara(
            api_key="bench-key", base_url=url, rate_limit=limiter, max_retries=20
        ) as client:
            queue: asyncio.Queue[int] = asyncio.Queue()
            for i in range(n):
                queue.put_nowait(i)

            async def worker() -> None:
                nonlocal failed
                while True:
                    try:
                        i = queue.get_nowait()
                    except asyncio.QueueEmpty:
                        return
                    try:
                        await client.sms.send(
                            destination=f"+3932{i:08d}", sender="Bench", body="hello"
                        )
                    except Exception:
                        failed += 1

            start = time.perf_counter()
            await asyncio.gather(*(worker() for _ in range(concurrency)))
            elapsed = time.perf_counter() - start
    report = sim.arrival_report()
    return Row(
        model=model,
        limiter=limiter_name,
        n=n,
        rejected_429=report.rate_limited,
        failed=failed,
        elapsed=elapsed,
        span=report.span,
        best=best_completion_time(model, rate_limit, n),
    )


def _print(row: Row) -> None:
    print(
        f"{row.model:<14} {row.limiter:<17} {row.rejected_429:>6} {row.failed:>6} "
        f"{row.elapsed:>9.2f} {row.span:>9.2f} {row.best:>9.2f} {row.utilisation:>6.3f}",
        flush=True,
    )


async def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; returns 1 if our limiter saw a 429 (for CI use)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small windows and N: a smoke run")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--limiters", nargs="+", choices=LIMITERS, default=list(LIMITERS))
    parser.add_argument("--n", type=int, default=None, help="sends per run (default 2500)")
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args(argv)
    rate_limit = QUICK if args.quick else FULL
    n = args.n or (250 if args.quick else 2500)
    print(f"{rate_limit!r}, {n} sends at concurrency {args.concurrency}, real HTTP on loopback")
    print(
        f"{'model':<14} {'limiter':<17} {'429s':>6} {'failed':>6} "
        f"{'elapsed':>9} {'span':>9} {'best':>9} {'util':>6}"
    )
    bad = False
    for model in args.models:
        for name in args.limiters:
            row = await _run_one(model, name, rate_limit, n, args.concurrency)
            _print(row)
            if name != "aiolimiter" and row.rejected_429:
                bad = True
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
