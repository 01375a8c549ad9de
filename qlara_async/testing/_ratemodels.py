"""Server-side rate limit models: pure, time-injected, O(1) amortised per request.

Each model enforces a :class:`~qlara_async.RateLimit` the way some real server might. Every method
takes ``now`` (seconds on any monotonic clock) so tests drive the models with explicit timestamps
and never sleep. A refused request consumes nothing: only admitted requests use budget.

The models
----------

``sliding``
    One log of admission times per window ``(N, P)``; a request is admitted when every window
    holds fewer than ``N`` admissions in the last ``P`` seconds (the interval ``(now - P, now]``).
    This is exactly the rule a client obeying the ``RateLimit`` follows.

``fixed``
    Fixed windows aligned to multiples of ``P`` on the model's clock: window ``k`` covers
    ``[k*P, (k+1)*P)``; at most ``N`` admissions per window. A client may see up to ``2N`` in any
    ``P``-long stretch that straddles a boundary.

``token_bucket``
    One bucket per window: capacity ``N``, refilled continuously at ``N/P`` tokens per second,
    full at the start; an admission takes one token from every bucket.

``single_bucket``
    One bucket whose capacity is the shortest window's ``N`` and whose refill rate is the longest
    window's ``N/P``: bursts like the short window, sustains like the long one.

Rate limit headers (what ``X-RateLimit-*`` mean)
------------------------------------------------

Each model reports, for the window with the fewest remaining admissions (ties: the later reset):

* ``X-RateLimit-Limit``: that window's ``N`` (``single_bucket``: its capacity, the shortest ``N``).
* ``X-RateLimit-Remaining``: admissions that window still allows right now, after this request
  (``sliding``/``fixed``: ``N`` minus the admissions counted in the window; buckets: the whole
  tokens left).
* ``X-RateLimit-Reset``: the Unix time (float seconds) at which that window next frees capacity:

  - ``sliding``: when the oldest admission still counted leaves the window (its time plus ``P``);
    the current time when the window counts nothing.
  - ``fixed``: the end of the current window, ``(k+1)*P`` (always, even when nothing is counted).
  - ``token_bucket`` / ``single_bucket``: when the bucket next gains a whole token; the current
    time when it is full.

A refusal's ``Retry-After`` is the wait until *every* window admits again (the maximum over the
windows, not just the one reported), rounded up to whole seconds and at least 1.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Final, Literal, Protocol, get_args

from .._config import RateLimit

__all__ = [
    "MODELS",
    "Decision",
    "FixedWindowModel",
    "ModelName",
    "RateModel",
    "SingleBucketModel",
    "SlidingWindowModel",
    "TokenBucketModel",
    "best_completion_time",
    "make_model",
]

ModelName = Literal["sliding", "fixed", "token_bucket", "single_bucket"]
"""The names :func:`make_model` accepts."""

MODELS: Final[tuple[str, ...]] = get_args(ModelName)
"""Every model name, in documentation order."""

# Floating point slack: a time computed as "the earliest admission" must admit when fed back in,
# even if the arithmetic that produced it rounded the wrong way by an ulp or two.
_EPS: Final = 1e-9


@dataclass(frozen=True, slots=True)
class Decision:
    """A model's answer for one request, and the state to report in the headers.

    ``reset`` is on the model's clock (the same clock as ``now``); the simulator converts it to
    Unix time for ``X-RateLimit-Reset``.
    """

    allowed: bool
    """Whether the request was (or, for :meth:`RateModel.peek`, would be) admitted."""
    retry_after: float
    """Seconds from ``now`` until a request would be admitted; ``0.0`` when allowed."""
    limit: int
    """The most constraining window's capacity."""
    remaining: int
    """Admissions that window still allows (after this request, when it was admitted)."""
    reset: float
    """When that window next frees capacity, on the model's clock."""


class RateModel(Protocol):
    """What the simulator needs from a rate model. ``now`` must never go backwards."""

    def earliest(self, now: float) -> float:
        """The earliest time ``>= now`` at which a request would be admitted (no state change)."""
        ...

    def acquire(self, now: float) -> Decision:
        """Admit the request and consume budget, or refuse it and consume nothing."""
        ...

    def peek(self, now: float) -> Decision:
        """What :meth:`acquire` would answer, without consuming anything."""
        ...


def _pick(states: list[tuple[int, int, float]]) -> tuple[int, int, float]:
    """The most constraining window: fewest remaining, then the later reset."""
    best = states[0]
    for state in states[1:]:
        if state[1] < best[1] or (state[1] == best[1] and state[2] > best[2]):
            best = state
    return best


class _Base:
    """Shared acquire/peek logic; subclasses supply per-window state and consumption."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last = -math.inf

    def _now(self, now: float) -> float:
        # Callers on several threads may read the clock in a slightly different order than they
        # reach the model; never let time run backwards inside a model.
        if now < self._last:
            return self._last
        self._last = now
        return now

    # Subclass hooks.
    def _advance(self, now: float) -> None:
        raise NotImplementedError

    def _wait(self, now: float) -> float:
        raise NotImplementedError

    def _consume(self, now: float) -> None:
        raise NotImplementedError

    def _states(self, now: float) -> list[tuple[int, int, float]]:
        raise NotImplementedError

    def earliest(self, now: float) -> float:
        now = self._now(now)
        self._advance(now)
        return now + self._wait(now)

    def peek(self, now: float) -> Decision:
        now = self._now(now)
        self._advance(now)
        wait = self._wait(now)
        limit, remaining, reset = _pick(self._states(now))
        return Decision(wait <= 0.0, wait, limit, remaining, reset)

    def acquire(self, now: float) -> Decision:
        now = self._now(now)
        self._advance(now)
        wait = self._wait(now)
        if wait <= 0.0:
            self._consume(now)
        limit, remaining, reset = _pick(self._states(now))
        return Decision(wait <= 0.0, wait, limit, remaining, reset)


class SlidingWindowModel(_Base):
    """Sliding windows: a log of admission times per window (see the module docstring)."""

    __slots__ = ("_expiries", "_windows")

    def __init__(self, rate_limit: RateLimit) -> None:
        super().__init__()
        self._windows = rate_limit.windows
        # Each log stores expiry times (admission + P), so "has it left the window?" is one
        # exact comparison and the earliest admission time is exactly a stored value. A log
        # never holds more than N entries, because refused requests are not logged.
        self._expiries = [deque[float]() for _ in self._windows]

    def _advance(self, now: float) -> None:
        # _EPS: a client told to wait ``e - now`` comes back at ``now + (e - now)``, which float
        # arithmetic may round a hair below ``e``; it must still be admitted.
        for log in self._expiries:
            while log and log[0] <= now + _EPS:
                log.popleft()

    def _wait(self, now: float) -> float:
        wait = 0.0
        for (limit, _), log in zip(self._windows, self._expiries, strict=True):
            if len(log) >= limit:
                wait = max(wait, log[0] - now)
        return wait

    def _consume(self, now: float) -> None:
        for (_, period), log in zip(self._windows, self._expiries, strict=True):
            log.append(now + period)

    def _states(self, now: float) -> list[tuple[int, int, float]]:
        return [
            (limit, limit - len(log), log[0] if log else now)
            for (limit, _), log in zip(self._windows, self._expiries, strict=True)
        ]

    def __repr__(self) -> str:
        return f"SlidingWindowModel({RateLimit(*self._windows)!r})"


class FixedWindowModel(_Base):
    """Fixed windows aligned to multiples of each period (see the module docstring)."""

    __slots__ = ("_counts", "_index", "_windows")

    def __init__(self, rate_limit: RateLimit) -> None:
        super().__init__()
        self._windows = rate_limit.windows
        self._index = [-1] * len(self._windows)
        self._counts = [0] * len(self._windows)

    @staticmethod
    def _window_of(now: float, period: float) -> int:
        # The slack makes the boundary time we hand out as Retry-After/Reset land in the *next*
        # window even when k*P was rounded down (0.7 / 0.1 == 6.999...).
        return math.floor(now / period + _EPS)

    def _advance(self, now: float) -> None:
        for i, (_, period) in enumerate(self._windows):
            k = self._window_of(now, period)
            if k != self._index[i]:
                self._index[i] = k
                self._counts[i] = 0

    def _wait(self, now: float) -> float:
        wait = 0.0
        for i, (limit, period) in enumerate(self._windows):
            if self._counts[i] >= limit:
                wait = max(wait, (self._index[i] + 1) * period - now)
        return wait

    def _consume(self, now: float) -> None:
        for i in range(len(self._counts)):
            self._counts[i] += 1

    def _states(self, now: float) -> list[tuple[int, int, float]]:
        return [
            (limit, limit - self._counts[i], (self._index[i] + 1) * period)
            for i, (limit, period) in enumerate(self._windows)
        ]

    def __repr__(self) -> str:
        return f"FixedWindowModel({RateLimit(*self._windows)!r})"


class _Buckets(_Base):
    """Token buckets ``(capacity, rate per second)``, all full at the start."""

    __slots__ = ("_buckets", "_stamp", "_tokens")

    def __init__(self, buckets: list[tuple[int, float]]) -> None:
        super().__init__()
        self._buckets = buckets
        self._tokens = [float(capacity) for capacity, _ in buckets]
        self._stamp: float | None = None

    def _advance(self, now: float) -> None:
        if self._stamp is None:
            self._stamp = now
            return
        elapsed = now - self._stamp
        if elapsed > 0.0:
            for i, (capacity, rate) in enumerate(self._buckets):
                self._tokens[i] = min(float(capacity), self._tokens[i] + elapsed * rate)
            self._stamp = now

    def _wait(self, now: float) -> float:
        wait = 0.0
        for (_, rate), tokens in zip(self._buckets, self._tokens, strict=True):
            if tokens < 1.0 - _EPS:
                wait = max(wait, (1.0 - tokens) / rate)
        return wait

    def _consume(self, now: float) -> None:
        for i in range(len(self._tokens)):
            # Clamp: the slack in _wait may admit at 0.999999999 tokens.
            self._tokens[i] = max(0.0, self._tokens[i] - 1.0)

    def _states(self, now: float) -> list[tuple[int, int, float]]:
        states = []
        for (capacity, rate), tokens in zip(self._buckets, self._tokens, strict=True):
            whole = math.floor(tokens + _EPS)
            reset = now if whole >= capacity else now + max(0.0, whole + 1 - tokens) / rate
            states.append((capacity, min(whole, capacity), reset))
        return states


class TokenBucketModel(_Buckets):
    """One token bucket per window: capacity ``N``, refill ``N/P`` per second, starts full."""

    __slots__ = ("_rate_limit",)

    def __init__(self, rate_limit: RateLimit) -> None:
        super().__init__([(limit, limit / period) for limit, period in rate_limit.windows])
        self._rate_limit = rate_limit

    def __repr__(self) -> str:
        return f"TokenBucketModel({self._rate_limit!r})"


class SingleBucketModel(_Buckets):
    """One bucket: the shortest window's capacity, refilled at the longest window's rate."""

    __slots__ = ("_rate_limit",)

    def __init__(self, rate_limit: RateLimit) -> None:
        windows = rate_limit.windows
        # Windows are sorted shortest period first.
        capacity = windows[0][0]
        long_limit, long_period = windows[-1]
        super().__init__([(capacity, long_limit / long_period)])
        self._rate_limit = rate_limit

    def __repr__(self) -> str:
        return f"SingleBucketModel({self._rate_limit!r})"


_FACTORIES: Final = {
    "sliding": SlidingWindowModel,
    "fixed": FixedWindowModel,
    "token_bucket": TokenBucketModel,
    "single_bucket": SingleBucketModel,
}


def make_model(name: str, rate_limit: RateLimit) -> RateModel:
    """A fresh model ``name`` (one of :data:`MODELS`) enforcing ``rate_limit``."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown rate model {name!r}; expected one of {MODELS}") from None
    model: RateModel = factory(rate_limit)
    return model


def best_completion_time(model: str, rate_limit: RateLimit, n: int) -> float:
    """The fastest a client can get ``n`` requests admitted, in seconds from the first.

    The client obeys both the server's ``model`` and ``rate_limit``'s own sliding windows; each
    request goes at the earliest time both admit it (greedy earliest admission in event time,
    starting at ``t = 0``, which is also a fixed-window boundary). Returns the last admission time:
    ``0.0`` for ``n <= 1``. This is a benchmark's "best possible" baseline.

    >>> best_completion_time("sliding", RateLimit((2, 1.0)), 5)
    2.0
    """
    if n <= 0:
        return 0.0
    server = make_model(model, rate_limit)
    client = SlidingWindowModel(rate_limit)
    t = 0.0
    for _ in range(n):
        # Each step moves t forward to a time one side admits; it stops when both do. Both
        # earliest() functions are monotone, so this converges in a few steps.
        while True:
            nxt = max(server.earliest(t), client.earliest(t))
            if nxt <= t:
                break
            t = nxt
        server.acquire(t)
        client.acquire(t)
    return t
