"""Profile the single send and the bulk sender with pyinstrument, against the fast local server.

Prints, per case, pyinstrument's flat list of the functions where the most time is spent
(self time, library and dependencies), so the hot spots can be compared before and after a
change:

    python benchmarks/profile_hot_path.py                          # both backends, 1, 64, 512
    python benchmarks/profile_hot_path.py --backend aiohttp --concurrency 64 --top 25
"""

from __future__ import annotations

import argparse
import asyncio

from _common import FastServer, pin_to
from pyinstrument import Profiler

from qlara_async import AsyncQlara, SmsMessage


async def run(url: str, backend: str, mode: str, c: int, n: int) -> Profiler:
    msgs = [SmsMessage(destination=f"+3932{i:08d}", sender="Brand", body="Ciao") for i in range(n)]
    async with AsyncQlara(
        api_key="k", base_url=url, rate_limit=None, http_backend=backend
    ) as client:  # type: ignore[arg-type]
        await client.bulk.run(msgs[: c * 2], concurrency=c)  # warm up
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
        if mode == "bulk":
            await client.bulk.run(msgs, concurrency=c)
        else:
            it = iter(msgs)

            async def worker() -> None:
                for m in it:
                    await client.send(m)

            await asyncio.gather(*(worker() for _ in range(c)))
        profiler.stop()
    return profiler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", nargs="+", default=["httpx", "aiohttp"])
    parser.add_argument("--mode", nargs="+", default=["send", "bulk"])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 64, 512])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    pin_to(1)
    with FastServer() as url:
        for backend in args.backend:
            for mode in args.mode:
                for c in args.concurrency:
                    profiler = asyncio.run(run(url, backend, mode, c, args.n))
                    text = profiler.output_text(unicode=True, color=False, flat=True, show_all=True)
                    lines = [line for line in text.splitlines() if line.strip()]
                    body = [
                        line for line in lines if line[:1].isdigit() or line.lstrip()[:1].isdigit()
                    ]
                    print(f"\n### {mode}, {backend}, concurrency {c} ({args.n} sends)\n")
                    print("\n".join(body[: args.top]))


if __name__ == "__main__":
    main()
