"""ShardedJob against a real redis-server and the simulator over HTTP (asyncio only)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from qlara_async import AsyncQlara, QlaraError, RateLimit
from qlara_async.models import SmsMessage
from qlara_async.redis import RedisLimiter, ShardedJob
from qlara_async.redis._shards import shard_of
from qlara_async.redis.testing import RedisServer
from qlara_async.testing import Simulator, run_in_thread

pytest.importorskip("redis")

from .test_redis_limiter import server  # noqa: F401  (the session's redis-server)

RATE = RateLimit((20, 0.25), (200, 2.0))


def messages(n: int) -> Iterator[SmsMessage]:
    for i in range(n):
        yield SmsMessage(destination=f"+3932{i:08d}", sender="B", body="x")


def test_shards_cover_the_input_once() -> None:
    parts = [list(shard_of(range(10), s, 3)) for s in range(3)]
    assert sorted(x for p in parts for x in p) == list(range(10))
    assert parts[1] == [1, 4, 7]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "http://x"}, "url"),
        ({"job": "a{b}"}, "job"),
        ({"shards": 0}, "shards"),
        ({"lease": -1}, "lease"),
    ],
)
def test_bad_input_names_the_field(kwargs: dict[str, object], field: str, tmp_path: Path) -> None:
    args: dict[str, object] = {"url": "redis://:pw@localhost/0", "job": "j", "shards": 2, **kwargs}
    with pytest.raises(QlaraError) as info:
        ShardedJob(journal_dir=tmp_path, **args)  # type: ignore[arg-type]
    assert getattr(info.value, "field", None) == field


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_workers_share_the_job_and_resume_a_dead_ones_shard(
    server: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    n = 60
    sim = Simulator(RATE, api_keys=["k"])
    with run_in_thread(sim) as url:
        # A worker that dies in the middle of shard 0: it held the claim and sent part of it.
        dying = ShardedJob(server.url, "job-a", 4, journal_dir=tmp_path, lease=0.3)
        claimed = await dying._eval(
            "return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0",
            [dying._locks[0]],
            [dying.worker, 300],
        )
        assert claimed == 1
        # (Through the shared limiter, as every worker: sends it did not know of could be
        # 429ed by a window the live workers start with in full.)
        shared = RedisLimiter(server.url, RATE, key="shards-a")
        async with AsyncQlara(api_key="k", base_url=url, rate_limit=shared) as client:
            partial = list(shard_of(messages(n), 0, 4))[:5]
            await client.bulk.run(partial, journal=tmp_path / "job-a-0.sqlite")
        await dying._redis.aclose()

        async def work() -> int:
            limiter = RedisLimiter(server.url, RATE, key="shards-a")
            job = ShardedJob(
                server.url, "job-a", 4, journal_dir=tmp_path, lease=0.3, poll_interval=0.05
            )
            async with AsyncQlara(api_key="k", base_url=url, rate_limit=limiter) as client:
                reports = await job.run(client, lambda: messages(n))
            return sum(r.accepted - r.skipped for r in reports)

        sent = await asyncio.gather(work(), work())
    counts = collections.Counter(m.destination for m in sim.processed)
    assert len(counts) == n
    assert max(counts.values()) == 1
    # The dead worker's 5 were not sent again; the two live workers sent the rest.
    assert sum(sent) == n - 5
    assert sim.arrival_report().rate_limited == 0


async def _client_ids(observer: Any) -> set[int]:
    """The ids of the clients connected to the server, the observer's own left out."""
    mine = await observer.client_id()
    return {int(c["id"]) for c in await observer.client_list()} - {mine}


async def _gone(observer: Any, ids: set[int]) -> bool:
    """Whether none of ``ids`` is connected any more. The server drops a closed connection on
    its next turn: each ping is one more turn (bounded, no sleep)."""
    for _ in range(200):
        if not ids & await _client_ids(observer):
            return True
        await observer.ping()
    return False


@contextlib.asynccontextmanager
async def _watched_client(redis_server: RedisServer) -> AsyncIterator[tuple[Any, AsyncQlara]]:
    """A client on the simulator over HTTP, and a connection of its own that watches the
    server's client list."""
    import redis.asyncio as aioredis

    observer = aioredis.Redis.from_url(redis_server.url)
    try:
        with run_in_thread(Simulator(RATE, api_keys=["k"])) as url:
            async with AsyncQlara(api_key="k", base_url=url, rate_limit=RATE) as client:
                yield observer, client
    finally:
        await observer.aclose()


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_run_shard_then_aclose_closes_the_jobs_redis_connection(
    server: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """``async with ShardedJob(...)`` closes the connection ``run_shard`` left open."""
    async with _watched_client(server) as (observer, client):
        before = await _client_ids(observer)
        async with ShardedJob(server.url, "job-close", 2, journal_dir=tmp_path) as job:
            report = await job.run_shard(client, lambda: messages(6), 0)
            assert report.accepted == 3
            # run_shard keeps its connection for the next call: it is live here.
            opened = await _client_ids(observer) - before
            assert opened, "run_shard opened no connection of its own"
        assert job._redis is None
        assert await _gone(observer, opened), "the job's connection is still open"
        await job.aclose()  # a second close is harmless


@pytest.mark.e2e
@pytest.mark.asyncio
async def test_run_closes_its_redis_connection_when_every_shard_is_done(
    server: RedisServer,  # noqa: F811
    tmp_path: Path,
) -> None:
    """``run()`` owns its connection for its duration and closes it on return."""
    async with _watched_client(server) as (observer, client):
        before = await _client_ids(observer)
        opened: set[int] = set()

        async def on_outcome(_: object) -> None:
            if not opened:  # mid-run: the job holds its claim's connection
                opened.update(await _client_ids(observer) - before)

        job = ShardedJob(server.url, "job-run-close", 2, journal_dir=tmp_path)
        reports = await job.run(client, lambda: messages(6), on_outcome=on_outcome)
        assert sum(r.accepted for r in reports) == 6
        assert opened, "run opened no connection of its own"
        assert job._redis is None
        assert await _gone(observer, opened), "the job's connection is still open"
