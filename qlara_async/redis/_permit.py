"""The permits of :class:`~qlara_async.redis.RedisLimiter` and the reports they queue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from .._budget import parse_remaining as _parse_remaining
from .._limiter import _Waiter

if TYPE_CHECKING:
    from ._limiter import RedisLimiter

__all__: list[str] = []

_UNSENT, _ANSWERED, _LOST = 0, 1, 2


class _RedisPermit:
    __slots__ = ("_before", "_counted", "_epoch", "_limiter", "_released", "_worker")

    def __init__(
        self, limiter: RedisLimiter, worker: str, epoch: str, before: int, counted: bool
    ) -> None:
        self._limiter = limiter
        self._worker = worker
        self._epoch = epoch
        self._before = before
        self._counted = counted
        self._released = False

    def release(
        self,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        sent: bool = True,
    ) -> None:
        """Report the request's end (see :class:`~qlara_async._limiter.Permit`); only the first
        call counts. Never blocks: the report goes to Redis from a background task."""
        if self._released:
            return
        self._released = True
        kind = _UNSENT if not sent else (_LOST if status is None else _ANSWERED)
        remaining = -1
        if kind == _ANSWERED and headers is not None:
            parsed = _parse_remaining(headers)
            remaining = -1 if parsed is None else parsed
        self._limiter._finished(
            (self._worker, self._epoch, self._before, kind, remaining, self._counted)
        )

    def __repr__(self) -> str:
        return f"<RedisPermit released={self._released}>"


_Report = tuple[str, str, int, int, int, bool]


class _GrantWaiter(_Waiter):
    """A waiter that may be handed a permit by the head's reservation."""

    __slots__ = ("permit",)

    def __init__(self) -> None:
        super().__init__()
        self.permit: _RedisPermit | None = None
