"""Small frozen option objects: the rate limit windows and the retry policy."""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar

import httpx

from ._constants import (
    DEFAULT_BACKOFF_BASE,
    DEFAULT_BACKOFF_MAX,
    DEFAULT_JITTER,
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_RETRY_AFTER,
)
from ._exceptions import ValidationError

__all__ = ["CallOptions", "RateLimit", "RetryPolicy", "check_timeout"]

MAX_WINDOW_REQUESTS = 1_000_000_000
"""More requests than any window needs; bigger numbers only overflow the arithmetic."""
MAX_TIMEOUT = 86400.0
"""A day: longer is not a timeout (and huge numbers overflow the event loop's clock)."""
MIN_WINDOW_PERIOD = 0.001
MAX_WINDOW_PERIOD = 86400.0 * 31


class RateLimit:
    """A set of windows ``(max_requests, period_seconds)``; a request may go only when every
    window allows it.

    >>> RateLimit((50, 1.0), (1000, 60.0)) == RateLimit.PRODUCTION
    True
    """

    __slots__ = ("_windows",)

    PRODUCTION: ClassVar[RateLimit]
    """The Production plan: 50 requests per second and 1,000 per minute, per API key."""
    TRIAL: ClassVar[RateLimit]
    """The Trial plan: 10 requests per second and 100 per minute, per API key."""

    def __init__(self, *windows: tuple[int, float]) -> None:
        if not windows:
            raise ValidationError(
                "RateLimit needs at least one (max_requests, period_seconds) window",
                field="rate_limit",
            )
        checked: list[tuple[int, float]] = []
        for window in windows:
            try:
                limit, period = window
            except (TypeError, ValueError):
                raise ValidationError(
                    f"a RateLimit window is a (max_requests, period_seconds) pair, got {window!r}",
                    field="rate_limit",
                ) from None
            if (
                isinstance(limit, bool)
                or not isinstance(limit, int)
                or not 1 <= limit <= MAX_WINDOW_REQUESTS
            ):
                raise ValidationError(
                    f"max_requests must be an int from 1 to {MAX_WINDOW_REQUESTS:,}, got {limit!r}",
                    field="max_requests",
                )
            if isinstance(period, bool) or not isinstance(period, (int, float)):
                raise ValidationError(
                    f"period_seconds must be a number, got {period!r}", field="period_seconds"
                )
            try:
                period = float(period)
            except OverflowError:
                period = math.inf
            if not math.isfinite(period) or not MIN_WINDOW_PERIOD <= period <= MAX_WINDOW_PERIOD:
                raise ValidationError(
                    f"period_seconds must be from {MIN_WINDOW_PERIOD:g} to {MAX_WINDOW_PERIOD:g},"
                    f" got {period!r}",
                    field="period_seconds",
                )
            checked.append((limit, period))
        # Sorted shortest period first, so equal sets of windows compare equal.
        self._windows = tuple(sorted(checked, key=lambda w: (w[1], w[0])))

    @property
    def windows(self) -> tuple[tuple[int, float], ...]:
        """The windows, shortest period first."""
        return self._windows

    @property
    def min_interval(self) -> float:
        """The slowest long-run pace the windows allow, as seconds between requests."""
        return max(period / limit for limit, period in self._windows)

    @classmethod
    def of(cls, windows: Iterable[tuple[int, float]]) -> RateLimit:
        """Build from any iterable of windows."""
        return cls(*windows)

    def __iter__(self) -> Iterator[tuple[int, float]]:
        return iter(self._windows)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RateLimit):
            return NotImplemented
        return self._windows == other._windows

    def __hash__(self) -> int:
        return hash(self._windows)

    def __repr__(self) -> str:
        inner = ", ".join(f"({n}, {p!r})" for n, p in self._windows)
        return f"RateLimit({inner})"


RateLimit.PRODUCTION = RateLimit((50, 1.0), (1000, 60.0))
RateLimit.TRIAL = RateLimit((10, 1.0), (100, 60.0))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How failed requests are retried (the API reference's strategy by default).

    ``max_retries`` counts retries after the first attempt. Backoff waits are
    ``backoff_base * 2**(n-1)`` (capped at ``backoff_max``) plus ``0..jitter`` seconds. A 429
    waits for its ``Retry-After`` instead, capped at ``max_retry_after``: a longer demand raises
    the ``RateLimitError`` at once rather than stalling for hours. ``retry_ambiguous`` retries a
    request that may already have been processed (timeout or connection lost after it was
    written); sends are safe to retry because every attempt carries the same ``messageId``.
    """

    max_retries: int = DEFAULT_MAX_RETRIES
    backoff_base: float = DEFAULT_BACKOFF_BASE
    backoff_max: float = DEFAULT_BACKOFF_MAX
    jitter: float = DEFAULT_JITTER
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    retry_ambiguous: bool = True

    def __post_init__(self) -> None:
        retries = self.max_retries
        if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= 100:
            raise ValidationError(
                f"max_retries must be an int from 0 to 100, got {retries!r}", field="max_retries"
            )
        # Waits are finite: an infinite jitter or base would sleep forever on the first 5xx.
        # max_retry_after alone may be inf: "wait out any Retry-After" (a bulk job does).
        for name in ("backoff_base", "backoff_max", "jitter", "max_retry_after"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not value >= 0
                or (name != "max_retry_after" and not math.isfinite(value))
            ):
                raise ValidationError(
                    f"{name} must be a finite number >= 0, got {value!r}", field=name
                )
        if not isinstance(self.retry_ambiguous, bool):
            raise ValidationError(
                f"retry_ambiguous must be a bool, got {self.retry_ambiguous!r}",
                field="retry_ambiguous",
            )


def check_timeout(timeout: object) -> httpx.Timeout:
    """``timeout`` as an ``httpx.Timeout``, checked. A float bounds connect, read and write, not the wait for a pooled connection: a bulk
    job's concurrency may exceed the pool, and that wait is ours, not the server's."""
    if isinstance(timeout, httpx.Timeout):
        values: list[object] = [timeout.connect, timeout.read, timeout.write, timeout.pool]
    elif isinstance(timeout, (int, float)) and not isinstance(timeout, bool):
        values = [timeout]
    else:
        raise ValidationError(
            f"timeout must be a number of seconds or an httpx.Timeout, got"
            f" {type(timeout).__name__}",
            field="timeout",
        )
    for value in values:
        if value is None:
            continue
        try:
            ok = (
                isinstance(value, (int, float))
                and not isinstance(value, bool)
                and math.isfinite(value)
                and 0 < value <= MAX_TIMEOUT
            )
        except OverflowError:  # an int too large for a float
            ok = False
        if not ok:
            raise ValidationError(
                f"timeout must be a number of seconds from 0 to {MAX_TIMEOUT:g}, got {value!r}",
                field="timeout",
            )
    if isinstance(timeout, httpx.Timeout):
        return timeout
    return httpx.Timeout(float(timeout), pool=None)


@dataclass(frozen=True, slots=True)
class CallOptions:
    """Options that one call (or a ``with_options`` view of the client) overrides; ``None``
    keeps the client's."""

    timeout: httpx.Timeout | None = None
    retry_policy: RetryPolicy | None = None
