"""``client.bulk``: ``run``, ``stream`` and ``job``, each with the options as keywords."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from .._config import RetryPolicy
from ._job import BulkJob, OutcomeStream
from ._options import (
    DEFAULT_CONCURRENCY,
    DEFAULT_GRACE_PERIOD,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_OUTAGE,
    DEFAULT_PROGRESS_INTERVAL,
    BulkOptions,
    Messages,
    OnEvent,
    OnOutcome,
    OnProgress,
)
from ._outcome import BulkReport

if TYPE_CHECKING:
    from .._resource import Requester

__all__ = ["BulkResource"]

_OPTION_NAMES = tuple(f.name for f in dataclasses.fields(BulkOptions))


def _options(arguments: dict[str, Any]) -> BulkOptions:
    """The ``BulkOptions`` of a public method's keyword arguments (its ``locals()``).

    The keywords are spelled out in each signature for users and type checkers; they are
    checked once, here, by ``BulkOptions``.
    """
    return BulkOptions(**{name: arguments[name] for name in _OPTION_NAMES if name in arguments})


class BulkResource:
    """``client.bulk``: send many messages, one outcome each.

    ::

        report = await client.bulk.run(messages, concurrency=32, journal="job.sqlite")

        async with client.bulk.stream(messages) as outcomes:
            async for outcome in outcomes:
                print(outcome.index, outcome.status)

    The options are ``BulkOptions``'s (see there); a bad one is a ``ValidationError`` naming
    it, raised before anything is read or sent.
    """

    def __init__(self, api: Requester) -> None:
        self._api = api

    def job(
        self,
        messages: Messages,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        journal: str | os.PathLike[str] | None = None,
        on_outcome: OnOutcome | None = None,
        on_progress: OnProgress | None = None,
        on_event: OnEvent | None = None,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        total: int | None = None,
        grace_period: float = DEFAULT_GRACE_PERIOD,
        retry_policy: RetryPolicy | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        buffer: int | None = None,
        max_outage: float | None = DEFAULT_MAX_OUTAGE,
    ) -> BulkJob:
        """A ``BulkJob`` to run later (``await job.run()``), with ``job.stop()`` at hand.

        The options are ``run()``'s.
        """
        return BulkJob(self._api, messages, _options(locals()))

    async def run(
        self,
        messages: Messages,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        journal: str | os.PathLike[str] | None = None,
        on_outcome: OnOutcome | None = None,
        on_progress: OnProgress | None = None,
        on_event: OnEvent | None = None,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        total: int | None = None,
        grace_period: float = DEFAULT_GRACE_PERIOD,
        retry_policy: RetryPolicy | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        buffer: int | None = None,
        max_outage: float | None = DEFAULT_MAX_OUTAGE,
    ) -> BulkReport:
        """Send every message of ``messages``, at most ``concurrency`` at a time; return the report.

        ``messages``: any iterable or async iterable of ``SmsMessage``/``RcsMessage``/
        ``WhatsAppMessage``, read lazily (and closed when the job ends early). ``journal``: a
        SQLite file that makes the job resumable (see ``qlara_async.bulk._journal``).
        ``on_outcome(outcome)`` is called with each ``Outcome`` in completion order, one call
        at a time (plain or ``async``). ``max_outage``: seconds a server failing as a whole may
        keep the job paused before it stops and raises ``BulkOutageError`` (``None``: wait for
        ever). The other options: see ``BulkOptions``. What ``run()`` raises, after the job
        stopped in order: see ``BulkJob.run``.
        """
        return await BulkJob(self._api, messages, _options(locals())).run()

    @asynccontextmanager
    async def stream(
        self,
        messages: Messages,
        *,
        concurrency: int = DEFAULT_CONCURRENCY,
        journal: str | os.PathLike[str] | None = None,
        on_progress: OnProgress | None = None,
        on_event: OnEvent | None = None,
        progress_interval: float = DEFAULT_PROGRESS_INTERVAL,
        total: int | None = None,
        grace_period: float = DEFAULT_GRACE_PERIOD,
        retry_policy: RetryPolicy | None = None,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        buffer: int | None = None,
        max_outage: float | None = DEFAULT_MAX_OUTAGE,
    ) -> AsyncIterator[OutcomeStream]:
        """Like ``run()``, yielding the outcomes as an async iterator in completion order.

        Leaving the block early stops the job: nothing new is sent and in-flight sends get
        ``grace_period`` seconds. ``outcomes.report`` holds the counts.
        """
        job = BulkJob(self._api, messages, _options(locals()))
        async with job.stream() as outcomes:
            yield outcomes
