"""A bulk job's options: one frozen object, and the one place every option is checked.

``client.bulk.run``/``stream``/``job`` take the options as keywords (users need the signatures);
they build one ``BulkOptions`` at once, so a bad option is a ``ValidationError`` naming it before
anything is read or sent, and everything below receives the checked object.
"""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .._config import RetryPolicy
from .._exceptions import ValidationError
from ..models import Message
from ._health import HealthGate
from ._outcome import BulkEvent, Outcome, Progress

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_GRACE_PERIOD",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_OUTAGE",
    "DEFAULT_PROGRESS_INTERVAL",
    "MAX_BUFFER",
    "MAX_CONCURRENCY",
    "BulkOptions",
    "Messages",
    "OnEvent",
    "OnOutcome",
    "OnProgress",
]

DEFAULT_CONCURRENCY = 32
DEFAULT_GRACE_PERIOD = 10.0
DEFAULT_MAX_ATTEMPTS = 25
DEFAULT_PROGRESS_INTERVAL = 1.0
DEFAULT_MAX_OUTAGE = 300.0
"""Seconds a job waits for a server that fails as a whole before it stops (``None``: for ever)."""
MAX_CONCURRENCY = 10_000
"""More senders than this only cost memory: no plan admits that many requests in flight."""
MAX_BUFFER = 10_000

Messages = Iterable[Message] | AsyncIterable[Message]
"""What a job reads: any iterable or async iterable of messages, read lazily."""
OnOutcome = Callable[[Outcome], Awaitable[None] | None]
OnProgress = Callable[[Progress], Awaitable[None] | None]
OnEvent = Callable[[BulkEvent], None]


async def call(callback: Callable[[Any], Awaitable[None] | None], value: Any) -> None:
    """Call a user's hook, awaiting it when it is a coroutine function."""
    result = callback(value)
    if inspect.isawaitable(result):
        await result


def _int(name: str, value: Any, low: int, high: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(
            f"{name} must be an int, got {type(value).__name__} {value!r}", field=name
        )
    if value < low or (high is not None and value > high):
        bound = f">= {low}" if high is None else f"between {low} and {high:,}"
        raise ValidationError(f"{name} must be {bound}, got {value!r}", field=name)


def _seconds(name: str, value: Any, *, positive: bool, finite: bool) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
        raise ValidationError(
            f"{name} must be a number of seconds, got {type(value).__name__} {value!r}",
            field=name,
        )
    if (positive and not value > 0) or value < 0 or (finite and math.isinf(value)):
        what = "a finite number > 0" if finite else ("> 0" if positive else ">= 0")
        raise ValidationError(f"{name} must be {what}, got {value!r}", field=name)


def _callable(name: str, value: Any) -> None:
    if value is not None and not callable(value):
        raise ValidationError(
            f"{name} must be a function or None, got {type(value).__name__}", field=name
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BulkOptions:
    """Every option of a bulk job, checked when made (``ValidationError(field=<option>)``).

    ``concurrency``: messages in flight at most (1 to ``MAX_CONCURRENCY``); a job never starts
    more senders than its ``total`` when that is known. ``journal``: a SQLite file that makes
    the job resumable. ``on_outcome(outcome)``: each ``Outcome`` in completion order, one call at
    a time (plain or ``async``). ``on_progress(progress)``: every ``progress_interval`` seconds
    and at the end. ``on_event(event)``: each request, retry, throttle, requeue, pause and resume
    (plain, called inline: keep it quick). ``total``: the job's size for progress when
    ``len(messages)`` is not available. ``grace_period``: seconds in-flight sends get once the
    job is stopped. ``retry_policy``: per-message retries (default: the client's, with backoff
    capped at 2 s and every 429 ``Retry-After`` waited out). ``max_attempts``: a message whose
    retries ran out while the server was failing as a whole goes again under the same id until
    it has made this many attempts. ``buffer``: messages read ahead of the senders (default
    ``min(concurrency, 64)``). ``max_outage``: seconds the job may stay paused on a server that
    fails as a whole before it stops (``None``: wait for ever). ``health_gate``: a
    ``HealthGate`` of your own (tests, tuning).
    """

    concurrency: int = DEFAULT_CONCURRENCY
    journal: str | os.PathLike[str] | None = None
    on_outcome: OnOutcome | None = None
    on_progress: OnProgress | None = None
    on_event: OnEvent | None = None
    progress_interval: float = DEFAULT_PROGRESS_INTERVAL
    total: int | None = None
    grace_period: float = DEFAULT_GRACE_PERIOD
    retry_policy: RetryPolicy | None = None
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    buffer: int | None = None
    max_outage: float | None = DEFAULT_MAX_OUTAGE
    health_gate: HealthGate | None = None

    def __post_init__(self) -> None:
        _int("concurrency", self.concurrency, 1, MAX_CONCURRENCY)
        if self.journal is not None and not isinstance(self.journal, (str, os.PathLike)):
            raise ValidationError(
                f"journal must be a path or None, got {type(self.journal).__name__}",
                field="journal",
            )
        _callable("on_outcome", self.on_outcome)
        _callable("on_progress", self.on_progress)
        _callable("on_event", self.on_event)
        _seconds("progress_interval", self.progress_interval, positive=True, finite=True)
        if self.total is not None:
            _int("total", self.total, 0)
        _seconds("grace_period", self.grace_period, positive=False, finite=False)
        if self.retry_policy is not None and not isinstance(self.retry_policy, RetryPolicy):
            raise ValidationError(
                f"retry_policy must be a RetryPolicy or None, got {type(self.retry_policy).__name__}",
                field="retry_policy",
            )
        _int("max_attempts", self.max_attempts, 1)
        if self.buffer is not None:
            _int("buffer", self.buffer, 0, MAX_BUFFER)
        if self.max_outage is not None:
            _seconds("max_outage", self.max_outage, positive=True, finite=False)
        if self.health_gate is not None and not isinstance(self.health_gate, HealthGate):
            raise ValidationError(
                f"health_gate must be a HealthGate or None, got {type(self.health_gate).__name__}",
                field="health_gate",
            )

    @property
    def journal_path(self) -> str | None:
        """``journal`` as a string path."""
        return os.fspath(self.journal) if self.journal is not None else None

    def senders(self, total: int | None) -> int:
        """How many sender tasks a job of ``total`` messages needs (at least one)."""
        if total is None:
            return self.concurrency
        return max(1, min(self.concurrency, total))
