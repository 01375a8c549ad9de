"""Benchmark: the library's own CPU cost per request, over ``httpx.MockTransport`` (no network).

One send, sequentially, many times, CPU time (``time.process_time``) per call in µs:

* ``raw post``: ``httpx.AsyncClient.post`` of the same JSON bytes on the same mock transport (the
  baseline: httpx's own client layer);
* ``client.send``: the library's whole path (validation, messageId, encode, limiter, retry
  bookkeeping, httpx, bounded read, decode, result); its overhead is the difference;
* its layers alone: prepare (validate + id + encode), decode, limiter acquire+release (off, and a
  ``RateLimit`` far from its limits).

Fair by construction: the raw post goes over the same transport to the same URL with the same
bytes and the same headers the library sends (its User-Agent, Accept, Accept-Encoding,
Content-Type and key), gets the same response and reads the whole body. Every case is warmed up,
then measured in interleaved rounds; the table gives the median per-call figure of the rounds.

    python benchmarks/bench_overhead.py [--n 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import httpx
from _common import SEND_OK, machine

from qlara_async import AsyncQlara, RateLimit, SmsMessage
from qlara_async._limiter import LocalLimiter, NullLimiter
from qlara_async.models import decode_send_result, prepare_message

MESSAGE = SmsMessage(
    destination="+393201234567", sender="Brand", body="Ciao {nome}", placeholders={"nome": "Marco"}
)
RESPONSE_HEADERS = {"content-type": "application/json"}


def _handler(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=SEND_OK, headers=RESPONSE_HEADERS)


async def _per_call(n: int, one: Callable[[], Awaitable[object]]) -> float:
    start = time.process_time()
    for _ in range(n):
        await one()
    return (time.process_time() - start) / n * 1e6


async def measure(n: int, rounds: int) -> dict[str, float]:
    transport = httpx.MockTransport(_handler)
    raw = httpx.AsyncClient(transport=transport)
    client = AsyncQlara(
        api_key="k",
        base_url="https://api.test/api",
        rate_limit=None,
        http_client=httpx.AsyncClient(transport=transport),
    )
    limited = AsyncQlara(
        api_key="k",
        base_url="https://api.test/api",
        rate_limit=RateLimit((10**9, 1.0)),
        http_client=httpx.AsyncClient(transport=transport),
    )
    body = prepare_message(MESSAGE).content
    # What the library sends: its fixed headers, the key (its auth adds it) and the JSON type.
    headers = {
        **client._static_headers,
        "X-Api-Key": "k",
        "Content-Type": "application/json",
    }
    null, local = NullLimiter(), LocalLimiter(RateLimit((10**9, 1.0)))

    async def raw_post() -> None:
        r = await raw.post("https://api.test/api/message/sms", content=body, headers=headers)
        assert r.content

    async def prepare() -> None:
        prepare_message(MESSAGE)

    async def decode() -> None:
        decode_send_result(SEND_OK)

    async def null_limiter() -> None:
        (await null.acquire()).release(status=200)

    async def local_limiter() -> None:
        (await local.acquire()).release(status=200)

    cases: dict[str, Callable[[], Awaitable[object]]] = {
        "raw post (httpx, baseline)": raw_post,
        "client.send, limiter off": lambda: client.send(MESSAGE),
        "client.send, RateLimit far from its limits": lambda: limited.send(MESSAGE),
        "prepare: validate + messageId + encode": prepare,
        "decode the response": decode,
        "limiter off: acquire + release": null_limiter,
        "LocalLimiter: acquire + release": local_limiter,
    }
    runs: dict[str, list[float]] = {name: [] for name in cases}
    for one in cases.values():
        await _per_call(min(n, 1000), one)  # warm up
    for _ in range(rounds):
        for name, one in cases.items():
            runs[name].append(await _per_call(n // rounds, one))
    await raw.aclose()
    await client.aclose()
    await limited.aclose()
    return {name: statistics.median(values) for name, values in runs.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    best = asyncio.run(measure(args.n, args.rounds))
    raw = best["raw post (httpx, baseline)"]
    print("## The library's own cost per request (httpx.MockTransport, sequential, CPU time)\n")
    print(machine())
    print("\n| what | µs per call | over raw post |\n|---|---:|---:|")
    for name, us in best.items():
        over = f"{us - raw:+.1f}" if name.startswith(("client", "raw")) else ""
        print(f"| {name} | {us:.1f} | {over} |")
    print(
        f"\n**Library overhead per send (limiter off): {best['client.send, limiter off'] - raw:.1f} µs**"
        " (client.send minus the raw httpx post on the same transport)"
    )


if __name__ == "__main__":
    main()
