"""The limiter with many tasks, in virtual time: trio's MockClock through anyio, so waits that
would take seconds take none, and the order in which tasks go is exact."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import TypeVar

import anyio
import pytest
from anyio.abc import TaskStatus
from anyio.lowlevel import checkpoint
from trio.testing import MockClock

from qlara_async import RateLimit
from qlara_async._limiter import Limiter, LocalLimiter, NullLimiter, Permit

pytestmark = pytest.mark.anyio

F = TypeVar("F", bound=Callable[..., Awaitable[None]])


def deadline(test: F) -> F:
    """Fail instead of hanging: under the auto-jumping clock a deadlock jumps to the deadline."""

    @functools.wraps(test)
    async def wrapper(*args: object, **kwargs: object) -> None:
        with anyio.fail_after(3600):
            await test(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@pytest.fixture
def anyio_backend() -> tuple[str, dict[str, object]]:
    """Every test here runs on trio with a fresh auto-jumping virtual clock."""
    return ("trio", {"clock": MockClock(autojump_threshold=0)})


async def _settle() -> None:
    """Let every runnable task run until it blocks (the virtual clock does not move)."""
    for _ in range(20):
        await checkpoint()


async def _queue(
    limiter: Limiter,
    tg: anyio.abc.TaskGroup,
    names: list[str],
    order: list[str],
    *,
    priority: bool = False,
    hold: float = 0.0,
) -> None:
    """Start one task per name, each queued before the next starts; each records when it got
    its permit, holds it ``hold`` seconds, then releases it."""

    async def one(name: str, *, task_status: TaskStatus[None]) -> None:
        task_status.started()
        permit = await limiter.acquire(priority=priority)
        order.append(name)
        await anyio.sleep(hold)
        permit.release(status=200)

    for name in names:
        await tg.start(one, name)
        await _settle()


@deadline
async def test_waiters_are_served_first_come_first_served() -> None:
    """Tasks get their turn in the order they asked, whatever the timing."""
    limiter = LocalLimiter(RateLimit((2, 0.5)))
    order: list[str] = []
    names = [f"t{i}" for i in range(12)]
    async with anyio.create_task_group() as tg:
        await _queue(limiter, tg, names, order, hold=0.03)
    assert order == names


@deadline
async def test_priority_waiters_go_before_earlier_ones() -> None:
    """A retry after a 429 (priority) overtakes ordinary waiters, FIFO among retries."""
    limiter = LocalLimiter(RateLimit((1, 0.2)))
    order: list[str] = []
    async with anyio.create_task_group() as tg:
        await _queue(limiter, tg, ["a", "b", "c"], order, hold=0.01)
        await _queue(limiter, tg, ["r1", "r2"], order, priority=True, hold=0.01)
    assert order == ["a", "r1", "r2", "b", "c"]


@deadline
async def test_a_cancelled_waiter_leaves_no_trace() -> None:
    """Cancelling a queued acquire consumes nothing, and the turn passes to the next."""
    limiter = LocalLimiter(RateLimit((1, 0.5)))
    first = await limiter.acquire()
    got: list[str] = []

    async def wait_for(name: str, scope_out: list[anyio.CancelScope]) -> None:
        with anyio.CancelScope() as scope:
            scope_out.append(scope)
            permit = await limiter.acquire()
            got.append(name)
            permit.release(status=200)

    scopes: list[anyio.CancelScope] = []
    async with anyio.create_task_group() as tg:
        for name in ("head", "middle", "tail"):
            tg.start_soon(wait_for, name, scopes)
            await _settle()
        scopes[1].cancel()  # the middle one gives up
        await _settle()
        scopes[0].cancel()  # then the head gives up
        await _settle()
        first.release(status=200)
    assert got == ["tail"]
    assert limiter.in_flight == 0
    assert limiter.waiting == 0


@deadline
async def test_cancelling_the_sleeping_head_wakes_the_next_in_time() -> None:
    """The head sleeps until a window frees; if it is cancelled, the next one goes at that
    time, not later."""
    limiter = LocalLimiter(RateLimit((1, 1.0)), margin=0.0)
    (await limiter.acquire()).release(status=200)
    start = anyio.current_time()
    when: list[float] = []

    head_scope = anyio.CancelScope()

    async def head() -> None:
        with head_scope:
            await limiter.acquire()

    async def second() -> None:
        (await limiter.acquire()).release(status=200)
        when.append(anyio.current_time() - start)

    async with anyio.create_task_group() as tg:
        tg.start_soon(head)
        await _settle()
        tg.start_soon(second)
        await _settle()
        await anyio.sleep(0.5)
        head_scope.cancel()
    assert when == [pytest.approx(1.0)]


@deadline
async def test_pause_holds_every_task_and_the_retry_goes_first() -> None:
    """A 429's pause stops every task until it ends; the throttled request's retry goes first,
    then the others in their order (with and without a rate limit)."""
    for limiter in (LocalLimiter(RateLimit((10, 1.0))), NullLimiter()):
        assert await _pause_then_send(limiter) == [("retry", 2.0), ("a", 2.0), ("b", 2.0)]


async def _pause_then_send(limiter: Limiter) -> list[tuple[str, float]]:
    order: list[tuple[str, float]] = []
    start = anyio.current_time()

    async def send(name: str, *, priority: bool = False) -> None:
        permit = await limiter.acquire(priority=priority)
        order.append((name, round(anyio.current_time() - start, 6)))
        permit.release(status=200)

    limiter.pause(2.0)
    async with anyio.create_task_group() as tg:
        for name in ("a", "b"):
            tg.start_soon(send, name)
            await _settle()
        tg.start_soon(functools.partial(send, "retry", priority=True))
    return order


@deadline
async def test_a_release_wakes_a_waiter_blocked_on_in_flight() -> None:
    """With min N in flight the head waits for a release, and goes the moment it comes."""
    limiter = LocalLimiter(RateLimit((2, 0.5), (100, 60.0)))
    held = [await limiter.acquire(), await limiter.acquire()]
    went_at: list[float] = []

    async def waiter() -> None:
        permit = await limiter.acquire()
        went_at.append(anyio.current_time())
        permit.release(status=200, headers={"X-RateLimit-Remaining": "50"})

    async with anyio.create_task_group() as tg:
        tg.start_soon(waiter)
        await anyio.sleep(0.3)
        held[0].release(status=200, sent=False)  # never sent: frees the slot at once
        released_at = anyio.current_time()
    assert went_at == [pytest.approx(released_at)]
    held[1].release(status=None)


@deadline
async def test_no_window_exceeded_with_many_tasks_and_delays() -> None:
    """64 tasks, random network delays: completions never let more than N go per window."""
    import random

    rate_limit = RateLimit((5, 0.25), (30, 3.0))
    limiter = LocalLimiter(rate_limit)
    rng = random.Random(7)
    released: list[float] = []

    async def worker(count: int) -> None:
        for _ in range(count):
            permit: Permit = await limiter.acquire()
            released.append(anyio.current_time())
            await anyio.sleep(rng.choice([0.0, 0.001, 0.05, 0.4]))
            permit.release(status=200)

    async with anyio.create_task_group() as tg:
        for _ in range(64):
            tg.start_soon(worker, 2)
    assert len(released) == 128
    released.sort()
    for limit, period in rate_limit.windows:
        for i in range(len(released) - limit):
            assert released[i + limit] - released[i] >= period
