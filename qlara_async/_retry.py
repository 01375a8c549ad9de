"""Retry decisions as pure functions of a response (or error) and the attempt number.

The API reference: retry ``429`` and ``5xx`` with waits of 1 s, 2 s, 4 s, ... plus 0-500 ms of
jitter, five attempts at most, never ``400``/``401``/``403``/``404``. The FAQ adds: honour
``Retry-After`` and cap the wait. ``409`` and ``422`` are refusals of the content, so they are
never retried either.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Callable, Mapping
from typing import Any

from ._config import RetryPolicy

__all__ = ["backoff_delay", "is_retryable_status", "parse_retry_after"]


def is_retryable_status(status_code: int) -> bool:
    """True for 429 and every 5xx; every other status is final."""
    return status_code == 429 or status_code >= 500


def backoff_delay(policy: RetryPolicy, retry_number: int, random: Callable[[], float]) -> float:
    """The wait before retry ``retry_number`` (1 for the first retry): 1, 2, 4, 8 s ... capped at
    ``policy.backoff_max``, plus ``random() * policy.jitter``."""
    exponent = max(0, retry_number - 1)
    # Cap the exponent before computing it: 2**1000 is a float overflow.
    base = min(policy.backoff_max, policy.backoff_base * 2.0 ** min(exponent, 60))
    return base + random() * policy.jitter


def parse_retry_after(headers: Mapping[str, str], body: Any, *, now_wall: float) -> float | None:
    """Seconds to wait from a 429: the ``Retry-After`` header (delta-seconds or an HTTP date),
    else the body's ``retryAfter``; ``None`` when neither says anything usable."""
    raw = headers.get("retry-after")
    if raw is not None:
        raw = raw.strip()
        try:
            seconds = float(raw)
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(raw)
                # An absurd zone offset or year overflows here, not in the parse.
                stamp = when.timestamp() if when.tzinfo is not None else None
            except (TypeError, ValueError, IndexError, OverflowError):
                stamp = None
            if stamp is not None:
                return _seconds(stamp - now_wall)
        else:
            if math.isfinite(seconds):
                return _seconds(seconds)
    if isinstance(body, dict):
        value = body.get("retryAfter")
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            try:
                seconds = float(value)  # hundreds of digits overflow a float
            except OverflowError:
                return RETRY_AFTER_CEILING
            if math.isfinite(seconds):
                return _seconds(seconds)
    return None


RETRY_AFTER_CEILING = 86400.0 * 366
"""Waits are clamped here: a server asking for more than a year means "not soon", and every
number past it only risks overflowing the clocks that add it."""


def _seconds(value: float) -> float:
    return min(RETRY_AFTER_CEILING, max(0.0, value))
