"""The pure retry decisions: which statuses retry, the backoff schedule, Retry-After parsing."""

from __future__ import annotations

import email.utils

import pytest
from hypothesis import given
from hypothesis import strategies as st

from qlara_async import RetryPolicy
from qlara_async._retry import backoff_delay, is_retryable_status, parse_retry_after


@pytest.mark.parametrize("status", [429, 500, 502, 503, 504, 599])
def test_retryable_statuses(status: int) -> None:
    """429 and every 5xx are transient."""
    assert is_retryable_status(status)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 418])
def test_final_statuses(status: int) -> None:
    """Refusals of the request itself are never retried."""
    assert not is_retryable_status(status)


def test_backoff_schedule_is_the_references() -> None:
    """Retries wait 1, 2, 4, 8 s with no jitter drawn."""
    policy = RetryPolicy()
    assert [backoff_delay(policy, n, lambda: 0.0) for n in (1, 2, 3, 4)] == [1, 2, 4, 8]


@given(n=st.integers(min_value=1, max_value=2000), r=st.floats(min_value=0, max_value=0.999))
def test_backoff_jitter_bounds(n: int, r: float) -> None:
    """Every wait is the capped exponential plus 0-500 ms of jitter, never an overflow."""
    policy = RetryPolicy()
    delay = backoff_delay(policy, n, lambda: r)
    base = min(policy.backoff_max, 2.0 ** min(n - 1, 60))
    assert base <= delay < base + 0.5


def test_retry_after_seconds_header() -> None:
    """Delta-seconds in the header win over the body."""
    assert parse_retry_after({"retry-after": "12"}, {"retryAfter": 3}, now_wall=0) == 12.0


def test_retry_after_http_date() -> None:
    """An HTTP date is turned into seconds from now."""
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after({"retry-after": date}, None, now_wall=now) == pytest.approx(30)


def test_retry_after_past_date_is_zero() -> None:
    """A date already past means: go now."""
    date = email.utils.formatdate(1000, usegmt=True)
    assert parse_retry_after({"retry-after": date}, None, now_wall=5000) == 0.0


def test_retry_after_from_body() -> None:
    """Without the header, the body's retryAfter is used."""
    assert parse_retry_after({}, {"retryAfter": 7}, now_wall=0) == 7.0


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        pytest.param({"retry-after": "soon"}, None, id="garbage-header"),
        pytest.param({}, {"retryAfter": "12"}, id="string-in-body"),
        pytest.param({}, {"retryAfter": True}, id="bool-in-body"),
        pytest.param({"retry-after": "nan"}, "text body", id="nan"),
        pytest.param({}, None, id="nothing"),
    ],
)
def test_retry_after_unusable(headers: dict[str, str], body: object) -> None:
    """Values that say nothing usable give None (the caller falls back to backoff)."""
    assert parse_retry_after(headers, body, now_wall=0) is None


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"max_retries": -1}, id="negative-retries"),
        pytest.param({"jitter": -0.1}, id="negative-jitter"),
        pytest.param({"max_retry_after": float("nan")}, id="nan-cap"),
    ],
)
def test_retry_policy_refuses_bad_values(kwargs: dict[str, float]) -> None:
    """A policy that makes no sense fails at construction."""
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]
