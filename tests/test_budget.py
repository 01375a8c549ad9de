"""The limiter's accounting (``qlara_async._budget``): the default margin, the budget headers,
the pure rule driven in event time."""

from __future__ import annotations

import math

import pytest

from qlara_async import RateLimit
from qlara_async._budget import _Core, default_margin, parse_remaining


def test_default_margin() -> None:
    """0.5% of the period, at least 1 ms."""
    assert default_margin(60.0) == pytest.approx(0.3)
    assert default_margin(0.01) == 0.001


# -- headers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        pytest.param({"X-RateLimit-Remaining": "49"}, 49, id="int"),
        pytest.param({"x-ratelimit-remaining": " 7 "}, 7, id="lower-case-spaces"),
        pytest.param({"X-RateLimit-Remaining": "3.9"}, 3, id="float-floors"),
        pytest.param({"X-RateLimit-Remaining": "0"}, 0, id="zero"),
        pytest.param({}, None, id="absent"),
        pytest.param({"X-RateLimit-Remaining": ""}, None, id="empty"),
        pytest.param({"X-RateLimit-Remaining": "lots"}, None, id="garbage"),
        pytest.param({"X-RateLimit-Remaining": "-1"}, None, id="negative"),
        pytest.param({"X-RateLimit-Remaining": "nan"}, None, id="nan"),
        pytest.param({"X-RateLimit-Remaining": "inf"}, None, id="inf"),
    ],
)
def test_parse_remaining(headers: dict[str, str], expected: int | None) -> None:
    """X-RateLimit-Remaining is read leniently; malformed values are ignored."""
    assert parse_remaining(headers) == expected


# -- the pure accounting ------------------------------------------------------------------------


def test_burst_up_to_the_smallest_window_then_only_a_completion_helps() -> None:
    """Before any response, up to min N may be in flight; then the wait is unbounded."""
    core = _Core(RateLimit((3, 1.0), (10, 60.0)))
    for _ in range(3):
        assert core.admissible(0.0) == 0.0
        core.admit(0.0)
    assert core.admissible(0.0) == math.inf


def test_a_completion_counts_for_a_whole_window_after_it() -> None:
    """A request is accounted at its completion: its slot frees P + margin later."""
    core = _Core(RateLimit((1, 1.0)), margin=0.01)
    ticket = core.admit(0.0)
    core.complete(ticket, 0.4, status=200, headers=None, sent=True)
    assert core.admissible(0.4) == pytest.approx(1.01)
    assert core.admissible(1.42) == 0.0


def test_unsent_permit_costs_nothing() -> None:
    """release(sent=False) gives the slot back as if it was never taken."""
    core = _Core(RateLimit((1, 1.0)))
    core.complete(core.admit(0.0), 0.0, status=None, headers=None, sent=False)
    assert core.in_flight == 0
    assert core.admissible(0.0) == 0.0
    assert all(not log for log in core.expiries)


def test_lost_request_is_counted_grace_later() -> None:
    """A request that ended without a response may still land: it counts from now + grace."""
    core = _Core(RateLimit((1, 1.0)), margin=0.01)
    core.complete(core.admit(0.0), 0.5, status=None, headers=None, sent=True)
    # completion 0.5 + grace 0.01, then P + margin = 1.01
    assert core.admissible(0.5) == pytest.approx(1.02)


def test_later_completions_never_expire_before_a_lost_one() -> None:
    """The deques stay sorted when a lost request is dated in the future."""
    core = _Core(RateLimit((3, 1.0)), margin=0.1)
    a, b = core.admit(0.0), core.admit(0.0)
    core.complete(a, 1.0, status=None, headers=None, sent=True)
    core.complete(b, 1.05, status=200, headers=None, sent=True)
    log = core.expiries[0]
    assert list(log) == sorted(log)
    assert log[0] == pytest.approx(1.0 + 0.1 + 1.1)


def test_conservative_bucket_paces_after_the_burst() -> None:
    """Without headers the bucket (capacity min N, rate min N/P) sets the pace for a one-bucket
    server: with 10/s and 20/10s, after a burst of 10 only 2/s (1/0.5 s) may follow."""
    core = _Core(RateLimit((10, 1.0), (20, 10.0)), margin=0.0)
    tickets = [core.admit(0.0) for _ in range(10)]
    for ticket in tickets:
        core.complete(ticket, 0.0, status=200, headers=None, sent=True)
    # The short window holds all ten until 1.0; by then the bucket has drained 2 tokens.
    assert core.admissible(0.5) == pytest.approx(0.5)
    assert core.admissible(1.0) == 0.0
    core.admit(1.0)
    core.admit(1.0)
    assert core.admissible(1.0) == pytest.approx(0.5)


def test_server_remaining_lowers_the_bucket_debt() -> None:
    """A response that reports more room than the bucket assumes lets the bucket adopt it,
    minus everything that may still arrive after it (completions since, in flight)."""
    core = _Core(RateLimit((10, 1.0), (20, 10.0)))
    tickets = [core.admit(0.0) for _ in range(10)]
    for ticket in tickets[:9]:
        core.complete(ticket, 0.1, status=200, headers=None, sent=True)
    assert core.level == pytest.approx(9.0)
    # The last one says 10 remain; 9 others completed since it was released: 1 is certain.
    updated = core.complete(
        tickets[9], 0.1, status=200, headers={"X-RateLimit-Remaining": "10"}, sent=True
    )
    assert updated
    assert core.level == pytest.approx(9.0)  # C - in_flight - budget = 10 - 0 - 1


def test_server_remaining_never_raises_the_debt() -> None:
    """A pessimistic Remaining is ignored: the bucket's own bound is better."""
    core = _Core(RateLimit((10, 1.0), (20, 10.0)))
    core.complete(
        core.admit(0.0), 0.1, status=200, headers={"X-RateLimit-Remaining": "0"}, sent=True
    )
    assert core.level == pytest.approx(1.0)


def test_headers_ignored_when_switched_off() -> None:
    """use_headers=False never reads them."""
    core = _Core(RateLimit((10, 1.0)), use_headers=False)
    updated = core.complete(
        core.admit(0.0), 0.1, status=200, headers={"X-RateLimit-Remaining": "9"}, sent=True
    )
    assert not updated


def test_pause_blocks_and_extends_but_never_shortens() -> None:
    """pause(s) holds everything until now + s; a shorter later pause changes nothing."""
    core = _Core(RateLimit((10, 1.0)))
    core.pause(0.0, 2.0)
    core.pause(1.0, 0.5)
    assert core.admissible(1.0) == pytest.approx(1.0)
    assert core.admissible(2.0) == 0.0
