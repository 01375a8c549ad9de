"""Benchmark: memory per send in flight, on each backend.

``--n`` sends are started at once against a loopback server that reads each request and never
answers; when all have arrived, the Python heap that grew since before them (``tracemalloc``),
divided by ``--n``, is the cost of one send in flight (its task, request, connection and
buffers). Long jobs' memory is ``bench_bulk_memory.py``'s.

    python benchmarks/bench_inflight_memory.py [--n 500]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import tracemalloc

import httpx
from _common import machine

from qlara_async import AsyncQlara, RetryPolicy, SmsMessage
from qlara_async._pool import PoolShards, _ssl_context


async def measure(backend: str, n: int) -> float:
    arrived = 0
    enough = asyncio.Event()
    stop = asyncio.Event()
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal arrived
        writers.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        arrived += 1
        if arrived == n:
            enough.set()
        await stop.wait()  # never answer
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=4096)
    port = server.sockets[0].getsockname()[1]
    messages = [
        SmsMessage(destination=f"+3932{i:08d}", sender="Brand", body="Ciao") for i in range(n)
    ]
    client = AsyncQlara(
        api_key="k",
        base_url=f"http://127.0.0.1:{port}/api",
        rate_limit=None,
        http_backend=backend,  # type: ignore[arg-type]
        retry_policy=RetryPolicy(max_retries=0),
    )
    if backend == "aiohttp":
        client._transport.reserve_connections(n)
    else:  # the default pool holds 100: give httpx room for every send too
        client._http._transport = PoolShards(
            httpx.Limits(max_connections=n, max_keepalive_connections=n),
            ssl_context=_ssl_context(),
        )
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    tasks = [asyncio.create_task(client.send(m)) for m in messages]
    await asyncio.wait_for(enough.wait(), 120)
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await client.aclose()
    stop.set()
    server.close()
    await server.wait_closed()
    return grown / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=500)
    args = parser.parse_args()
    print("## Memory per send in flight\n")
    print(machine())
    print(f"\n{args.n} sends in flight at once (tracemalloc, Python heap)\n")
    print("| backend | KiB per send in flight |\n|---|---:|")
    for backend in ("httpx", "aiohttp"):
        per = asyncio.run(measure(backend, args.n))
        print(f"| {backend} | {per / 1024:.1f} |")


if __name__ == "__main__":
    main()
