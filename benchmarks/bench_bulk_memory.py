"""Peak RSS of a bulk job does not grow with the job's size.

Sends 20,000 and then 200,000 messages from a generator through ``client.bulk.run`` over
``httpx.MockTransport`` with client-side limiting off (``rate_limit=None``), each size in a fresh
subprocess so its peak RSS is its own, and checks that the larger job's peak is at most 25 MB
above the smaller one's.

    python benchmarks/bench_bulk_memory.py                 # 20,000 vs 200,000, concurrency 32
    python benchmarks/bench_bulk_memory.py --journal       # the same with a SQLite journal
    python benchmarks/bench_bulk_memory.py --sizes 1000 10000
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

from qlara_async.models import SmsMessage

LIMIT_MB = 25.0


def child(n: int, concurrency: int, journal: str | None) -> None:
    import anyio
    import httpx
    import msgspec

    from qlara_async import AsyncQlara

    decode = msgspec.json.Decoder().decode
    encode = msgspec.json.Encoder().encode

    def handler(request: httpx.Request) -> httpx.Response:
        mid = decode(request.content)["messageId"]
        body = encode({"messageId": mid, "results": {"sms": {"accepted": True, "parts": 1}}})
        return httpx.Response(200, content=body, headers={"Content-Type": "application/json"})

    def messages() -> Iterator[SmsMessage]:
        for i in range(n):
            yield SmsMessage(
                destination=f"+39{3200000000 + i}",
                sender="Brand",
                body="Ciao {nome}",
                placeholders={"nome": f"user{i}"},
            )

    async def main() -> dict[str, float]:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with AsyncQlara(
            api_key="k", base_url="https://api.test/api", rate_limit=None, http_client=http
        ) as client:
            started = time.perf_counter()
            report = await client.bulk.run(messages(), concurrency=concurrency, journal=journal)
            took = time.perf_counter() - started
        await http.aclose()
        assert report.accepted == n, report
        return {"n": n, "seconds": took, "rate": n / took}

    out = anyio.run(main)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out))


def run_child(n: int, concurrency: int, journal: bool) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        args = [sys.executable, __file__, "--child", str(n), "--concurrency", str(concurrency)]
        if journal:
            args += ["--journal-path", os.path.join(tmp, "job.sqlite")]
        done = subprocess.run(args, capture_output=True, text=True, check=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[20_000, 200_000])
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--journal", action="store_true", help="journal to a SQLite file")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--journal-path", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.concurrency, args.journal_path)
        return 0

    small, large = (run_child(n, args.concurrency, args.journal) for n in args.sizes)
    for r in (small, large):
        print(
            f"{int(r['n']):>9,} messages: peak RSS {r['peak_rss_mb']:7.1f} MB,"
            f" {r['seconds']:6.1f} s, {r['rate']:7.0f} msg/s"
        )
    growth = large["peak_rss_mb"] - small["peak_rss_mb"]
    verdict = "OK" if growth <= LIMIT_MB else "FAIL"
    print(
        f"growth: {growth:+.1f} MB for {args.sizes[1] // args.sizes[0]}x the messages"
        f" (limit {LIMIT_MB:.0f} MB, concurrency {args.concurrency},"
        f" journal {'on' if args.journal else 'off'}): {verdict}"
    )
    return 0 if growth <= LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
