"""Benchmark: sends per second with the limiter off, against a fast local server on its own core.

Loops, each at concurrency 1, 64 and 512 (``--concurrency``):

* raw ``httpx.AsyncClient.post`` (httpx's default pool: 20 idle connections kept; and with the
  library's pool limits, 100 kept alive: the fair baseline for the default client), raw ``aiohttp.ClientSession.post`` and raw
  ``httpx_aiohttp.HttpxAiohttpClient.post`` (openai-python's ``DefaultAioHttpClient`` stack):
  the same JSON body, no validation, no retries: the baselines;
* the library's single send (``client.send`` from ``concurrency`` tasks) and bulk sender
  (``client.bulk.run``), each on ``http_backend="httpx"`` and ``"aiohttp"``; and the bulk
  sender on ``http_client=HttpxAiohttpClient()``.

Every loop runs in ``--rounds`` interleaved chunks (loop A's chunk, loop B's, ... then again), so
a machine that gets busier halfway slows all of them alike; the table gives sends/s and ratios
to the raw loops measured in the same run. The server runs pinned to core 0, this process to
core 1 (``taskset``).

    python benchmarks/bench_throughput.py                  # 5,000 sends per loop at 64
    python benchmarks/bench_throughput.py --quick          # a smoke run
    python benchmarks/bench_throughput.py --concurrency 64 --n 5000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import httpx
import msgspec
from _common import FastServer, machine, pin_to
from httpx_aiohttp import HttpxAiohttpClient

from qlara_async import AsyncQlara, SmsMessage

KEY = "bench-key"
HEADERS = {"X-Api-Key": KEY, "Content-Type": "application/json"}

Loop = Callable[[int, int], Awaitable[None]]


def _messages(n: int) -> list[SmsMessage]:
    return [
        SmsMessage(destination=f"+3932{i:08d}", sender="Brand", body=f"Ciao {i}") for i in range(n)
    ]


async def _workers(n: int, c: int, one: Callable[[int], Awaitable[Any]]) -> None:
    """``n`` calls of ``one(i)`` from ``c`` tasks."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await one(i)

    await asyncio.gather(*(worker() for _ in range(min(c, n))))


async def _build(url: str) -> tuple[dict[str, Loop], list[Any]]:
    body = msgspec.json.encode(
        {"destination": "+393201234567", "sender": "Brand", "body": "Ciao", "messageId": "x"}
    )
    send_url = url + "/message/sms"
    # No pool timeout: at concurrency 512 a loaded machine keeps a request waiting for one of
    # the 100 pooled connections longer than httpx's default 5 s.
    hx = httpx.AsyncClient(timeout=httpx.Timeout(30.0, pool=None))
    # The same client with the library's pool limits (httpx keeps only 20 idle connections by
    # default: at concurrency 64 the plain loop above reconnects for most sends). The fair
    # baseline for the library's own client, which keeps up to 100.
    hx_pool = httpx.AsyncClient(
        timeout=httpx.Timeout(30.0, pool=None),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
    )
    aio = aiohttp.ClientSession()
    hxa = HttpxAiohttpClient(timeout=httpx.Timeout(30.0, pool=None))
    given = HttpxAiohttpClient(timeout=httpx.Timeout(30.0, pool=None))
    lib_hx = AsyncQlara(api_key=KEY, base_url=url, rate_limit=None)
    lib_aio = AsyncQlara(api_key=KEY, base_url=url, rate_limit=None, http_backend="aiohttp")
    lib_hxa = AsyncQlara(api_key=KEY, base_url=url, rate_limit=None, http_client=given)
    msgs = _messages(20_000)

    async def raw_httpx(n: int, c: int) -> None:
        async def one(i: int) -> None:
            r = await hx.post(send_url, content=body, headers=HEADERS)
            r.json()

        await _workers(n, c, one)

    async def raw_httpx_pool(n: int, c: int) -> None:
        async def one(i: int) -> None:
            r = await hx_pool.post(send_url, content=body, headers=HEADERS)
            r.json()

        await _workers(n, c, one)

    async def raw_aiohttp(n: int, c: int) -> None:
        async def one(i: int) -> None:
            async with aio.post(send_url, data=body, headers=HEADERS) as r:
                await r.json()

        await _workers(n, c, one)

    async def raw_httpx_aiohttp(n: int, c: int) -> None:
        async def one(i: int) -> None:
            r = await hxa.post(send_url, content=body, headers=HEADERS)
            r.json()

        await _workers(n, c, one)

    def single(client: AsyncQlara) -> Loop:
        async def loop(n: int, c: int) -> None:
            await _workers(n, c, lambda i: client.send(msgs[i % len(msgs)]))

        return loop

    def bulk(client: AsyncQlara) -> Loop:
        async def loop(n: int, c: int) -> None:
            report = await client.bulk.run(
                msgs[:n] if n <= len(msgs) else _messages(n), concurrency=c
            )
            assert report.accepted == n, report

        return loop

    loops: dict[str, Loop] = {
        "raw httpx": raw_httpx,
        "raw httpx, keep-alive 100": raw_httpx_pool,
        "raw aiohttp": raw_aiohttp,
        "raw httpx-aiohttp": raw_httpx_aiohttp,
        "send, httpx": single(lib_hx),
        "send, aiohttp": single(lib_aio),
        "bulk, httpx": bulk(lib_hx),
        "bulk, aiohttp": bulk(lib_aio),
        "bulk, http_client=httpx-aiohttp": bulk(lib_hxa),
    }
    return loops, [hx, hx_pool, aio, hxa, lib_hx, lib_aio, lib_hxa, given]


async def _close(clients: list[Any]) -> None:
    for client in clients:
        await (client.close() if isinstance(client, aiohttp.ClientSession) else client.aclose())


async def measure(
    url: str, c: int, n: int, rounds: int, only: list[str] | None
) -> dict[str, float]:
    loops, clients = await _build(url)
    if only:
        loops = {k: v for k, v in loops.items() if k in only or k.startswith("raw")}
    try:
        for loop in loops.values():  # warm up: connections, caches
            await loop(min(c * 2, 200), c)
        spent = dict.fromkeys(loops, 0.0)
        chunk = max(1, n // rounds)
        for _ in range(rounds):
            for name, loop in loops.items():
                start = time.perf_counter()
                await loop(chunk, c)
                spent[name] += time.perf_counter() - start
        return {name: chunk * rounds / seconds for name, seconds in spent.items()}
    finally:
        await _close(clients)


def table(c: int, n: int, rates: dict[str, float]) -> str:
    hx, aio, hxa = rates["raw httpx"], rates["raw aiohttp"], rates["raw httpx-aiohttp"]
    lines = [
        f"\n**concurrency {c}**, {n} sends per loop, limiter off\n",
        "| loop | sends/s | x raw httpx | x raw aiohttp | x raw httpx-aiohttp |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, rate in rates.items():
        lines.append(
            f"| {name} | {rate:,.0f} | {rate / hx:.2f} | {rate / aio:.2f} | {rate / hxa:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64, 512])
    parser.add_argument("--n", type=int, default=5000, help="sends per loop at concurrency > 1")
    parser.add_argument("--n1", type=int, default=1000, help="sends per loop at concurrency 1")
    parser.add_argument(
        "--n512", type=int, default=None, help="sends per loop at concurrency >= 512"
    )
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="library loops to run (raw ones always run)")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.n, args.n1, args.rounds = 600, 200, 2
    pinned = pin_to(1)
    print("## Throughput, limiter off\n")
    print(machine())
    print(
        f"\nServer: a bare asyncio HTTP/1.1 responder{' pinned to core 0, client to core 1' if pinned else ''};"
        f" {args.rounds} interleaved rounds per loop."
    )
    with FastServer() as url:
        for c in args.concurrency:
            n = args.n1 if c == 1 else (args.n512 or args.n) if c >= 512 else args.n
            print(table(c, n, asyncio.run(measure(url, c, n, args.rounds, args.only))), flush=True)


if __name__ == "__main__":
    main()
