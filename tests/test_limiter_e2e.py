"""End to end over real HTTP on loopback: the client and its limiter against the simulator's four
server models (a scaled-down benchmark), with and without rate limit headers, and a 429 storm."""

from __future__ import annotations

import math
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
    """Wraps a limiter. After ``storm_after`` permits it starts the simulator's storm; at the
    first pause it remembers which permits were out, and how many requests had reached the
    server by the time the last of them came back (an ordinal in the arrival log, not a time)."""

    def __init__(self, inner: Limiter, sim: Simulator, storm_after: int) -> None:
        self.inner = inner
        self.sim = sim
        self.storm_after = storm_after
        self.out: set[int] = set()
        self.watched: set[int] | None = None
        self.back_at: int | None = None
        self._next = 0

    @property
    def paused_until(self) -> float:
        return self.inner.paused_until

    async def acquire(self, *, priority: bool = False, max_pause: float = math.inf) -> Permit:
        permit = await self.inner.acquire(priority=priority, max_pause=max_pause)
        self._next += 1
        if self._next == self.storm_after:
            self.sim.storm(2.0)
        return _WatchedPermit(self, self._next, permit)

    def pause(self, seconds: float) -> None:
        if self.watched is None:
            self.watched = set(self.out)
            if not self.watched:
                self.back_at = len(self.sim.arrivals)
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
        watch = self.watch
        watch.out.discard(self.ident)
        if watch.watched is not None and self.ident in watch.watched:
            watch.watched.discard(self.ident)
            if not watch.watched:
                # The last request that was out when the storm began is back.
                watch.back_at = len(watch.sim.arrivals)
        self.inner.release(status=status, headers=headers, sent=sent)


@pytest.mark.parametrize("limited", [True, False], ids=["rate-limit", "rate-limit-none"])
async def test_a_storm_of_429s_pauses_every_task(limited: bool) -> None:
    """During a 2 s storm, once the requests in flight are back, at most 3 requests reach the
    server and are refused before the storm's Retry-After ends; afterwards every message is
    accepted. Counted in the simulator's arrival log, not by the wall clock."""
    rate_limit = RateLimit((50, 0.5), (1000, 60.0))
    # Without a client-side limit the server must not refuse anything but the storm.
    sim = Simulator(rate_limit if limited else None, api_keys=["k"])
    inner: Limiter = LocalLimiter(rate_limit) if limited else NullLimiter()
    n = 150 if limited else 1500
    watch = _Watch(inner, sim, storm_after=n // 5)
    with run_in_thread(sim) as url:
        async with AsyncQlara(api_key="k", base_url=url, rate_limit=watch) as client:
            accepted = await _send_all(client, n, 16)
    assert accepted == n
    storm = [a for a in sim.arrivals if a.status == 429]
    assert storm, "the storm should have refused something"
    assert watch.back_at is not None
    # Refused after the pause was in force and everything out had come back: the client went
    # before the Retry-After ended.
    early = [a for a in sim.arrivals[watch.back_at :] if a.status == 429]
    assert len(early) <= 3
