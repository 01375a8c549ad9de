"""RateLimit and path parameters: bad values fail at once, with a message that says why."""

from __future__ import annotations

import pytest

from qlara_async import ManualClock, RateLimit, ValidationError
from qlara_async._resource import path_param


@pytest.mark.parametrize(
    "windows",
    [
        pytest.param((), id="no-windows"),
        pytest.param(((0, 1.0),), id="zero-limit"),
        pytest.param(((True, 1.0),), id="bool-limit"),
        pytest.param(((1.5, 1.0),), id="float-limit"),
        pytest.param(((5, 0),), id="zero-period"),
        pytest.param(((5, float("inf")),), id="infinite-period"),
        pytest.param(((5,),), id="not-a-pair"),
        pytest.param((5,), id="not-a-tuple"),
    ],
)
def test_rate_limit_refuses(windows: tuple[object, ...]) -> None:
    """A window that is not a positive (int, seconds) pair is refused."""
    with pytest.raises(ValueError):
        RateLimit(*windows)  # type: ignore[arg-type]


def test_rate_limit_value_semantics() -> None:
    """Windows compare and hash by value, iterate shortest first, and know their slowest pace."""
    limit = RateLimit.of([(1000, 60), (50, 1)])
    assert limit == RateLimit.PRODUCTION and hash(limit) == hash(RateLimit.PRODUCTION)
    assert list(limit) == [(50, 1.0), (1000, 60.0)]
    assert limit.min_interval == pytest.approx(0.06)
    assert limit != "RateLimit" and RateLimit((1, 0.5)) != limit


@pytest.mark.parametrize("value", [None, "", "  ", True])
def test_path_param_refuses_empty(value: object) -> None:
    """An empty id would turn /contacts/{id} into /contacts/: refused, naming the parameter."""
    with pytest.raises(ValidationError) as info:
        path_param("contact_id", value)
    assert info.value.field == "contact_id"
    assert "contact_id" in str(info.value)


def test_path_param_quotes() -> None:
    """Ids are quoted for the path; a caller may keep chosen separators."""
    assert path_param("id", "a b/c") == "a%20b%2Fc"
    assert path_param("key", "a/b c", safe="/") == "a/b%20c"
    assert path_param("id", 42) == "42"


@pytest.mark.anyio
async def test_manual_clock() -> None:
    """ManualClock moves only when slept on or advanced, and records the sleeps."""
    clock = ManualClock(10.0)
    await clock.sleep(2.5)
    await clock.sleep(-1)
    clock.advance(1)
    assert clock.now() == 13.5
    assert clock.sleeps == [2.5, 0.0]
    assert clock.wall() == pytest.approx(1_700_000_013.5)
    assert "13.5" in repr(clock)
