"""Benchmark: the library's own CPU cost per request, over ``httpx.MockTransport`` (no network).

One send, sequentially, many times, CPU time (``time.process_time``) per call in µs:

* ``raw post``: ``httpx.AsyncClient.post`` of the same JSON bytes on the same mock transport (the
  issue's baseline: what a hand-written loop on httpx costs);
* ``httpx floor``: the least any client does on this transport: build an ``httpx.Request`` from
  a parsed URL, hand it to the transport, read the response;
* ``client.send``: the library's whole path (validation, messageId, encode, limiter, retry
  bookkeeping, request building, auth, deadline scope, bounded read, decode, result);
* its layers alone: prepare (validate + id + encode), decode, limiter acquire+release (off, and a
  ``RateLimit`` far from its limits).

Two overheads are printed: ``client.send`` minus the raw post (negative: the library's path is
cheaper than a hand-written httpx loop, because it goes around ``AsyncClient.send``'s layers and
builds requests from per-URL templates), and ``client.send`` minus the httpx floor, which charges
the library for everything it does beyond the bare minimum (its own layers).

Fair by construction: every case goes over the same transport to the same URL with the same
bytes and the same headers the library sends (its User-Agent, Accept, Accept-Encoding,
Content-Type and key) and reads the whole body. Every case is warmed up, then measured in
interleaved rounds (each round runs every case once, back to back); an overhead is the median
over rounds of the per-round difference, so a slow patch of the machine hits both sides of a
difference alike. The spread (the middle half of the rounds) is printed next to it.

    python benchmarks/bench_overhead.py [--n 40000] [--rounds 40]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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


RAW = "raw post (httpx.AsyncClient.post)"
FLOOR = "httpx floor: Request + transport + read"
SEND = "client.send, limiter off"
LIMITED = "client.send, RateLimit far from its limits"
COUNTED = (RAW, FLOOR, SEND, LIMITED)
"""The cases ``--instructions`` counts."""


async def make_cases() -> tuple[dict[str, Callable[[], Awaitable[object]]], list[Any]]:
    """Every case, and the clients to close after."""
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
    url = "https://api.test/api/message/sms"
    parsed = httpx.URL(url)
    null, local = NullLimiter(), LocalLimiter(RateLimit((10**9, 1.0)))

    async def raw_post() -> None:
        r = await raw.post(url, content=body, headers=headers)
        assert r.content

    async def floor() -> None:
        request = httpx.Request("POST", parsed, content=body, headers=headers)
        response = await transport.handle_async_request(request)
        assert await response.aread()

    async def prepare() -> None:
        prepare_message(MESSAGE)

    async def decode() -> None:
        decode_send_result(SEND_OK)

    async def null_limiter() -> None:
        (await null.acquire()).release(status=200)

    async def local_limiter() -> None:
        (await local.acquire()).release(status=200)

    cases: dict[str, Callable[[], Awaitable[object]]] = {
        RAW: raw_post,
        FLOOR: floor,
        SEND: lambda: client.send(MESSAGE),
        LIMITED: lambda: limited.send(MESSAGE),
        "prepare: validate + messageId + encode": prepare,
        "decode the response": decode,
        "limiter off: acquire + release": null_limiter,
        "LocalLimiter: acquire + release": local_limiter,
    }
    return cases, [raw, client, limited]


async def measure(n: int, rounds: int) -> dict[str, list[float]]:
    """Per-call µs of every case, one figure per round."""
    cases, clients = await make_cases()
    runs: dict[str, list[float]] = {name: [] for name in cases}
    for one in cases.values():
        await _per_call(min(n, 2000), one)  # warm up
    for _ in range(rounds):
        for name, one in cases.items():
            runs[name].append(await _per_call(max(1, n // rounds), one))
    for client in clients:
        await client.aclose()
    return runs


async def _run_one(case: str, calls: int) -> None:
    """``--one``: warm up, then ``calls`` calls of one case (what ``--instructions`` counts)."""
    cases, clients = await make_cases()
    one = cases[case]
    await _per_call(500, one)
    await _per_call(calls, one)
    for client in clients:
        await client.aclose()


def _instructions(case: str, calls: int) -> int:
    """Instructions executed by a whole ``--one`` run under valgrind (callgrind)."""
    done = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            "--callgrind-out-file=/dev/null",
            sys.executable,
            __file__,
            "--one",
            case,
            "--calls",
            str(calls),
        ],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "0"},
    )
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from valgrind: {done.stderr[-500:]}")
    return int(found.group(1))


def count_instructions(calls: int) -> dict[str, float]:
    """Instructions per call of each case in ``COUNTED``: the difference between a run of
    ``2 * calls`` and one of ``calls`` (start-up, imports and warm-up cancel out), divided by
    ``calls``. Deterministic to a fraction of a percent: no other process can disturb it."""
    jobs = [(case, n) for case in COUNTED for n in (calls, 2 * calls)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        totals = dict(zip(jobs, pool.map(lambda job: _instructions(*job), jobs), strict=True))
    return {case: (totals[case, 2 * calls] - totals[case, calls]) / calls for case in COUNTED}


def _spread(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4)
    return median, q1, q3


def _difference(
    runs: dict[str, list[float]], case: str, baseline: str
) -> tuple[float, float, float]:
    return _spread([a - b for a, b in zip(runs[case], runs[baseline], strict=True)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=40_000, help="calls per case, all rounds")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument(
        "--instructions",
        action="store_true",
        help="also count instructions per call under valgrind (a few minutes)",
    )
    parser.add_argument("--calls", type=int, default=2000, help="calls per --instructions run")
    parser.add_argument("--one", choices=COUNTED, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        asyncio.run(_run_one(args.one, args.calls))
        return
    runs = asyncio.run(measure(args.n, args.rounds))
    print("## The library's own cost per request (httpx.MockTransport, sequential, CPU time)\n")
    print(machine())
    print(
        f"\n{args.rounds} interleaved rounds of {max(1, args.n // args.rounds)} calls per case;"
        " medians over rounds, the middle half of the rounds in brackets.\n"
    )
    print("| what | µs per call | over raw post | over httpx floor |\n|---|---:|---:|---:|")
    for name, values in runs.items():
        median, q1, q3 = _spread(values)
        over_raw = over_floor = ""
        if name.startswith("client") or name == FLOOR:
            over_raw = "{:+.1f} [{:+.1f}, {:+.1f}]".format(*_difference(runs, name, RAW))
        if name.startswith("client"):
            over_floor = "{:+.1f} [{:+.1f}, {:+.1f}]".format(*_difference(runs, name, FLOOR))
        print(f"| {name} | {median:.1f} [{q1:.1f}, {q3:.1f}] | {over_raw} | {over_floor} |")
    vs_raw = _difference(runs, SEND, RAW)[0]
    vs_floor = _difference(runs, SEND, FLOOR)[0]
    print(
        f"\n**Library overhead per send (limiter off): {vs_raw:+.1f} µs over a raw httpx post,"
        f" {vs_floor:+.1f} µs over the httpx floor** (client.send minus each, paired by round;"
        " the second is everything the library does beyond building, sending and reading one"
        " request)"
    )
    if args.instructions:
        if shutil.which("valgrind") is None:
            print("\n(valgrind is not installed: no instruction counts)")
            return
        counts = count_instructions(args.calls)
        # µs per instruction, from the raw post's time in the timed run above.
        scale = statistics.median(runs[RAW]) / counts[RAW]
        print(
            "\n### Instructions per call (valgrind callgrind; noise-free)\n\n"
            f"{args.calls} and {2 * args.calls} calls per case, the difference divided by"
            f" {args.calls}; µs at the raw post's measured rate ({scale * 1000:.3f} µs per 1,000"
            " instructions).\n"
        )
        print("| what | instructions per call | over raw post | over httpx floor |")
        print("|---|---:|---:|---:|")
        for name in COUNTED:
            over_raw = over_floor = ""
            if name != RAW:
                d = counts[name] - counts[RAW]
                over_raw = f"{d:+,.0f} ({d * scale:+.1f} µs)"
            if name.startswith("client"):
                d = counts[name] - counts[FLOOR]
                over_floor = f"{d:+,.0f} ({d * scale:+.1f} µs)"
            print(f"| {name} | {counts[name]:,.0f} | {over_raw} | {over_floor} |")
        d_raw, d_floor = counts[SEND] - counts[RAW], counts[SEND] - counts[FLOOR]
        print(
            f"\n**By instruction count (limiter off): {d_raw * scale:+.1f} µs over a raw httpx"
            f" post, {d_floor * scale:+.1f} µs over the httpx floor**"
        )


if __name__ == "__main__":
    main()
