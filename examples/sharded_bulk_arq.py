"""One bulk job as arq jobs, one per shard, on workers that share one rate limit through Redis.

    pip install arq 'qlara-async[redis]'
    arq examples.sharded_bulk_arq.WorkerSettings            # on every worker host (any number)
    python examples/sharded_bulk_arq.py enqueue             # once: queue the job's shards

Each arq job sends one shard under that shard's journal (``ShardedJob.run_shard``), on a client
whose ``RedisLimiter`` is shared by every worker. arq re-runs a job whose worker died once its
``job_timeout`` passes (``max_tries`` allows it); the journal then skips what was settled and
re-sends the rest under the same message ids, so every message goes once. The journals must be
on storage every worker reaches (``JOURNAL_DIR``).
"""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Iterator
from typing import Any

from arq import create_pool
from arq.connections import RedisSettings

from qlara_async import AsyncQlara, RateLimit
from qlara_async.models import SmsMessage
from qlara_async.redis import RedisLimiter, ShardedJob

REDIS_URL = os.environ.get("REDIS_URL", "redis://localhost:6379/0")
JOURNAL_DIR = os.environ.get("JOURNAL_DIR", "/var/lib/notifications/journals")
SHARDS = 16


def make_messages() -> Iterator[SmsMessage]:
    """The whole input, the same on every worker."""
    for i in range(10_000):
        yield SmsMessage(destination=f"+3932{i:08d}", sender="MyBrand", body="Ciao!")


def sharded_job() -> ShardedJob:
    return ShardedJob(REDIS_URL, "newsletter-2026-12", SHARDS, journal_dir=JOURNAL_DIR)


async def startup(ctx: dict[str, Any]) -> None:
    # One client per worker process, its limiter shared with every other worker on the key.
    limiter = ctx["limiter"] = RedisLimiter(REDIS_URL, RateLimit.PRODUCTION, key="my-api-key")
    ctx["client"] = AsyncQlara(rate_limit=limiter)  # QLARA_API_KEY from the environment
    await ctx["client"].__aenter__()


async def shutdown(ctx: dict[str, Any]) -> None:
    await ctx["client"].aclose()
    await ctx["limiter"].aclose()  # the limiter is the caller's: the client leaves it open


async def send_shard(ctx: dict[str, Any], shard: int) -> dict[str, int]:
    # ``async with``: the job's Redis connection is closed once the shard is sent.
    async with sharded_job() as job:
        report = await job.run_shard(ctx["client"], make_messages, shard, concurrency=32)
    return {"accepted": report.accepted, "rejected": report.rejected, "failed": report.failed}


class WorkerSettings:
    functions = [send_shard]  # noqa: RUF012
    on_startup = startup
    on_shutdown = shutdown
    redis_settings = RedisSettings.from_dsn(REDIS_URL)
    job_timeout = 3600
    max_tries = 5


async def enqueue() -> None:
    pool = await create_pool(RedisSettings.from_dsn(REDIS_URL))
    for shard in range(SHARDS):
        # A fixed job id: enqueueing twice does not queue a shard twice.
        await pool.enqueue_job("send_shard", shard, _job_id=f"newsletter-2026-12-{shard}")
    await pool.aclose()


if __name__ == "__main__":
    if sys.argv[1:] == ["enqueue"]:
        asyncio.run(enqueue())
    else:
        print(__doc__)
