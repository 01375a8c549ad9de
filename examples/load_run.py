"""A load run: the simulator as the server, a bulk job as the load, and what the server saw.

    python examples/load_run.py                      # 1,000 messages, production plan
    python examples/load_run.py 5000 --fault 0.05    # more, with 5% 503s

The simulator enforces the production plan (50/s, 1,000/min) per key like the real API and
counts every arrival; the client's limiter must keep the job at the plan's pace with no 429.
For a separate server process use ``qlara simulate --rate 50/1s,1000/60s --log arrivals.jsonl``
and point ``QLARA_BASE_URL`` at it.
"""

from __future__ import annotations

import argparse
import asyncio

from qlara_async import AsyncQlara, RateLimit, SmsMessage
from qlara_async.testing import Faults, Simulator, SimulatorServer


async def main(n: int, fault: float, rate: RateLimit) -> None:
    sim = Simulator(rate, faults=Faults(status_503=fault), seed=1)
    with SimulatorServer(sim) as server:
        # http_backend="aiohttp" (the `fast` extra) swaps in the faster transport.
        async with AsyncQlara(api_key="test-key", base_url=server.base_url, rate_limit=rate) as c:
            messages = (
                SmsMessage(destination=f"+39320{i:07d}", sender="Load", body=f"Test {i}")
                for i in range(n)
            )
            report = await c.bulk.run(messages, concurrency=64, total=n)
    arrivals = sim.arrival_report()
    print(f"{report.accepted}/{n} accepted in {report.elapsed:.1f}s ({report.throughput:.0f}/s)")
    print(
        f"server: {arrivals.requests} requests, {arrivals.rate_limited} answered 429,"
        f" {sim.stats.processed} messages processed, {sim.stats.duplicates} duplicates"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Load the simulator with a bulk job.")
    parser.add_argument("messages", type=int, nargs="?", default=1000)
    parser.add_argument("--fault", type=float, default=0.0, help="probability of a 503")
    parser.add_argument("--rate", type=int, default=0, help="a per-second limit instead")
    args = parser.parse_args()
    limit = RateLimit((args.rate, 1.0)) if args.rate else RateLimit.PRODUCTION
    asyncio.run(main(args.messages, args.fault, limit))
