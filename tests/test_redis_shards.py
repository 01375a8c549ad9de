"""ShardedJob against a real redis-server and the simulator over HTTP (asyncio only)."""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Iterator
from pathlib import Path

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
