"""The local limiter's accounting: the rule of ``qlara_async._limiter``'s docstring, pure and
synchronous (every method takes the time), and the parsing of the server's budget headers.

``LocalLimiter`` wraps ``_Core`` with a queue; the property tests drive it directly in event time.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from ._config import RateLimit

__all__ = ["default_margin", "parse_remaining"]

# Float slack when a computed wait is fed back in: waiting ``x / r`` must not leave 1e-16 tokens
# short and spin. Far below the margin, so it costs no safety.
_EPS: Final = 1e-9


def default_margin(period: float) -> float:
    """The default slack added to a window: 0.5% of its period, at least 1 ms."""
    return max(0.001, 0.005 * period)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        # httpx.Headers is case-insensitive; a plain dict from a test or a custom transport
        # most likely holds the lower-case spelling.
        value = headers.get(name.lower())
    return value


def parse_remaining(headers: Mapping[str, str]) -> int | None:
    """``X-RateLimit-Remaining`` as an int, or ``None`` when absent or malformed.

    ``X-RateLimit-Limit`` and ``X-RateLimit-Reset`` are not needed: the budget argument uses only
    what remains, and the refill is assumed no faster than the configured windows allow.
    """
    raw = _header(headers, "X-RateLimit-Remaining")
    if raw is None:
        return None
    try:
        value = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(value) or value < 0:
        return None
    return math.floor(value)


class _Ticket:
    """What the accounting remembers about one released request."""

    __slots__ = ("completed_before",)

    def __init__(self, completed_before: int) -> None:
        self.completed_before = completed_before


class _Core:
    """The limiter's accounting, pure and synchronous: every method takes the time.

    ``LocalLimiter`` wraps it with a queue; the property tests drive it directly in event time.
    """

    def __init__(
        self, rate_limit: RateLimit, *, margin: float | None = None, use_headers: bool = True
    ) -> None:
        windows = rate_limit.windows
        margins = [default_margin(p) if margin is None else float(margin) for _, p in windows]
        if any(not math.isfinite(m) or m < 0 for m in margins):
            raise ValueError(f"margin must be a finite number >= 0, got {margin!r}")
        self.limits = [n for n, _ in windows]
        # Each window counts a completion until d + P + margin: its "expiry".
        self.spans = [p + m for (_, p), m in zip(windows, margins, strict=True)]
        self.expiries = [deque[float]() for _ in windows]
        # A request that ended without a response may still land a little later.
        self.grace = max(margins)
        self.capacity = min(self.limits)
        self.rate = min(n / span for n, span in zip(self.limits, self.spans, strict=True))
        self.level = 0.0
        self.level_at = -math.inf
        self.use_headers = use_headers
        self.in_flight = 0
        self.completed = 0
        self.lost_until = deque[float]()
        self.paused_until = -math.inf

    # -- the rule ---------------------------------------------------------------------------

    def _bucket_wait(self, now: float) -> float:
        debt = max(0.0, self.level - self.rate * (now - self.level_at))
        excess = debt + self.in_flight + 1 - self.capacity
        if excess <= _EPS:
            return 0.0
        if self.in_flight + 1 > self.capacity:
            return math.inf  # only a completion can help
        return excess / self.rate

    def admissible(self, now: float) -> float:
        """``0.0`` when a request may go now, else how long until the answer could change
        without a release (``inf``: only a release can change it)."""
        if now < self.paused_until:
            return self.paused_until - now
        wait = 0.0
        for limit, log in zip(self.limits, self.expiries, strict=True):
            while log and log[0] <= now:
                log.popleft()
            # len(log) + in_flight never exceeds the limit, so one expiry is always enough.
            if len(log) + self.in_flight >= limit:
                wait = max(wait, log[0] - now if log else math.inf)
        alt = self._bucket_wait(now)
        return max(wait, alt)

    def admit(self, now: float) -> _Ticket:
        """Account a release (call only when :meth:`admissible` said ``0.0``)."""
        self.in_flight += 1
        # A request given up on less than ``grace`` ago may still arrive after this one's
        # response was produced: count it as completing after this release.
        lost = self.lost_until
        while lost and lost[0] <= now:
            lost.popleft()
        return _Ticket(self.completed - len(lost))

    def complete(
        self,
        ticket: _Ticket,
        now: float,
        *,
        status: int | None,
        headers: Mapping[str, str] | None,
        sent: bool,
    ) -> bool:
        """Account a request's end; returns whether its headers updated the budget."""
        self.in_flight -= 1
        if not sent:
            # Never reached httpx: it costs nothing.
            return False
        lost = status is None
        at = now + self.grace if lost else now
        if lost:
            self.lost_until.append(at)
        for span, log in zip(self.spans, self.expiries, strict=True):
            expiry = at + span
            # A lost request is dated in the future; keep the deque sorted by holding later
            # completions at least as long (conservative, and still one entry per request).
            if log and log[-1] > expiry:
                expiry = log[-1]
            log.append(expiry)
        # The bucket's clock never runs ahead of now. A lost request, which should arrive
        # ``grace`` late, instead arrives now with the tokens it would have drained meanwhile.
        if now > self.level_at:
            self.level = max(0.0, self.level - self.rate * (now - self.level_at))
            self.level_at = now
        self.level += 1.0 + (self.rate * self.grace if lost else 0.0)
        updated = False
        if self.use_headers and not lost and headers is not None:
            remaining = parse_remaining(headers)
            if remaining is not None:
                since = self.completed - ticket.completed_before
                budget = remaining - since - self.in_flight
                # The server's word is a second lower bound on what it admits now; the bucket
                # takes whichever is better, and refills from there.
                level = self.capacity - self.in_flight - budget
                if level < self.level:
                    self.level = max(0.0, float(level))
                updated = True
        self.completed += 1
        return updated

    def pause(self, now: float, seconds: float) -> None:
        """No request before ``now + seconds``."""
        self.paused_until = max(self.paused_until, now + seconds)
