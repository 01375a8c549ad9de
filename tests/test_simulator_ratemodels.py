"""The simulator's server-side rate models, driven with explicit timestamps (no sleeping)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlara_async._config import RateLimit
from qlara_async.testing import (
    MODELS,
    FixedWindowModel,
    RateModel,
    SingleBucketModel,
    SlidingWindowModel,
    TokenBucketModel,
    best_completion_time,
    make_model,
)

TWO_WINDOWS = RateLimit((2, 1.0), (3, 10.0))


def run(model: RateModel, times: list[float]) -> list[bool]:
    """Feed arrivals to a model; return which were admitted."""
    return [model.acquire(t).allowed for t in times]


def test_sliding_admits_hand_worked_sequence() -> None:
    """Sliding windows: 2/s and 3/10s, refusals consume nothing."""
    m = SlidingWindowModel(TWO_WINDOWS)
    d = m.acquire(0.0)
    assert (d.allowed, d.limit, d.remaining, d.reset) == (True, 2, 1, 1.0)
    d = m.acquire(0.5)
    assert (d.allowed, d.limit, d.remaining, d.reset) == (True, 2, 0, 1.0)
    d = m.acquire(0.9)
    assert not d.allowed
    assert d.retry_after == pytest.approx(0.1)
    d = m.acquire(1.0)  # the t=0 admission leaves the 1 s window exactly now
    assert d.allowed
    # Both windows are at 0 remaining; the later reset (the 10 s window) is reported.
    assert (d.limit, d.remaining, d.reset) == (3, 0, 10.0)
    d = m.acquire(1.6)
    assert not d.allowed
    assert d.retry_after == pytest.approx(8.4)
    assert run(m, [9.99, 10.0, 10.2, 10.5]) == [False, True, False, True]


def test_fixed_windows_are_aligned_to_multiples_of_the_period() -> None:
    """Fixed windows reset on period boundaries, so a burst may straddle one."""
    m = FixedWindowModel(RateLimit((2, 1.0)))
    assert run(m, [0.9, 0.95]) == [True, True]
    d = m.acquire(0.99)
    assert not d.allowed
    assert d.retry_after == pytest.approx(0.01)
    assert d.reset == pytest.approx(1.0)
    d = m.acquire(1.0)
    assert (d.allowed, d.remaining, d.reset) == (True, 1, 2.0)
    assert run(m, [1.01, 1.02]) == [True, False]


def test_fixed_window_boundary_survives_float_rounding() -> None:
    """0.7 / 0.1 is 6.999...: the boundary handed out as the retry time must admit."""
    m = FixedWindowModel(RateLimit((1, 0.1)))
    assert m.acquire(0.65).allowed
    d = m.acquire(0.66)
    assert not d.allowed
    assert m.acquire(0.66 + d.retry_after).allowed


def test_token_bucket_per_window_starts_full_and_refills() -> None:
    """Capacity N, refill N/P per second, one bucket per window."""
    m = TokenBucketModel(RateLimit((2, 1.0)))
    d = m.acquire(0.0)
    assert (d.allowed, d.remaining, d.reset) == (True, 1, 0.5)
    d = m.acquire(0.0)
    assert (d.allowed, d.remaining) == (True, 0)
    d = m.acquire(0.25)
    assert not d.allowed
    assert d.retry_after == pytest.approx(0.25)
    assert run(m, [0.5, 0.5]) == [True, False]
    d = m.acquire(5.0)  # long idle: refilled to capacity, not beyond
    assert (d.allowed, d.remaining) == (True, 1)
    assert run(m, [5.0, 5.0]) == [True, False]


def test_token_bucket_needs_every_bucket() -> None:
    """With two windows the slower bucket decides once it runs dry."""
    m = TokenBucketModel(TWO_WINDOWS)
    assert run(m, [0.0, 0.0, 1.0]) == [True, True, True]
    # The 10 s bucket holds 0.3 tokens at t=1 (3 - 3 + 1 s * 0.3/s).
    d = m.acquire(1.0)
    assert not d.allowed
    assert d.retry_after == pytest.approx(0.7 / 0.3)


def test_single_bucket_has_short_capacity_and_long_rate() -> None:
    """Capacity 2 (the 1 s window), refill 0.3/s (the 10 s window)."""
    m = SingleBucketModel(TWO_WINDOWS)
    assert run(m, [0.0, 0.0]) == [True, True]
    d = m.acquire(1.0)
    assert not d.allowed
    assert d.limit == 2
    assert d.retry_after == pytest.approx(0.7 / 0.3)
    assert m.acquire(1.0 + d.retry_after).allowed


@pytest.mark.parametrize("name", MODELS)
def test_peek_consumes_nothing(name: str) -> None:
    """peek() reports the same decision as acquire() would, without spending budget."""
    m = make_model(name, RateLimit((1, 1.0)))
    assert m.peek(0.0).allowed
    assert m.peek(0.0).allowed
    assert m.acquire(0.0).allowed
    assert not m.peek(0.0).allowed


@pytest.mark.parametrize("name", MODELS)
def test_refused_requests_use_no_budget(name: str) -> None:
    """Hammering while refused does not push the next admission later."""
    quiet = make_model(name, RateLimit((2, 1.0)))
    noisy = make_model(name, RateLimit((2, 1.0)))
    for m in (quiet, noisy):
        m.acquire(0.0)
        m.acquire(0.0)
    for i in range(100):
        noisy.acquire(i / 200)
    assert quiet.earliest(0.5) == noisy.earliest(0.5)


def test_make_model_rejects_unknown_names() -> None:
    """A typo in the model name fails loudly."""
    with pytest.raises(ValueError, match="unknown rate model"):
        make_model("leaky", RateLimit((1, 1.0)))


@pytest.mark.parametrize(
    ("model", "n", "expected"),
    [
        pytest.param("sliding", 0, 0.0, id="none"),
        pytest.param("sliding", 2, 0.0, id="burst"),
        pytest.param("sliding", 3, 1.0, id="sliding-short-window"),
        pytest.param("sliding", 4, 10.0, id="sliding-long-window"),
        pytest.param("fixed", 3, 1.0, id="fixed"),
        pytest.param("token_bucket", 3, 1.0, id="bucket-bounded-by-client"),
        pytest.param("single_bucket", 3, 10 / 3, id="single-bucket-slower"),
        pytest.param("single_bucket", 4, 10.0, id="single-bucket-long"),
    ],
)
def test_best_completion_time_worked_examples(model: str, n: int, expected: float) -> None:
    """Greedy earliest admission under both the server model and the client's windows."""
    assert best_completion_time(model, TWO_WINDOWS, n) == pytest.approx(expected)


def test_best_completion_time_production() -> None:
    """1,000/min caps a burst of 1,001 at one minute; 100 requests take 1 s at 50/s."""
    for model in ("sliding", "fixed", "token_bucket"):
        assert best_completion_time(model, RateLimit.PRODUCTION, 100) == pytest.approx(1.0)
        assert best_completion_time(model, RateLimit.PRODUCTION, 1001) == pytest.approx(60.0)
    # One bucket: 50 at once, then 1000/60 per second; the client's 50/s allows more.
    assert best_completion_time("single_bucket", RateLimit.PRODUCTION, 100) == pytest.approx(3.0)


@settings(max_examples=60, deadline=None)
@given(
    limit=st.integers(1, 5),
    period=st.sampled_from([0.1, 0.5, 1.0, 3.0]),
    gaps=st.lists(st.floats(0.0, 0.7, allow_nan=False), min_size=1, max_size=60),
)
def test_sliding_never_exceeds_the_window(limit: int, period: float, gaps: list[float]) -> None:
    """Property: no period-long interval ever holds more than `limit` sliding admissions, and a
    refused request is admitted at exactly its retry time."""
    m = SlidingWindowModel(RateLimit((limit, period)))
    admitted: list[float] = []
    t = 0.0
    for gap in gaps:
        t += gap
        d = m.acquire(t)
        if not d.allowed:
            # Come back exactly when told to: that must be admitted.
            t += d.retry_after
            d = m.acquire(t)
            assert d.allowed
        admitted.append(t)
    for i, start in enumerate(admitted):
        # The model forgives 1 ns of float rounding (its _EPS): a retry at "exactly" the time it
        # was told may land an ulp early.
        inside = [a for a in admitted[i:] if a < start + period - 1e-9]
        assert len(inside) <= limit


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(MODELS), n=st.integers(1, 40))
def test_best_completion_time_never_beats_the_client_windows(name: str, n: int) -> None:
    """Property: every model's baseline is at least the client's own sliding baseline."""
    rate_limit = RateLimit((3, 1.0), (7, 5.0))
    assert (
        best_completion_time(name, rate_limit, n)
        >= best_completion_time("sliding", rate_limit, n) - 1e-9
    )
    assert math.isfinite(best_completion_time(name, rate_limit, n))
