"""The limiter: protocol, construction, single-task use (its accounting: tests/test_budget.py)."""

from __future__ import annotations

import math

import pytest

from qlara_async import RateLimit, ValidationError
from qlara_async._clock import ManualClock
from qlara_async._limiter import (
    Limiter,
    LimiterStats,
    LocalLimiter,
    NullLimiter,
    Permit,
    build_limiter,
)

# -- construction -------------------------------------------------------------------------------


def test_build_limiter_from_rate_limit() -> None:
    """A RateLimit becomes a LocalLimiter for it."""
    limiter = build_limiter(RateLimit.TRIAL)
    assert isinstance(limiter, LocalLimiter)
    assert limiter.rate_limit == RateLimit.TRIAL


def test_build_limiter_from_none() -> None:
    """None means no client-side limit, but still a cooldown: a NullLimiter."""
    assert isinstance(build_limiter(None), NullLimiter)


def test_build_limiter_passes_a_limiter_through() -> None:
    """A Limiter instance (e.g. a RedisLimiter) is used as it is."""
    limiter = NullLimiter()
    assert build_limiter(limiter) is limiter


def test_build_limiter_refuses_anything_else() -> None:
    """A wrong type fails at construction, naming what it got."""
    with pytest.raises(ValidationError, match="tuple"):
        build_limiter((50, 1.0))  # type: ignore[arg-type]


def test_local_limiter_wants_a_rate_limit() -> None:
    """LocalLimiter checks its argument."""
    with pytest.raises(TypeError):
        LocalLimiter([(50, 1.0)])  # type: ignore[arg-type]


@pytest.mark.parametrize("margin", [-1.0, math.inf, math.nan])
def test_bad_margin_is_refused(margin: float) -> None:
    """A margin must be a finite number >= 0."""
    with pytest.raises(ValueError, match="margin"):
        LocalLimiter(RateLimit.TRIAL, margin=margin)


def test_both_limiters_implement_the_protocol() -> None:
    """LocalLimiter and NullLimiter satisfy Limiter (runtime-checkable)."""
    assert isinstance(LocalLimiter(RateLimit.PRODUCTION), Limiter)
    assert isinstance(NullLimiter(), Limiter)


def test_repr_shows_state_not_secrets() -> None:
    """The repr names the windows and the queue state."""
    text = repr(LocalLimiter(RateLimit.TRIAL))
    assert text == "LocalLimiter(RateLimit((10, 1.0), (100, 60.0)), in_flight=0, waiting=0)"
    assert repr(NullLimiter()) == "NullLimiter(waiting=0)"


# -- single task, ManualClock (both backends) ---------------------------------------------------


@pytest.mark.anyio
async def test_acquire_waits_on_the_clock() -> None:
    """The third request waits for the first completion to leave the window, on the clock."""
    clock = ManualClock()
    limiter = LocalLimiter(RateLimit((2, 1.0)), clock=clock, margin=0.0)
    first = await limiter.acquire()
    second = await limiter.acquire()
    assert isinstance(first, Permit)
    clock.advance(0.25)
    first.release(status=200)
    second.release(status=200)
    await limiter.acquire()
    assert clock.now() == pytest.approx(1.25)
    assert limiter.in_flight == 1
    stats = limiter.stats
    assert isinstance(stats, LimiterStats)
    assert (stats.acquired, stats.waited, stats.released) == (3, 1, 2)
    assert stats.max_wait == pytest.approx(1.0)


@pytest.mark.anyio
async def test_release_counts_only_once() -> None:
    """A second release of the same permit is ignored."""
    limiter = LocalLimiter(RateLimit((2, 1.0)), clock=ManualClock())
    permit = await limiter.acquire()
    permit.release(status=200)
    permit.release(status=None)
    assert limiter.in_flight == 0
    assert limiter.stats.released == 1
    assert limiter.stats.lost == 0


@pytest.mark.anyio
async def test_pause_delays_the_next_acquire() -> None:
    """After pause(2) nothing goes for 2 s, on both limiters."""
    for limiter_factory in (
        lambda c: LocalLimiter(RateLimit((5, 1.0)), clock=c),
        lambda c: NullLimiter(clock=c),
    ):
        clock = ManualClock()
        limiter = limiter_factory(clock)
        limiter.pause(2.0)
        permit = await limiter.acquire(priority=True)
        assert clock.now() == pytest.approx(2.0)
        permit.release(status=200)
        assert limiter.stats.pauses == 1


@pytest.mark.anyio
async def test_null_limiter_admits_at_once() -> None:
    """Without a pause, NullLimiter never waits."""
    clock = ManualClock()
    limiter = NullLimiter(clock=clock)
    permits = [await limiter.acquire() for _ in range(1000)]
    for permit in permits:
        permit.release(status=None)
    assert clock.now() == 0.0
    assert limiter.stats.lost == 1000
    await limiter.aclose()
