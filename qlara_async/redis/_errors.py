"""Errors of the shared limiter. None carries a raw redis exception or the URL's password."""

from __future__ import annotations

from .._exceptions import QlaraError

__all__ = ["RedisConfigMismatchError", "RedisLimiterError", "RedisUnavailableError"]


class RedisLimiterError(QlaraError):
    """A :class:`~qlara_async.redis.RedisLimiter` could not decide. ``url`` is the Redis URL
    with its password masked."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.message = message
        self.url = url


class RedisUnavailableError(RedisLimiterError):
    """Redis could not be reached (or answered with an error) for longer than the limiter's
    ``unavailable_timeout`` (at once with ``on_unavailable="fail"``). No request was released
    by the call that raised it."""


class RedisConfigMismatchError(RedisLimiterError):
    """Another worker shares this key with different windows: one key, one budget, one
    ``RateLimit``."""
