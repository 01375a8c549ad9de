"""One bulk job spread over many workers: the input cut into shards, claimed through Redis.

Every worker runs the same :class:`ShardedJob` over the same input. Shard ``i`` is the messages
whose input index is ``i`` modulo ``shards``. A worker claims a free shard (a Redis key set with
``NX`` and a lease, renewed while it works), runs it as an ordinary bulk job with that shard's
own journal (``<journal_dir>/<job>-<i>.sqlite``), marks it done, and claims the next, until every
shard is done. With arq, each shard is one arq job instead (:meth:`ShardedJob.run_shard`).

Why every message goes once: a shard is sent under one journal, whose message ids are derived
from the journal's job id and the index (see ``qlara_async.bulk._journal``), and the journal is
locked while a job holds it. A worker killed mid-shard leaves its lease to run out; the next
claimer opens the same journal, skips what was settled and re-sends the rest under the same
``messageId`` (the platform de-duplicates it). If a lease ran out under a worker still alive (Redis
cut off for longer than ``lease``), the journal's lock refuses the second claimer, which moves on.
The journals must be on storage every worker reaches (one host, or a shared volume).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from .._exceptions import ValidationError
from ..bulk import BulkReport, JournalLockedError
from ._errors import RedisLimiterError, RedisUnavailableError
from ._redis_io import check_url, mask_url, redis_from_url

if TYPE_CHECKING:
    from .._client import AsyncQlara

__all__ = ["ShardedJob"]

T = TypeVar("T")

# KEYS: done, lock:0 .. lock:n-1   ARGV: worker, lease_ms
_CLAIM: Final = r"""
local n = #KEYS - 1
for i = 0, n - 1 do
    if redis.call('SISMEMBER', KEYS[1], i) == 0 then
        if redis.call('SET', KEYS[i + 2], ARGV[1], 'NX', 'PX', ARGV[2]) then return i end
    end
end
if redis.call('SCARD', KEYS[1]) >= n then return -2 end
return -1
"""
# KEYS: lock   ARGV: worker, lease_ms
_RENEW: Final = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then
    return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: done, lock   ARGV: worker, shard, ttl_ms
_DONE: Final = r"""
redis.call('SADD', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1
"""
# KEYS: lock   ARGV: worker
_RELEASE: Final = r"""
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""


def shard_of(messages: Iterable[T], shard: int, shards: int) -> Iterator[T]:
    """The messages of ``shard``: input index ``i`` with ``i % shards == shard``."""
    for i, message in enumerate(messages):
        if i % shards == shard:
            yield message


class ShardedJob:
    """A bulk job shared by workers through Redis (see the module docstring).

    :param url: the Redis URL (password masked everywhere).
    :param job: the job's name, the same in every worker; Redis keys are ``qlara:{job}:*``.
    :param shards: how many slices the input is cut into (a few per worker).
    :param journal_dir: where the shards' journals live; every worker must reach it.
    :param lease: seconds after which a silent worker's shard may be claimed by another.
    :param done_ttl: how long Redis remembers the finished shards.
    :param poll_interval: seconds a worker waits when every free shard is held.

    The job opens one Redis connection pool on first use. :meth:`run` closes it when it
    returns; after :meth:`run_shard` (an arq job) the caller closes it, with :meth:`aclose`
    or by using the job as an async context manager::

        async with ShardedJob(url, "newsletter", 16, journal_dir=shared) as job:
            report = await job.run_shard(client, make_messages, shard)

    A closed job may be used again: it reconnects (and must then be closed again).
    """

    def __init__(
        self,
        url: str,
        job: str,
        shards: int,
        *,
        journal_dir: str | os.PathLike[str],
        lease: float = 30.0,
        done_ttl: float = 7 * 86400.0,
        poll_interval: float = 1.0,
    ) -> None:
        check_url(url)
        if not isinstance(job, str) or not job or any(c in job for c in "{}/\\ \r\n"):
            raise ValidationError(
                "job must be a non-empty name without braces, slashes or spaces", field="job"
            )
        if not isinstance(shards, int) or isinstance(shards, bool) or not 1 <= shards <= 10_000:
            raise ValidationError("shards must be an int from 1 to 10000", field="shards")
        for name, value in (
            ("lease", lease),
            ("done_ttl", done_ttl),
            ("poll_interval", poll_interval),
        ):
            if not isinstance(value, (int, float)) or not 0 < value < 10**7:
                raise ValidationError(f"{name} must be a number > 0", field=name)
        self.job = job
        self.shards = shards
        self.journal_dir = Path(journal_dir)
        self.lease = float(lease)
        self.done_ttl = float(done_ttl)
        self.poll_interval = float(poll_interval)
        self.worker = uuid.uuid4().hex
        self._url = url
        self._safe_url = mask_url(url)
        tag = f"qlara:{{{job}}}:"
        self._done_key = tag + "done"
        self._locks = [f"{tag}lock:{i}" for i in range(shards)]
        self._redis: Any = None

    async def aclose(self) -> None:
        """Close the Redis connection pool, if one is open; calling it twice is harmless."""
        redis, self._redis = self._redis, None
        if redis is not None:
            # Closing is best effort: a connection Redis already dropped has nothing to close,
            # and a redis-py error here must not escape (nor hide the caller's own error).
            with contextlib.suppress(Exception):
                await redis.aclose()

    async def __aenter__(self) -> ShardedJob:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def journal(self, shard: int) -> Path:
        """The journal file of ``shard``."""
        return self.journal_dir / f"{self.job}-{shard}.sqlite"

    async def _eval(self, script: str, keys: list[str], args: list[Any]) -> Any:
        from redis.exceptions import RedisError

        if self._redis is None:
            self._redis = redis_from_url(self._url, socket_timeout=5.0)
        try:
            return await self._redis.eval(script, len(keys), *keys, *args)
        except (RedisError, OSError, asyncio.TimeoutError) as exc:
            raise RedisUnavailableError(
                f"Redis at {self._safe_url} is unavailable ({type(exc).__name__})",
                url=self._safe_url,
            ) from None

    @contextlib.asynccontextmanager
    async def _holding(self, shard: int) -> AsyncIterator[None]:
        """Renew the shard's lease while the block runs."""
        lease_ms = int(self.lease * 1000)

        async def renew() -> None:
            while True:
                await asyncio.sleep(self.lease / 3)
                with contextlib.suppress(RedisUnavailableError):
                    await self._eval(_RENEW, [self._locks[shard]], [self.worker, lease_ms])

        task = asyncio.get_running_loop().create_task(renew())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run_shard(
        self,
        client: AsyncQlara,
        messages: Callable[[], Iterable[Any]],
        shard: int,
        **options: Any,
    ) -> BulkReport:
        """Send one shard (``messages()`` gives the whole input, fresh each call) under its own
        journal, and mark it done. What an arq job calls; ``options`` go to ``bulk.run``.
        The job's Redis connection stays open for the next call: close it when done
        (:meth:`aclose`, or ``async with``).

        Cancelled mid-shard (``bulk.run`` then returns a stopped report), the shard is not
        marked done: its lock is handed back and ``asyncio.CancelledError`` is raised, so the
        shard is resumed from its journal by the next claimer (or arq's retry)."""
        self.journal_dir.mkdir(parents=True, exist_ok=True)
        report = await client.bulk.run(
            shard_of(messages(), shard, self.shards), journal=self.journal(shard), **options
        )
        if report.stopped:
            # Cancelled (``bulk.run`` consumes a bare ``task.cancel()`` and returns what it
            # did): the shard is not done. Hand it back at once (its journal resumes it) and
            # let the cancellation go on, as the caller asked.
            with contextlib.suppress(RedisLimiterError):
                await self._eval(_RELEASE, [self._locks[shard]], [self.worker])
            raise asyncio.CancelledError
        await self._eval(
            _DONE,
            [self._done_key, self._locks[shard]],
            [self.worker, shard, int(self.done_ttl * 1000)],
        )
        return report

    async def run(
        self, client: AsyncQlara, messages: Callable[[], Iterable[Any]], **options: Any
    ) -> list[BulkReport]:
        """Claim and send shards until every shard is done (by this worker or another);
        returns this worker's reports. ``options`` go to ``bulk.run``. A cancellation
        (``task.cancel()``, ``asyncio.timeout``, Ctrl-C) propagates after the shard under way
        stopped in order; that shard stays to be done."""
        reports: list[BulkReport] = []
        lease_ms = int(self.lease * 1000)
        try:
            while True:
                shard = await self._eval(
                    _CLAIM, [self._done_key, *self._locks], [self.worker, lease_ms]
                )
                if not isinstance(shard, int) or isinstance(shard, bool):
                    raise RedisLimiterError(
                        f"Redis at {self._safe_url} gave an unexpected reply to a claim",
                        url=self._safe_url,
                    )
                if shard == -2:
                    return reports
                if shard == -1:
                    # Every free shard is held: wait for one to finish or its lease to run out.
                    await asyncio.sleep(self.poll_interval)
                    continue
                try:
                    async with self._holding(shard):
                        reports.append(await self.run_shard(client, messages, shard, **options))
                except JournalLockedError:
                    # Its first holder is alive after all (its lease ran out under it).
                    await asyncio.sleep(self.poll_interval)
        finally:
            await self.aclose()

    def __repr__(self) -> str:
        return f"ShardedJob({self._safe_url!r}, job={self.job!r}, shards={self.shards})"
