"""Shared fixtures' helper for the simulator area tests: an httpx client for a simulator, in
process (ASGI) or over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from qlara_async.testing import Simulator, run_in_thread

KEY = {"X-Api-Key": "test-key"}


@asynccontextmanager
async def sim_client(sim: Simulator, mode: str) -> AsyncIterator[httpx.AsyncClient]:
    """``mode`` ``"asgi"`` (ASGITransport) or ``"http"`` (run_in_thread)."""
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


def assert_platform_error(r: httpx.Response, status: int, *words: str) -> None:
    """``r`` is ``status`` in the platform error format, its message containing ``words``."""
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"status", "error", "message", "timestamp", "path"}
    assert body["status"] == status
    for word in words:
        assert word in body["message"], body["message"]
