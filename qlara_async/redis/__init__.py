"""A rate limit shared through Redis by many workers on one API key, and bulk jobs sharded
over those workers (the ``redis`` extra)::

    from qlara_async import AsyncQlara, RateLimit
    from qlara_async.redis import RedisLimiter

    limiter = RedisLimiter("redis://localhost:6379/0", RateLimit.PRODUCTION, key="my-api-key")
    async with AsyncQlara(rate_limit=limiter) as client:
        ...
"""

from __future__ import annotations

from ._errors import RedisConfigMismatchError, RedisLimiterError, RedisUnavailableError
from ._limiter import RedisLimiter
from ._shards import ShardedJob

__all__ = [
    "RedisConfigMismatchError",
    "RedisLimiter",
    "RedisLimiterError",
    "RedisUnavailableError",
    "ShardedJob",
]
