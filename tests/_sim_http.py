"""One way to reach a simulator from a test: in-process (ASGI) or over real HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from qlara_async.testing import Simulator, run_in_thread

KEY = {"X-Api-Key": "test-key"}


@asynccontextmanager
async def sim_http(sim: Simulator, mode: str) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client for ``sim``: ``"asgi"`` through ASGITransport, ``"http"`` over a
    loopback server (``run_in_thread``)."""
    if mode == "asgi":
        transport = httpx.ASGITransport(sim)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sim/api", headers=KEY
        ) as http:
            yield http
    else:
        with run_in_thread(sim) as url:
            async with httpx.AsyncClient(base_url=url, headers=KEY) as http:
                yield http
