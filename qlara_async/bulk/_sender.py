"""The bulk sender: ``client.bulk.run(...)``, ``client.bulk.stream(...)`` and ``BulkJob``.

The shape of a job (one task group, three kinds of task)::

    input --> producer --[work stream: small buffer]--> N senders --[outcome stream]--> consumer
               |  validate, give the id,                  |  send through the limiter,
               |  skip what the journal shows done        |  the retry policy and the health gate;
               |                                          |  journal commit, then the outcome
    journal <--+------------------------------------------+

* Memory is bounded by ``concurrency`` plus two small buffers: the input is read only as fast as
  senders free up, and ``run()`` keeps no outcomes.
* Every message taken from the input ends in exactly one place: an ``Outcome`` (accepted,
  rejected, failed), ``skipped`` (done in an earlier run, per the journal) or ``not_sent``
  (the job was stopped before its first attempt).
* Stopping (``BulkJob.stop()``, cancelling the task that runs the job, leaving ``stream()``
  early): the producer stops reading, messages not yet started become ``not_sent``, messages in
  flight get ``grace_period`` seconds to finish, the journal is committed, and the report says
  what was not sent. The job's tasks run in a shielded scope so a cancellation from outside is
  turned into this orderly stop instead of tearing sends down mid-flight.
"""

from __future__ import annotations

import dataclasses
import inspect
import logging
import os
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Sized,
)
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
import msgspec
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._config import RetryPolicy
from .._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    InternalServerError,
    QlaraError,
    RateLimitError,
    ValidationError,
)
from .._transport import RequestEvent, RequestStats
from ..models import Message, PreparedMessage, prepare_message
from ._health import HealthGate
from ._journal import Journal, JournalMismatchError, JournalRow, digest
from ._outcome import BulkEvent, BulkReport, Outcome, OutcomeStatus, Progress

if TYPE_CHECKING:
    from .._client import AsyncQlara

__all__ = ["BulkJob", "BulkResource", "OutcomeStream"]

log = logging.getLogger("qlara_async.bulk")

DEFAULT_CONCURRENCY = 32
DEFAULT_GRACE_PERIOD = 10.0
DEFAULT_MAX_ATTEMPTS = 25
DEFAULT_PROGRESS_INTERVAL = 1.0
# Per-message backoff in a job is capped here: the health gate, not long per-message sleeps,
# is what waits out a failing server, and a sender asleep in an 8 s backoff holds its slot.
_BULK_BACKOFF_MAX = 2.0

Messages = Iterable[Message] | AsyncIterable[Message]
"""What a job reads: any iterable or async iterable of messages, read lazily."""
OnOutcome = Callable[[Outcome], Awaitable[None] | None]
OnProgress = Callable[[Progress], Awaitable[None] | None]
OnEvent = Callable[[BulkEvent], None]


class _Item:
    """One message between the producer and a sender."""

    __slots__ = (
        "claimed",
        "digest",
        "error",
        "index",
        "message_id",
        "prepared",
        "prior_attempts",
    )

    def __init__(
        self,
        index: int,
        prepared: PreparedMessage | None,
        message_id: str | None,
        digest: bytes,
        error: ValidationError | None = None,
        prior_attempts: int = 0,
    ) -> None:
        self.index = index
        self.prepared = prepared
        self.message_id = message_id
        self.digest = digest
        self.error = error
        self.prior_attempts = prior_attempts
        self.claimed = False
        """A sender took it, or it was counted as not sent: either, once."""


def _invalid_digest(message: object) -> bytes:
    # A message that fails validation has no body; its identity is its own encoding.
    try:
        raw = msgspec.json.encode(message)
    except (TypeError, msgspec.EncodeError):
        raw = repr(message).encode()
    return digest(b"invalid\0" + raw)


def _check_concurrency(concurrency: int) -> int:
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValidationError(
            f"concurrency must be an int >= 1, got {concurrency!r}", field="concurrency"
        )
    return concurrency


class BulkJob:
    """One bulk job: its options, its state while it runs, and its report.

    Made by ``client.bulk.job(...)``; ``client.bulk.run`` and ``client.bulk.stream`` make one
    for you. A job runs once: ``await job.run()`` or ``async with job.stream() as outcomes``.
    ``job.stop()`` asks a running job to stop (the CLI's first Ctrl-C); ``job.report`` is
    the report so far, and final once the job has returned.
    """

    def __init__(
        self,
        client: AsyncQlara,
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
        health_gate: HealthGate | None = None,
    ) -> None:
        self._client = client
        self._messages = messages
        self.concurrency = _check_concurrency(concurrency)
        self.journal_path = os.fspath(journal) if journal is not None else None
        self._on_outcome = on_outcome
        self._on_progress = on_progress
        self._on_event = on_event
        self.progress_interval = progress_interval
        if total is None and isinstance(messages, Sized):
            total = len(messages)
        self.total = total
        if grace_period < 0:
            raise ValidationError("grace_period must be >= 0", field="grace_period")
        if not progress_interval > 0:
            raise ValidationError("progress_interval must be > 0", field="progress_interval")
        self.grace_period = grace_period
        if retry_policy is None:
            base = client.retry_policy
            retry_policy = dataclasses.replace(
                base, backoff_max=min(base.backoff_max, _BULK_BACKOFF_MAX)
            )
        self.retry_policy = retry_policy
        if max_attempts < 1:
            raise ValidationError("max_attempts must be >= 1", field="max_attempts")
        self.max_attempts = max_attempts
        self.buffer = buffer if buffer is not None else min(self.concurrency, 64)
        self.clock = client.clock
        self.health = health_gate or HealthGate(self.clock, on_change=self._health_changed)
        if health_gate is not None and health_gate.on_change is None:
            health_gate.on_change = self._health_changed

        self.report = BulkReport()
        """The counts so far; final once the job has returned."""
        self._journal: Journal | None = None
        self._in_flight = 0
        self._not_sent: list[int] = []
        self._started: float | None = None
        self._stopping = False
        self._used = False
        self._error: BaseException | None = None
        self._producer_scope: anyio.CancelScope | None = None
        self._senders_scope: anyio.CancelScope | None = None
        self._stop_event: anyio.Event | None = None

    # -- control -------------------------------------------------------------------------------

    def stop(self) -> None:
        """Stop taking new messages; let those in flight finish (up to ``grace_period``).

        Safe to call from a signal handler running on the event loop, and more than once.
        """
        if self._stopping:
            return
        self._stopping = True
        if self._producer_scope is not None:
            self._producer_scope.cancel()
        if self._stop_event is not None:
            self._stop_event.set()

    @property
    def stopping(self) -> bool:
        """``stop()`` was called (or the job was cancelled)."""
        return self._stopping

    def progress(self) -> Progress:
        """A snapshot of the job now."""
        r = self.report
        elapsed = self._elapsed()
        done = r.accepted + r.rejected + r.failed
        return Progress(
            done=done,
            total=self.total,
            accepted=r.accepted,
            rejected=r.rejected,
            failed=r.failed,
            skipped=r.skipped,
            in_flight=self._in_flight,
            requests=r.requests,
            retries=r.retries,
            throttles=r.throttles,
            elapsed=elapsed,
            rate=done / elapsed if elapsed > 0 else 0.0,
            paused=self.health.is_open,
        )

    def _elapsed(self) -> float:
        return 0.0 if self._started is None else self.clock.now() - self._started

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
        use an anyio cancel scope or ``job.stop()`` to bound a job's time. A callback or hook
        that raises stops the job the same way, and its exception is raised afterwards.
        """
        self._claim()
        out_send, out_recv = anyio.create_memory_object_stream[Outcome](self.buffer)
        cancelled = False
        callback_error: Exception | None = None
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._engine, out_send)
                async with out_recv:
                    try:
                        async for outcome in out_recv:
                            if self._on_outcome is not None:
                                await _call(self._on_outcome, outcome)
                    except anyio.get_cancelled_exc_class():
                        cancelled = True
                        self.stop()
                        # Outcomes of the sends let finish still reach the callback.
                        with anyio.CancelScope(shield=True):
                            async for outcome in out_recv:
                                if self._on_outcome is not None:
                                    await _call(self._on_outcome, outcome)
                        raise
                    except Exception as exc:
                        # Raised below, after the job stopped, so it is not wrapped in a group.
                        callback_error = exc
                        self.stop()
        except anyio.get_cancelled_exc_class():
            if not cancelled:
                raise
            log.info("bulk: job cancelled; %s", _summary(self.report))
        if callback_error is not None:
            raise callback_error
        if self._error is not None:
            raise self._error
        return self.report

    @asynccontextmanager
    async def stream(self) -> AsyncIterator[OutcomeStream]:
        """``async with job.stream() as outcomes: async for o in outcomes: ...``

        Outcomes come in completion order. Leaving the block early stops the job (in-flight
        sends get ``grace_period`` to finish; their outcomes are journaled, not yielded).
        """
        self._claim()
        out_send, out_recv = anyio.create_memory_object_stream[Outcome](self.buffer)
        body_error: Exception | None = None
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._engine, out_send)
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
        if self._error is not None:
            raise self._error

    # -- the engine ----------------------------------------------------------------------------

    async def _engine(self, out_send: MemoryObjectSendStream[Outcome]) -> None:
        # Shielded: cancellation from outside arrives as stop() through run()/stream().
        with anyio.CancelScope(shield=True):
            try:
                await self._engine_body(out_send)
            except Exception as exc:
                self._error = exc
            finally:
                out_send.close()
                if self._journal is not None:
                    await self._journal.aclose()

    async def _engine_body(self, out_send: MemoryObjectSendStream[Outcome]) -> None:
        self._started = self.clock.now()
        self._stop_event = anyio.Event()
        if self._stopping:
            self._stop_event.set()
        if self.journal_path is not None:
            self._journal = await Journal.open(self.journal_path)
            self._journal.on_error = self._journal_failed
        journal = self._journal
        log.info(
            "bulk: job started (concurrency=%d, journal=%s%s)",
            self.concurrency,
            self.journal_path or "none",
            "" if journal is None or journal.new else ", resuming",
        )
        work_send, work_recv = anyio.create_memory_object_stream[_Item](self.buffer)
        async with anyio.create_task_group() as tg:
            if journal is not None:
                tg.start_soon(journal.writer)
            async with anyio.create_task_group() as background:
                background.start_soon(self._grace_timer)
                if self._on_progress is not None:
                    background.start_soon(self._progress_ticker)
                async with anyio.create_task_group() as senders:
                    self._senders_scope = senders.cancel_scope
                    for _ in range(self.concurrency):
                        senders.start_soon(self._sender, work_recv.clone(), out_send)
                    await self._produce(work_send)
                # Senders cut off by the grace period leave items in the buffer: never started.
                while True:
                    try:
                        item = work_recv.receive_nowait()
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                    self._mark_not_sent(item)
                work_recv.close()
                background.cancel_scope.cancel()
            if journal is not None:
                if not self._stopping and self._error is None:
                    first = await journal.first_index_from(self.report.next_index)
                    if first is not None:
                        self._error = JournalMismatchError(
                            f"the input has {self.report.next_index} messages but the journal"
                            f" {self.journal_path} has an outcome for index {first}: it belongs"
                            " to a different job",
                            index=first,
                        )
                # The writer commits what is queued, then returns.
                journal.close_writer()
        self.report.elapsed = self._elapsed()
        self.report.stopped = self._stopping
        self.report.not_sent_indices = tuple(sorted(self._not_sent))
        if self._on_progress is not None:
            await _call(self._on_progress, self.progress())
        log.info("bulk: job %s; %s", "stopped" if self._stopping else "done", _summary(self.report))

    async def _grace_timer(self) -> None:
        assert self._stop_event is not None
        await self._stop_event.wait()
        await self.clock.sleep(self.grace_period)
        if self._senders_scope is not None:
            log.info("bulk: grace period over; cancelling the sends still in flight")
            self._senders_scope.cancel()

    async def _progress_ticker(self) -> None:
        assert self._on_progress is not None
        while True:
            await self.clock.sleep(self.progress_interval)
            try:
                await _call(self._on_progress, self.progress())
            except Exception as exc:
                self._fail(exc, "on_progress raised")
                return

    def _fail(self, exc: Exception, what: str) -> None:
        """End the job in order (every message still gets its outcome) and raise ``exc`` from
        ``run()``/``stream()`` afterwards, unwrapped."""
        log.error("bulk: %s (%s); stopping the job", what, type(exc).__name__)
        if self._error is None:
            self._error = exc
        self.stop()

    def _journal_failed(self, exc: Exception) -> None:
        self._fail(exc, "journal write failed")

    def _emit(self, event: BulkEvent) -> None:
        # A user's hook that raises must not tear a sender down mid-message.
        if self._on_event is not None:
            try:
                self._on_event(event)
            except Exception as exc:
                self._fail(exc, "on_event raised")

    def _health_changed(self, opened: bool) -> None:
        if opened:
            self.report.pauses += 1
        self._emit(BulkEvent("pause" if opened else "resume", -1, None, 0))

    # -- the producer --------------------------------------------------------------------------

    async def _produce(self, work_send: MemoryObjectSendStream[_Item]) -> None:
        index = 0
        with anyio.CancelScope() as scope:
            self._producer_scope = scope
            if self._stopping:
                scope.cancel()
            try:
                messages = self._messages
                if isinstance(messages, AsyncIterable):
                    async for message in messages:
                        item = await self._take(index, message)
                        index += 1
                        if item is not None:
                            await self._hand_over(work_send, item)
                else:
                    for message in messages:
                        item = await self._take(index, message)
                        index += 1
                        if item is not None:
                            await self._hand_over(work_send, item)
                        if self._stopping:
                            break
            except Exception as exc:
                # A broken input (or a journal mismatch) ends the job after what is in flight.
                if self._error is None:
                    self._error = exc
                self.stop()
            finally:
                self.report.next_index = index
                work_send.close()

    async def _hand_over(self, work_send: MemoryObjectSendStream[_Item], item: _Item) -> None:
        try:
            await work_send.send(item)
        except BaseException:
            # Stopped while waiting for a free sender. anyio may raise even when the item was
            # handed to a sender that has not run yet, hence the flag rather than the exception.
            if not item.claimed:
                self._mark_not_sent(item)
            raise

    async def _take(self, index: int, message: Any) -> _Item | None:
        """Take input ``index``: check it against the journal, prepare it, count it.

        It is counted in ``total`` only on return (no checkpoint after), so a stop in the middle
        leaves it unread rather than lost.
        """
        journal = self._journal
        prepared: PreparedMessage | None = None
        error: ValidationError | None = None
        try:
            if journal is None:
                prepared = prepare_message(message)
            else:
                # Ids derived from the job and the index are stable across runs without a
                # write before the send (prepare_message only asks when the caller set none).
                prepared = prepare_message(message, new_id=lambda: journal.message_id(index))
        except ValidationError as exc:
            error = exc
        mid = prepared.message_id if prepared is not None else getattr(message, "message_id", None)
        ident = b""
        prior = 0
        if journal is not None:
            ident = digest(prepared.content) if prepared is not None else _invalid_digest(message)
            row = await journal.lookup(index)
            if row is not None:
                if row.digest != ident:
                    raise JournalMismatchError(
                        f"message {index} differs from the one journal {self.journal_path}"
                        " recorded: the input is not the journal's job (use a new journal"
                        " for a new job)",
                        index=index,
                    )
                if row.status in ("accepted", "rejected"):
                    self.report.total += 1
                    self.report.skipped += 1
                    return None
                prior = row.attempts
        self.report.total += 1
        return _Item(index, prepared, mid, ident, error, prior)

    # -- the senders ---------------------------------------------------------------------------

    async def _sender(
        self, work_recv: MemoryObjectReceiveStream[_Item], out_send: MemoryObjectSendStream[Outcome]
    ) -> None:
        async with work_recv:
            async for item in work_recv:
                if item.claimed:
                    continue  # the producer already counted it as not sent
                item.claimed = True
                if self._stopping:
                    self._mark_not_sent(item)
                    continue
                if item.prepared is None:
                    assert item.error is not None
                    outcome: Outcome | None = Outcome(
                        item.index, item.message_id, "rejected", None, item.error, 0
                    )
                else:
                    self._in_flight += 1
                    try:
                        outcome = await self._send(item, item.prepared)
                    finally:
                        self._in_flight -= 1
                if outcome is None:
                    self._mark_not_sent(item)
                    continue
                with anyio.CancelScope(shield=True):
                    await self._complete(item, outcome, out_send)

    def _mark_not_sent(self, item: _Item) -> None:
        item.claimed = True
        self.report.not_sent += 1
        self._not_sent.append(item.index)

    async def _send(self, item: _Item, prepared: PreparedMessage) -> Outcome | None:
        """Send one message until it has an outcome; ``None``: cancelled before any attempt."""
        stats = RequestStats(listener=self._listener(item))
        gate = self.health.for_message()
        policy = self.retry_policy
        index, mid = item.index, prepared.message_id
        try:
            while True:
                epoch = self.health.epoch
                try:
                    result = await self._client._send_prepared(
                        prepared, stats=stats, gate=gate, retry_policy=policy
                    )
                except (InternalServerError, APIConnectionError) as exc:
                    # Retries ran out. If the server was failing as a whole meanwhile (the
                    # breaker opened) or other messages are failing right now (it may be about
                    # to), the message is not at fault: it goes again under the same id.
                    # Probes do not count against ``max_attempts``: a long outage keeps the
                    # job paused rather than failing the messages that happened to probe.
                    tripped = (
                        self.health.epoch != epoch
                        or self.health.is_open
                        or self.health.others_failing(gate)
                    )
                    counted = stats.attempts - gate.probes + item.prior_attempts
                    if tripped and counted < self.max_attempts:
                        self.report.requeues += 1
                        self.report.retries += 1
                        log.debug("bulk: message %d requeued (%s)", index, type(exc).__name__)
                        self._emit(
                            BulkEvent("requeue", index, mid, stats.attempts + item.prior_attempts)
                        )
                        continue
                    return self._outcome(item, mid, "failed", None, exc, stats)
                except RateLimitError as exc:
                    return self._outcome(item, mid, "failed", None, exc, stats)
                except APIStatusError as exc:
                    # Every other status the transport gives up on is a refusal: 4xx.
                    return self._outcome(item, mid, "rejected", None, exc, stats)
                except APIError as exc:
                    # E.g. a 2xx whose body is not what the API documents.
                    return self._outcome(item, mid, "failed", None, exc, stats)
                status: OutcomeStatus = "accepted" if result.accepted else "rejected"
                return self._outcome(item, mid, status, result, None, stats)
        except anyio.get_cancelled_exc_class():
            # The grace period ran out: a message never attempted was not sent; one that was
            # may have been processed, so its fate is unknown.
            if stats.attempts == 0:
                return None
            error = APIConnectionError(
                f"message {index}: the job was stopped while it was in flight"
                " (the request may have been processed)",
                ambiguous=True,
            )
            error.attempts = stats.attempts
            return self._outcome(item, mid, "failed", None, error, stats)

    def _outcome(
        self,
        item: _Item,
        mid: str,
        status: OutcomeStatus,
        result: Any,
        error: QlaraError | None,
        stats: RequestStats,
    ) -> Outcome:
        return Outcome(item.index, mid, status, result, error, stats.attempts + item.prior_attempts)

    def _listener(self, item: _Item) -> Callable[[RequestEvent, RequestStats], None]:
        report = self.report

        def listener(event: RequestEvent, stats: RequestStats) -> None:
            if event == "request":
                report.requests += 1
            elif event == "retry":
                report.retries += 1
            elif event == "throttle":
                report.throttles += 1
            if self._on_event is not None:
                self._emit(
                    BulkEvent(
                        event, item.index, item.message_id, stats.attempts + item.prior_attempts
                    )
                )

        return listener

    async def _complete(
        self, item: _Item, outcome: Outcome, out_send: MemoryObjectSendStream[Outcome]
    ) -> None:
        """Commit the outcome to the journal, count it, hand it on."""
        if self._journal is not None:
            await self._journal.record(
                JournalRow(
                    outcome.index, item.digest, outcome.status, outcome.message_id, outcome.attempts
                )
            )
        r = self.report
        if outcome.status == "accepted":
            r.accepted += 1
        elif outcome.status == "rejected":
            r.rejected += 1
        else:
            r.failed += 1
        log.debug(
            "bulk: message %d %s (id %s, %d attempts)",
            outcome.index,
            outcome.status,
            outcome.message_id,
            outcome.attempts,
        )
        try:
            await out_send.send(outcome)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # nobody listens any more (a stream left early): counted and journaled


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
            if self.job._error is not None:
                raise self.job._error from None
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


class BulkResource:
    """``client.bulk``: send many messages, one outcome each.

    ::

        report = await client.bulk.run(messages, concurrency=32, journal="job.sqlite")

        async with client.bulk.stream(messages) as outcomes:
            async for outcome in outcomes:
                print(outcome.index, outcome.status)
    """

    def __init__(self, client: AsyncQlara) -> None:
        self._client = client

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
    ) -> BulkJob:
        """A ``BulkJob`` to run later (``await job.run()``), with ``job.stop()`` at hand.

        The options are ``run()``'s.
        """
        return BulkJob(
            self._client,
            messages,
            concurrency=concurrency,
            journal=journal,
            on_outcome=on_outcome,
            on_progress=on_progress,
            on_event=on_event,
            progress_interval=progress_interval,
            total=total,
            grace_period=grace_period,
            retry_policy=retry_policy,
            max_attempts=max_attempts,
            buffer=buffer,
        )

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
    ) -> BulkReport:
        """Send every message of ``messages``, at most ``concurrency`` at a time; return the report.

        ``messages``: any iterable or async iterable of ``SmsMessage``/``RcsMessage``/
        ``WhatsAppMessage``, read lazily. ``journal``: a SQLite file that makes the job
        resumable (see ``qlara_async.bulk._journal``). ``on_outcome(outcome)`` is called with
        each ``Outcome`` in completion order, one call at a time (plain or ``async``).
        ``on_progress(progress)`` every ``progress_interval`` seconds and at the end.
        ``on_event(event)`` for each request, retry, throttle, requeue, pause and resume (plain
        function, called inline: keep it quick). ``total`` is the job's size for progress when
        ``len(messages)`` is not available. ``grace_period``: seconds in-flight sends get to
        finish once the job is stopped. ``retry_policy``: per-message retries (default: the
        client's, with backoff capped at 2 s). ``max_attempts``: a message whose retries ran out
        while the server was failing as a whole goes again under the same id, until it has
        made this many attempts (probes of a paused job not counted). ``buffer``: messages
        read ahead of the senders (default ``min(concurrency, 64)``).
        """
        job = self.job(
            messages,
            concurrency=concurrency,
            journal=journal,
            on_outcome=on_outcome,
            on_progress=on_progress,
            on_event=on_event,
            progress_interval=progress_interval,
            total=total,
            grace_period=grace_period,
            retry_policy=retry_policy,
            max_attempts=max_attempts,
            buffer=buffer,
        )
        return await job.run()

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
    ) -> AsyncIterator[OutcomeStream]:
        """Like ``run()``, yielding the outcomes as an async iterator in completion order.

        Leaving the block early stops the job: nothing new is sent and in-flight sends get
        ``grace_period`` seconds. ``outcomes.report`` holds the counts.
        """
        job = self.job(
            messages,
            concurrency=concurrency,
            journal=journal,
            on_progress=on_progress,
            on_event=on_event,
            progress_interval=progress_interval,
            total=total,
            grace_period=grace_period,
            retry_policy=retry_policy,
            max_attempts=max_attempts,
            buffer=buffer,
        )
        async with job.stream() as outcomes:
            yield outcomes


async def _call(callback: Callable[[Any], Awaitable[None] | None], value: Any) -> None:
    result = callback(value)
    if inspect.isawaitable(result):
        await result


def _summary(r: BulkReport) -> str:
    return (
        f"{r.accepted} accepted, {r.rejected} rejected, {r.failed} failed, {r.skipped} skipped,"
        f" {r.not_sent} not sent of {r.total}; {r.requests} requests, {r.retries} retries,"
        f" {r.throttles} throttled, {r.pauses} pauses, {r.elapsed:.1f}s"
    )
