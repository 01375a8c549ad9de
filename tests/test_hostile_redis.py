"""Hostile review of the shared limiter and sharded jobs (issue 11): each test is a confirmed
defect and fails on the code under review. Real redis-server (asyncio only: redis-py)."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from qlara_async import AsyncQlara, QlaraError, RateLimit
from qlara_async.models import SmsMessage
from qlara_async.redis import RedisLimiter, ShardedJob
from qlara_async.redis.testing import RedisServer
from qlara_async.testing import Simulator, run_in_thread

pytest.importorskip("redis")

from .test_redis_limiter import key, own_server, server  # noqa: F401

SECRET = "s3cretpw"


def _messages(n: int) -> Iterator[SmsMessage]:
    for i in range(n):
        yield SmsMessage(destination=f"+3932{i:08d}", sender="B", body="x")


async def _inflight(url: str, k: str) -> int:
    import redis.asyncio as aioredis

    r = aioredis.Redis.from_url(url)
    try:
        return sum(int(v) for v in (await r.hgetall(f"qlara:{{{k}}}:inflight")).values())
    finally:
        await r.aclose()


# -- loss: a cancelled shard is marked done -------------------------------------------------


@pytest.mark.asyncio
async def test_cancelled_worker_does_not_mark_its_partial_shard_done(
    server: RedisServer,  # noqa: F811
    key: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    # task.cancel() (asyncio.timeout, arq's job_timeout, Ctrl-C under asyncio.run) stops
    # bulk.run in order and it *returns* a stopped report; run_shard marks the shard done
    # anyway, so its not-sent messages are never sent by anyone.
    n = 40
    rate = RateLimit((20, 1.0))
    sim = Simulator(rate, api_keys=["k"])
    with run_in_thread(sim) as url:
        async with AsyncQlara(api_key="k", base_url=url, rate_limit=rate) as client:
            job = ShardedJob(server.url, key, 1, journal_dir=tmp_path)
            started = asyncio.Event()
            outcomes = 0

            def seen(_: object) -> None:
                nonlocal outcomes
                outcomes += 1
                if outcomes == 10:
                    started.set()

            task = asyncio.ensure_future(job.run(client, lambda: _messages(n), on_outcome=seen))
            await asyncio.wait_for(started.wait(), 30)  # mid-shard
            task.cancel()
            try:
                await task  # (today it returns normally: the cancellation is swallowed)
            except BaseException:
                pass
        async with AsyncQlara(api_key="k", base_url=url, rate_limit=rate) as client:
            other = ShardedJob(server.url, key, 1, journal_dir=tmp_path, poll_interval=0.05)
            await asyncio.wait_for(other.run(client, lambda: _messages(n)), 60)
    counts = collections.Counter(m.destination for m in sim.processed)
    assert len(counts) == n, f"{n - len(counts)} messages never sent"


# -- leaks and crashes in acquire -----------------------------------------------------------


@pytest.mark.asyncio
async def test_native_cancel_of_acquire_leaks_no_slot(
    server: RedisServer,  # noqa: F811
    key: str,  # noqa: F811
) -> None:
    # The reservation is shielded from anyio scopes only: asyncio's task.cancel() (wait_for,
    # asyncio.timeout, TaskGroup) lands while the script's reply is on its way, the slot is
    # granted in Redis and never given back (the heartbeat keeps it for ever).
    limiter = RedisLimiter(server.url, RateLimit((1000, 1.0)), key=key)
    for i in range(120):
        task = asyncio.ensure_future(limiter.acquire())
        for _ in range(i % 7):
            await asyncio.sleep(0)
        task.cancel()
        try:
            (await task).release(status=None, sent=False)
        except asyncio.CancelledError:
            pass
    if limiter._reservation is not None:  # the last one may still be landing
        await asyncio.wait({limiter._reservation})
    await limiter._flush()
    assert await _inflight(server.url, key) == 0
    await limiter.aclose()


@pytest.mark.asyncio
async def test_leaked_slots_hang_every_worker(
    server: RedisServer,  # noqa: F811
    key: str,  # noqa: F811
) -> None:
    rate = RateLimit((2, 0.2))
    a = RedisLimiter(server.url, rate, key=key)
    original = a._call
    slow = asyncio.Event()
    granted = asyncio.Event()

    async def call(script: Any, args: list[Any]) -> list[Any]:
        reply = await original(script, args)
        if script is a._reserve:
            granted.set()
            await slow.wait()  # the reply is slow to come back ...
        return reply

    a._call = call  # type: ignore[method-assign]
    for i in range(2):
        task = asyncio.ensure_future(a.acquire())
        if i == 0:
            await asyncio.wait_for(granted.wait(), 10)
        else:  # (waits behind the first reservation, still landing)
            for _ in range(5):
                await asyncio.sleep(0)
        task.cancel()  # ... and asyncio.wait_for gives up meanwhile
        with pytest.raises(asyncio.CancelledError):
            await task
    b = RedisLimiter(server.url, rate, key=key)
    (await asyncio.wait_for(b.acquire(), 5)).release(status=200, headers={})
    slow.set()
    await a.aclose()
    await b.aclose()


@pytest.mark.asyncio
async def test_priority_acquire_during_a_reservation_does_not_crash_or_leak(
    server: RedisServer,  # noqa: F811
    key: str,  # noqa: F811
) -> None:
    # A 429's retry (priority=True) arrives while the head's reservation is on the wire: the
    # retry's burst grant pops the head, then the head's own 'ok' pops an empty deque.
    limiter = RedisLimiter(server.url, RateLimit((100, 1.0)), key=key)
    original = limiter._call
    gate = asyncio.Event()
    at_gate = asyncio.Event()
    first = True

    async def call(script: Any, args: list[Any]) -> list[Any]:
        nonlocal first
        reply = await original(script, args)
        if first and script is limiter._reserve:
            first = False
            at_gate.set()
            await gate.wait()
        return reply

    limiter._call = call  # type: ignore[method-assign]
    w = asyncio.ensure_future(limiter.acquire())
    x = asyncio.ensure_future(limiter.acquire())
    await asyncio.wait_for(at_gate.wait(), 10)
    p = asyncio.ensure_future(limiter.acquire(priority=True))
    for _ in range(5):  # let p reach the queue (event-loop turns, not time)
        await asyncio.sleep(0)
    gate.set()
    results = await asyncio.gather(w, x, p, return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)], results
    for permit in results:
        permit.release(status=None, sent=False)  # type: ignore[union-attr]
    await limiter._flush()
    assert await _inflight(server.url, key) == 0
    await limiter.aclose()


# -- 429 after Redis lost its state -----------------------------------------------------------


@pytest.mark.asyncio
async def test_flushall_then_a_fresh_worker_sends_no_429(
    server: RedisServer,  # noqa: F811
    key: str,  # noqa: F811
) -> None:
    # The cooldown after a state loss is only taken when the *first* script after it comes from
    # a worker that knew the old epoch; a worker that just started (or restarted) re-creates
    # the state with no cooldown, and the old workers then join it as "reaped".
    import redis.asyncio as aioredis

    rate = RateLimit((5, 2.0))
    sim = Simulator(rate, model="sliding", api_keys=["k"])
    with run_in_thread(sim) as url:
        a = AsyncQlara(
            api_key="k", base_url=url, rate_limit=RedisLimiter(server.url, rate, key=key)
        )
        for i in range(5):
            await a.sms.send(destination=f"+39320000000{i}", sender="B", body="x")
        r = aioredis.Redis.from_url(server.url)
        for name in await r.keys(f"qlara:{{{key}}}:*"):
            await r.delete(name)  # FLUSHALL / a restart without persistence / a failover
        await r.aclose()
        b = AsyncQlara(
            api_key="k",
            base_url=url,
            # A fresh worker cannot tell a loss from a first use: cooling down on both is
            # opt-in (the default would stall every new key for its longest window).
            rate_limit=RedisLimiter(server.url, rate, key=key, cold_start="cooldown"),
            max_retries=3,
        )
        await b.sms.send(destination="+393200000010", sender="B", body="x")
        await a.aclose()
        await b.aclose()
    assert sim.arrival_report().rate_limited == 0


# -- no hang: a caller's timeout during an outage -------------------------------------------


@pytest.mark.asyncio
async def test_acquire_honours_a_timeout_while_redis_is_down(
    own_server: RedisServer,  # noqa: F811
) -> None:
    limiter = RedisLimiter(own_server.url, RateLimit((100, 1.0)), key="x", unavailable_timeout=8)
    (await limiter.acquire()).release(status=200, headers={})
    own_server.stop()
    start = time.monotonic()
    with anyio.move_on_after(0.5):
        # The whole retry loop runs inside the shield: the caller's scope waits 8 s (60 s by
        # default), and Ctrl-C / a task group's cancellation too.
        with pytest.raises(QlaraError):
            await limiter.acquire()
    assert time.monotonic() - start < 3
    await limiter.aclose()


# -- secrets and errors ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [f"redis://127.0.0.1:1/0?password={SECRET}", f"unix:///tmp/no-such.sock?password={SECRET}"],
)
@pytest.mark.asyncio
async def test_a_password_in_the_query_string_is_masked(url: str, tmp_path: Path) -> None:
    # redis-py honours ?password=; mask_url only masks the netloc.
    limiter = RedisLimiter(url, RateLimit((5, 1.0)), on_unavailable="fail")
    job = ShardedJob(url, "j", 2, journal_dir=tmp_path)
    assert SECRET not in repr(limiter)
    assert SECRET not in repr(job)
    with pytest.raises(QlaraError) as info:
        await limiter.acquire()
    assert SECRET not in str(info.value)
    assert SECRET not in getattr(info.value, "url", "")
    await limiter.aclose()


@pytest.mark.parametrize(
    "url", [f"redis://:{SECRET}@127.0.0.1:99999/0", f"redis://:{SECRET}@[::1/0"]
)
@pytest.mark.asyncio
async def test_a_malformed_url_is_a_qlara_error(url: str) -> None:
    with pytest.raises(QlaraError):  # today: ValueError from urlsplit / redis-py's from_url
        limiter = RedisLimiter(url, RateLimit((5, 1.0)), on_unavailable="fail")
        await limiter.acquire()


async def _read_cmd(reader: asyncio.StreamReader) -> list[bytes] | None:
    line = await reader.readline()
    if not line:
        return None
    parts = []
    for _ in range(int(line[1:])):
        size = int((await reader.readline())[1:])
        parts.append((await reader.readexactly(size + 2))[:-2])
    return parts


@pytest.mark.parametrize(
    "reply",
    [
        b":5\r\n",
        b"*0\r\n",
        b"*1\r\n$2\r\nok\r\n",
        b"*5\r\n$4\r\nwait\r\n$3\r\nabc\r\n$1\r\n0\r\n$1\r\ne\r\n$1\r\n1\r\n",
    ],
    ids=["int", "empty", "short", "not-a-number"],
)
@pytest.mark.asyncio
async def test_a_server_answering_garbage_gives_a_qlara_error(reply: bytes) -> None:
    writers: list[asyncio.StreamWriter] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            while (cmd := await _read_cmd(reader)) is not None:
                name = cmd[0].upper()
                if name == b"HELLO":
                    writer.write(b"%2\r\n$6\r\nserver\r\n$5\r\nredis\r\n$5\r\nproto\r\n:3\r\n")
                elif name in (b"EVALSHA", b"EVAL"):
                    writer.write(reply)
                else:
                    writer.write(b"+OK\r\n")
                await writer.drain()
        except Exception:
            pass

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    limiter = RedisLimiter(
        f"redis://127.0.0.1:{port}/0", RateLimit((5, 1.0)), unavailable_timeout=2
    )
    try:
        with pytest.raises(QlaraError):  # today: TypeError / IndexError / ValueError
            await asyncio.wait_for(limiter.acquire(), 10)
    finally:
        with anyio.move_on_after(5):
            try:
                await limiter.aclose()
            except Exception:
                pass
        for writer in writers:  # (the fake server's own sockets, or a ResourceWarning)
            writer.close()
        srv.close()
        await srv.wait_closed()


def test_readme_has_the_many_workers_page() -> None:
    # The issue asks for "a page in the README"; the limiter's docstring points to the README's
    # "Many workers, one key", which does not exist.
    readme = (Path(__file__).parent.parent / "README.md").read_text()
    assert "RedisLimiter" in readme
    assert "ShardedJob" in readme
