"""Time, injectable.

The limiter, the retry loop and the bulk sender read time and sleep only through a ``Clock``, so
tests can run them on a virtual clock (trio's ``MockClock`` through anyio, or ``ManualClock``)
and never sleep for real.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable

import anyio
import anyio.lowlevel

__all__ = ["AnyioClock", "Clock", "ManualClock", "checkpoint"]


@runtime_checkable
class Clock(Protocol):
    """Where the library reads time and waits."""

    def now(self) -> float:
        """Monotonic seconds, on the event loop's clock."""
        ...

    def wall(self) -> float:
        """Unix time in seconds, for HTTP dates and ``X-RateLimit-Reset``."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (zero or less still yields once to the event loop)."""
        ...


class AnyioClock:
    """The real clock: the event loop's time (virtual under trio's MockClock) and ``anyio.sleep``."""

    __slots__ = ()

    def now(self) -> float:
        if _on_asyncio():
            # anyio's asyncio backend reads this same clock; asking anyio first costs a
            # backend lookup, and a send reads the time three times.
            return asyncio.get_running_loop().time()
        return anyio.current_time()  # trio (or no loop: anyio says what is wrong)

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "AnyioClock()"


try:
    # Trio marks its runs in sniffio (trio depends on it): also as a guest on an asyncio loop,
    # where an asyncio loop is running but trio's clock and scheduler are the ones that count.
    from sniffio import current_async_library_cvar as _sniffio_cvar
    from sniffio import thread_local as _sniffio_local
except ImportError:  # no sniffio, so no trio
    _sniffio_cvar = _sniffio_local = None  # type: ignore[assignment]


def _on_asyncio() -> bool:
    """Running on asyncio, as anyio would say, at a fraction of its cost."""
    if _sniffio_local is not None and (
        _sniffio_local.name is not None or _sniffio_cvar.get() is not None
    ):
        return (_sniffio_local.name or _sniffio_cvar.get()) == "asyncio"
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


async def checkpoint() -> None:
    """``anyio.lowlevel.checkpoint()``: a scheduling point where a cancellation is seen;
    asyncio's own ``sleep(0)`` on asyncio (what anyio runs there, without its backend lookup)."""
    if _on_asyncio():
        await asyncio.sleep(0)
    else:
        await anyio.lowlevel.checkpoint()


class ManualClock:
    """A clock that only moves when slept on or advanced; for single-task tests.

    ``sleep`` advances time by the requested amount at once and records it in ``sleeps``.
    """

    def __init__(self, start: float = 0.0, *, wall_offset: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_offset = wall_offset
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._wall_offset + self._now

    def advance(self, seconds: float) -> None:
        """Move time forward without a sleep being recorded."""
        self._now += seconds

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.sleeps.append(seconds)
        self._now += seconds
        await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return f"ManualClock(now={self._now!r})"
