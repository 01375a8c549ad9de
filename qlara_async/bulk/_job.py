"""``BulkJob``: one job's control (``stop``, ``progress``, ``report``), ``run()`` and ``stream()``.

The work itself is the ``Engine``'s (``_engine.py``); this module is the consumer side: it
hands each outcome to ``on_outcome`` or to the ``OutcomeStream``, turns a cancellation or a
raising callback into an orderly stop, and raises the job's error (a raising hook, a job-wide
401/403/404, an outage past ``max_outage``, a journal or input error) unwrapped once the job
has stopped.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Protocol

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream

from .._config import RetryPolicy
from .._exceptions import ValidationError
from ._engine import Engine
from ._health import HealthGate
from ._options import BulkOptions, Messages, call
from ._outcome import BulkReport, Outcome, Progress, summary

if TYPE_CHECKING:
    from .._resource import Requester


class _HasRequester(Protocol):
    # An AsyncQlara (not imported: the client sits above the bulk sender).
    _api: Requester


__all__ = ["BulkJob", "OutcomeStream"]

log = logging.getLogger("qlara_async.bulk")


class BulkJob:
    """One bulk job: its options, its state while it runs, and its report.

    Made by ``client.bulk.job(...)``; ``client.bulk.run`` and ``client.bulk.stream`` make one
    for you. A job runs once: ``await job.run()`` or ``async with job.stream() as outcomes``.
    ``job.stop()`` asks a running job to stop (the CLI's first Ctrl-C); ``job.report`` is
    the report so far, and final once the job has returned.
    """

    def __init__(
        self,
        client: _HasRequester | Requester,
        messages: Messages,
        options: BulkOptions | None = None,
        **keywords: Any,
    ) -> None:
        # ``BulkJob(client, messages, concurrency=8, ...)`` (the keywords of earlier versions)
        # still works: the keywords are ``BulkOptions``'s.
        if keywords:
            if options is not None:
                raise ValidationError("pass either options or keywords, not both", field="options")
            options = BulkOptions(**keywords)
        self.options = options if options is not None else BulkOptions()
        """The job's checked options."""
        api: Requester = getattr(client, "_api", client)  # type: ignore[arg-type]
        self._engine = Engine(api, messages, self.options)
        self._used = False

    # -- what the job is -----------------------------------------------------------------------

    @property
    def report(self) -> BulkReport:
        """The counts so far; final once the job has returned."""
        return self._engine.report

    @property
    def concurrency(self) -> int:
        """Sender tasks: the ``concurrency`` option, or fewer for a shorter input."""
        return self._engine.senders

    @property
    def total(self) -> int | None:
        """The job's size for progress, when known."""
        return self._engine.total

    @property
    def journal_path(self) -> str | None:
        return self._engine.journal_path

    @property
    def retry_policy(self) -> RetryPolicy:
        """The per-message retry policy the job uses."""
        return self._engine.retry_policy

    @property
    def health(self) -> HealthGate:
        """The job's circuit breaker."""
        return self._engine.health

    # -- control -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop taking new messages; let those in flight finish (up to ``grace_period``).

        Safe to call from a signal handler running on the event loop, and more than once.
        """
        self._engine.stop()

    def abort(self) -> None:
        """Stop now: as ``stop()``, but the sends in flight are cancelled at once instead of
        given ``grace_period`` (each still gets its one outcome; a journal sends it again on a
        resume). For a second Ctrl-C. Safe from a signal handler on the event loop."""
        engine = self._engine
        engine.stop()
        if engine._senders_scope is not None:
            engine._senders_scope.cancel()

    @property
    def stopping(self) -> bool:
        """``stop()`` was called (or the job was cancelled, or failed)."""
        return self._engine.stopping

    def progress(self) -> Progress:
        """A snapshot of the job now."""
        return self._engine.progress()

    # -- running -------------------------------------------------------------------------------

    def _claim(self) -> None:
        if self._used:
            raise RuntimeError("a BulkJob runs once; make a new one")
        self._used = True

    async def run(self) -> BulkReport:
        """Send every message; return the ``BulkReport``.

        Cancelling the task that awaits this stops the job in order (see ``stop()``) and
        returns the report of what was done; an enclosing cancel scope still sees its
        cancellation at its next checkpoint. A bare asyncio ``task.cancel()`` is consumed (the
        task returns the report), so ``asyncio.timeout()`` around ``run()`` does not raise:
        use an anyio cancel scope or ``job.stop()`` to bound a job's time.

        Raises, after the job stopped in order (every message read has its one outcome, the
        journal is committed): the exception of a callback or hook that raised; the
        ``AuthenticationError``/``PermissionDeniedError``/``NotFoundError`` that stopped the
        job (a wrong key or base path fails every message alike); ``BulkOutageError`` when the
        server stayed down past ``max_outage``; a ``JournalError`` or the input's own error.
        ``job.report`` holds the report then.
        """
        self._claim()
        engine = self._engine
        on_outcome = self.options.on_outcome
        out_send, out_recv = anyio.create_memory_object_stream[Outcome](engine.buffer)
        cancelled = False
        callback_error: Exception | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(engine.run, out_send)
                async with out_recv:
                    try:
                        while (outcome := await _receive(out_recv)) is not None:
                            if on_outcome is not None:
                                await call(on_outcome, outcome)
                    except anyio.get_cancelled_exc_class():
                        cancelled = True
                        self.stop()
                        # Outcomes of the sends let finish still reach the callback, within the
                        # grace period: a callback that blocks must not keep a cancelled job
                        # alive (the outcomes are journaled and counted all the same).
                        with anyio.move_on_after(self.options.grace_period, shield=True):
                            try:
                                async for outcome in out_recv:
                                    if on_outcome is not None:
                                        await call(on_outcome, outcome)
                            except Exception as exc:
                                callback_error = exc
                        raise
                    except Exception as exc:
                        # Raised below, after the job stopped, so it is not wrapped in a group.
                        callback_error = exc
                        self.stop()
        except anyio.get_cancelled_exc_class():
            if not cancelled:
                raise
            log.info("bulk: job cancelled; %s", summary(self.report))
        # The job's time ends when the last outcome was handled, not when the last send did
        # (outcomes still queued for on_outcome are part of the job).
        self.report.elapsed = engine.elapsed()
        if callback_error is not None:
            raise callback_error
        if engine.error is not None:
            raise engine.error
        return self.report

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[OutcomeStream]:
        """``async with job.stream() as outcomes: async for o in outcomes: ...``

        Outcomes come in completion order. Leaving the block early stops the job (in-flight
        sends get ``grace_period`` to finish; their outcomes are journaled, not yielded). The
        job's error (see ``run()``) ends the iteration, and is raised again on leaving.
        """
        self._claim()
        engine = self._engine
        out_send, out_recv = anyio.create_memory_object_stream[Outcome](engine.buffer)
        body_error: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(engine.run, out_send)
            try:
                yield OutcomeStream(out_recv, self)
            except Exception as exc:
                # Raised below, after the job stopped, so it is not wrapped in a group.
                body_error = exc
            finally:
                self.stop()
                out_recv.close()
        if body_error is not None:
            raise body_error
        if engine.error is not None:
            raise engine.error


async def _receive(stream: MemoryObjectReceiveStream[Outcome]) -> Outcome | None:
    """The next outcome, ``None`` at the end. One already queued is taken without a scheduling
    point (anyio's ``receive()`` yields to the loop even then, a loop turn per message)."""
    try:
        return stream.receive_nowait()
    except anyio.WouldBlock:
        try:
            return await stream.receive()
        except anyio.EndOfStream:
            return None
    except anyio.EndOfStream:
        return None


class OutcomeStream:
    """The async iterator ``stream()`` yields: outcomes in completion order.

    ``report`` and ``progress()`` give the job's counts so far; ``stop()`` stops it.
    """

    def __init__(self, receive: MemoryObjectReceiveStream[Outcome], job: BulkJob) -> None:
        self._receive = receive
        self.job = job

    def __aiter__(self) -> OutcomeStream:
        return self

    async def __anext__(self) -> Outcome:
        try:
            return await self._receive.receive()
        except (anyio.EndOfStream, anyio.ClosedResourceError):
            error = self.job._engine.error
            if error is not None:
                raise error from None
            raise StopAsyncIteration from None

    @property
    def report(self) -> BulkReport:
        """The job's counts so far."""
        return self.job.report

    def progress(self) -> Progress:
        """A snapshot of the job now."""
        return self.job.progress()

    def stop(self) -> None:
        """Stop the job (see ``BulkJob.stop``)."""
        self.job.stop()
