"""The shared limiter's link to Redis: the URL (its passwords masked and scrubbed from logs), one
connection pool made on first use, the two scripts registered on it, and one script call that
waits out a transient failure and lets only the library's errors leave.

What a failure means (see ``_redis_io.classify``): a wrong password or a refused script is final
(:class:`RedisLimiterError`); anything else (unreachable, a timeout, ``LOADING``, ``BUSY``) is
retried with a capped backoff until the caller gives up (:class:`RedisUnavailableError`). When
to give up is the limiter's to say (``on_unavailable``, ``unavailable_timeout``, a caller that
left): see :class:`~qlara_async.redis.RedisLimiter`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from .._clock import Clock
from .._redaction import register_redactor
from ._errors import RedisLimiterError, RedisUnavailableError
from ._redis_io import classify, mask_url, parse_reply, redis_from_url, url_passwords
from ._scripts import REPORT, RESERVE

__all__ = ["ScriptLink"]

log = logging.getLogger("qlara_async.redis")


class ScriptLink:
    """One limiter's connection to Redis and its script calls (see the module docstring).

    :param url: the Redis URL, already checked (``check_url``).
    :param keys: the Redis keys every script call is given.
    :param socket_timeout: seconds for one round trip or connect.
    :param clock: where the backoff between retries sleeps.
    """

    def __init__(self, url: str, *, keys: list[str], socket_timeout: float, clock: Clock) -> None:
        self._url = url
        self.safe_url = mask_url(url)
        """The URL with its passwords masked: the only form that reaches a repr, log or error."""
        self._passwords = url_passwords(url)
        register_redactor(self._redact)
        self.keys = keys
        self.socket_timeout = socket_timeout
        self._clock = clock
        self.redis: Any = None
        """redis-py's client, once :meth:`connect` made it."""
        self.reserve: Any = None
        self.report: Any = None
        self.backing_off: set[asyncio.Task[Any]] = set()
        """Tasks inside :meth:`call` that are only waiting to retry (nothing on the wire)."""

    def _redact(self, text: str) -> str:
        for password in self._passwords:
            text = text.replace(password, "***")
        return text

    def connect(self) -> None:
        """Make the client and register the scripts (no round trip yet); once."""
        if self.redis is not None:
            return
        try:
            import redis.asyncio  # noqa: F401
        except ImportError:  # pragma: no cover - depends on the install
            raise RedisLimiterError(
                "RedisLimiter needs the redis extra: pip install 'qlara-async[redis]'",
                url=self.safe_url,
            ) from None
        self.redis = redis_from_url(
            self._url,
            socket_timeout=self.socket_timeout,
            socket_connect_timeout=self.socket_timeout,
            retry_on_timeout=False,
        )
        self.reserve = self.redis.register_script(RESERVE)
        self.report = self.redis.register_script(REPORT)

    def unavailable(self, exc: BaseException) -> RedisUnavailableError:
        """The error for an unreachable Redis, caused by ``exc``."""
        # The type name only: a message could quote the URL, and the original is not chained.
        return RedisUnavailableError(
            f"Redis at {self.safe_url} is unavailable ({type(exc).__name__})", url=self.safe_url
        )

    async def call(
        self, script: Any, args: list[Any], *, deadline: float, give_up: Callable[[], bool]
    ) -> list[Any]:
        """One call of ``script`` (``reserve`` or ``report``), its reply checked.

        A transient failure is retried until ``deadline`` on the clock, or until ``give_up()``
        says so (asked after each failure). Only the round trip itself may be protected by the
        caller: the waits between retries are plain sleeps, cancellable like any other."""
        from redis.exceptions import RedisError

        backoff = 0.05
        task = asyncio.current_task()
        while True:
            try:
                reply = await script(keys=self.keys, args=args)
            except (RedisError, OSError, asyncio.TimeoutError) as exc:
                kind = classify(exc)
                if kind != "transient":
                    what = "the credentials" if kind == "auth" else "the limiter's script"
                    # A wrong password or a refused script: waiting will not fix it.
                    raise RedisLimiterError(
                        f"Redis at {self.safe_url} refused {what} ({type(exc).__name__})",
                        url=self.safe_url,
                    ) from None
                # Unreachable, LOADING or BUSY (another script running): transient.
                if give_up() or self._clock.now() >= deadline:
                    raise self.unavailable(exc) from None
                # Once per outage at WARNING; the retries themselves at DEBUG.
                level = logging.DEBUG if backoff > 0.05 else logging.WARNING
                log.log(level, "Redis unavailable (%s); retrying", type(exc).__name__)
                if task is not None:
                    self.backing_off.add(task)
                try:
                    await self._clock.sleep(backoff)
                finally:
                    if task is not None:
                        self.backing_off.discard(task)
                backoff = min(1.0, backoff * 2)
                continue
            return self._checked(script, reply)

    def _checked(self, script: Any, reply: Any) -> list[Any]:
        """The reply, checked (see ``parse_reply``): never a ``TypeError`` from garbage."""
        try:
            return parse_reply(reply, report=script is self.report)
        except ValueError:
            raise RedisLimiterError(
                f"Redis at {self.safe_url} gave the limiter an unexpected reply",
                url=self.safe_url,
            ) from None

    async def aclose(self) -> None:
        """Close the connection pool, if one was made (best effort: nothing escapes)."""
        if self.redis is not None:
            with contextlib.suppress(Exception):
                await self.redis.aclose()
