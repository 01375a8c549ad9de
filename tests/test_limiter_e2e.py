"""End to end over real HTTP on loopback: the client and its limiter against the simulator's four
server models (a scaled-down benchmark), with and without rate limit headers, and a 429 storm."""

from __future__ import annotations

import time
from collections.abc import Mapping

import anyio
import pytest

from qlara_async import AsyncQlara, RateLimit
from qlara_async._limiter import Limiter, LocalLimiter, NullLimiter, Permit
from qlara_async.testing import MODELS, Simulator, run_in_thread

pytestmark = [pytest.mark.e2e, pytest.mark.anyio]

SMALL = RateLimit((20, 0.2), (100, 2.0))


@pytest.fixture
def anyio_backend() -> str:
    """asyncio only: the simulator's arrival times are time.monotonic(), asyncio's clock."""
    return "asyncio"


async def _send_all(client: AsyncQlara, n: int, concurrency: int) -> int:
    """Send ``n`` SMS from ``concurrency`` tasks; return how many were accepted."""
    accepted = 0
    todo = iter(range(n))

    async def worker() -> None:
        nonlocal accepted
        for i in todo:
            result = await client.sms.send(destination=f"+3932{i:08d}", sender="E2E", body="hi")
            accepted += result.accepted

    async with anyio.create_task_group() as tg:
        for _ in range(concurrency):
            tg.start_soon(worker)
    return accepted


@pytest.mark.parametrize(
    ("model", "headers"),
    [pytest.param(m, True, id=m) for m in MODELS]
    + [pytest.param("sliding", False, id="sliding-headers-off")],
)
async def test_zero_429s_on_every_server_model(model: str, headers: bool) -> None:
    """200 sends at concurrency 64 through rate_limit=RateLimit(...): the server never refuses."""
    sim = Simulator(SMALL, model=model, rate_limit_headers=headers, api_keys=["k"])
    with run_in_thread(sim) as url:
        async with AsyncQlara(api_key="k", base_url=url, rate_limit=SMALL) as client:
            accepted = await _send_all(client, 200, 64)
    assert sim.arrival_report().rate_limited == 0
    assert accepted == 200


class _Watch:
    """Wraps a limiter: once armed, remembers at the next pause which permits were out, and
    when the last of them came back."""

    def __init__(self, inner: Limiter) -> None:
        self.inner = inner
        self.out: set[int] = set()
        self.armed = False
        self.watched: set[int] | None = None
        self.back_at = 0.0
        self._next = 0

    async def acquire(self, *, priority: bool = False) -> Permit:
        permit = await self.inner.acquire(priority=priority)
        self._next += 1
        return _WatchedPermit(self, self._next, permit)

    def pause(self, seconds: float) -> None:
        if self.armed and self.watched is None:
            self.watched = set(self.out)
            self.back_at = time.monotonic()
        self.inner.pause(seconds)

    async def aclose(self) -> None:
        await self.inner.aclose()


class _WatchedPermit:
    def __init__(self, watch: _Watch, ident: int, inner: Permit) -> None:
        self.watch, self.ident, self.inner = watch, ident, inner
        watch.out.add(ident)

    def release(
        self,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        sent: bool = True,
    ) -> None:
        self.watch.out.discard(self.ident)
        if self.watch.watched is not None and self.ident in self.watch.watched:
            self.watch.back_at = max(self.watch.back_at, time.monotonic())
        self.inner.release(status=status, headers=headers, sent=sent)


@pytest.mark.parametrize("limited", [True, False], ids=["rate-limit", "rate-limit-none"])
async def test_a_storm_of_429s_pauses_every_task(limited: bool) -> None:
    """During a 2 s storm, once the requests in flight are back, at most 3 requests reach the
    server before the storm's Retry-After ends; afterwards every message is accepted."""
    rate_limit = RateLimit((50, 0.5), (1000, 60.0))
    # Without a client-side limit the server must not refuse anything but the storm.
    sim = Simulator(rate_limit if limited else None, api_keys=["k"])
    inner: Limiter = LocalLimiter(rate_limit) if limited else NullLimiter()
    watch = _Watch(inner)
    storm_end = 0.0
    n = 150 if limited else 1500

    async def storm_soon() -> None:
        nonlocal storm_end
        await anyio.sleep(0.2)
        watch.armed = True
        sim.storm(2.0)
        storm_end = time.monotonic() + 2.0  # the simulator's clock, too

    with run_in_thread(sim) as url:
        async with (
            AsyncQlara(api_key="k", base_url=url, rate_limit=watch) as client,
            anyio.create_task_group() as tg,
        ):
            tg.start_soon(storm_soon)
            accepted = await _send_all(client, n, 16)
    assert accepted == n
    storm = [a for a in sim.arrivals if a.status == 429]
    assert storm, "the storm should have refused something"
    assert watch.watched is not None
    early = [a for a in sim.arrivals if watch.back_at < a.time < storm_end]
    assert len(early) <= 3
