"""The bottom of the simulator: where it reads time, and how it writes timestamps.

Everything else in :mod:`qlara_async.testing` may import this module; it imports nothing of theirs.
"""

from __future__ import annotations

import time
from typing import Protocol

__all__ = ["SimClock", "SystemClock", "iso_utc"]


class SimClock(Protocol):
    """Where the simulator reads time: ``now()`` monotonic seconds, ``wall()`` Unix seconds.

    ``qlara_async._clock.ManualClock`` fits, for tests that step time by hand.
    """

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def wall(self) -> float:
        """Unix time in seconds."""
        ...


class SystemClock:
    """The real clock: ``time.monotonic()`` and ``time.time()``."""

    __slots__ = ()

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


def iso_utc(wall: float) -> str:
    """``wall`` (Unix seconds) as ISO 8601 UTC to the second, as the API writes timestamps:
    ``2026-04-09T12:34:56Z``."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))
