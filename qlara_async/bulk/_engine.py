"""The bulk engine: one job's state, its senders, its tickers and the completion of each message.

The shape of a job (one task group, three kinds of task)::

    input --> producer --[work stream: small buffer]--> N senders --[outcome stream]--> consumer
               |  validate, give the id, refuse a        |  send through the limiter,
               |  caller id used twice, yield the        |  the retry policy and the health gate;
               |  journal's outcome of what is settled   |  journal commit, then the outcome
    journal <--+------------------------------------------+

* Memory is bounded by ``concurrency`` plus two small buffers (and the caller-given message ids
  seen, for the duplicate check): the input is read only as fast as senders free up, and
  ``run()`` keeps no outcomes.
* Every message taken from the input ends in exactly one place: an ``Outcome`` (accepted,
  rejected, failed; from the journal, ``resumed``, when an earlier run settled it) or
  ``not_sent`` (the job was stopped before its first attempt).
* Stopping (``stop()``, a cancelled ``run()``, a stream left early, a raising hook, a job-wide
  401/403/404, an outage longer than ``max_outage``): the producer stops reading and closes the
  input, messages not yet started become ``not_sent``, messages in flight get ``grace_period``
  seconds to finish, the journal is committed, and the report says what was not sent. The
  engine runs in a shielded scope so a cancellation from outside becomes this orderly stop.

The producer (reading, preparing and checking the input) is ``_producer.py``; the consumer
(``run()``'s hook, ``stream()``'s iterator) is ``_job.py``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Callable, Sized
from typing import TYPE_CHECKING, Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from .._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    InternalServerError,
    QlaraError,
    RateLimitError,
)
from .._transport import APIResponseValidationError, RequestEvent, RequestStats
from ..models import PreparedMessage
from ._health import BulkOutageError, HealthGate
from ._journal import Journal, JournalMismatchError, JournalRow
from ._options import BulkOptions, Messages, call
from ._outcome import BulkEvent, BulkReport, Outcome, OutcomeStatus, Progress, summary
from ._producer import Item, Producer

if TYPE_CHECKING:
    from .._resource import Requester

__all__ = ["Engine"]

log = logging.getLogger("qlara_async.bulk")

# Per-message backoff in a job is capped here: the health gate, not long per-message sleeps,
# is what waits out a failing server, and a sender asleep in an 8 s backoff holds its slot.
_BULK_BACKOFF_MAX = 2.0
# Statuses that say nothing about the message: the key, its rights or the base path are wrong
# for every message of the job. They stop the job; the message is failed, never rejected.
_JOB_WIDE_STATUSES = frozenset({401, 403, 404})


class Engine:
    """One job's running state and tasks; ``BulkJob`` is its public face."""

    def __init__(self, api: Requester, messages: Messages, options: BulkOptions) -> None:
        self.api = api
        self.messages = messages
        self.options = options
        known = len(messages) if isinstance(messages, Sized) else None
        self.total = options.total if options.total is not None else known
        self.senders = options.senders(known)
        """Sender tasks: ``concurrency``, or fewer when the input is shorter."""
        self.buffer = options.buffer if options.buffer is not None else min(self.senders, 64)
        if options.retry_policy is None:
            # A job waits out any 429 cooldown: failing messages fast would lose the job.
            base = api.retry_policy
            self.retry_policy = dataclasses.replace(
                base, backoff_max=min(base.backoff_max, _BULK_BACKOFF_MAX), max_retry_after=math.inf
            )
        else:
            self.retry_policy = options.retry_policy
        self.clock = api.transport.clock
        self.health = options.health_gate or HealthGate(self.clock)
        if self.health.on_change is None:
            self.health.on_change = self._health_changed
        self.health.max_outage = options.max_outage
        self.health.on_outage = self._outage
        self.journal_path = options.journal_path

        self.report = BulkReport()
        self.error: BaseException | None = None
        """Raised by ``run()``/``stream()`` once the job has stopped (unwrapped)."""
        self.stopping = False
        self._journal: Journal | None = None
        self._in_flight = 0
        self._not_sent: list[int] = []
        self._started: float | None = None
        self.producer = Producer(self, messages)
        self._senders_scope: anyio.CancelScope | None = None
        self._stop_event: anyio.Event | None = None

    # -- control -------------------------------------------------------------------------------

    def stop(self) -> None:
        if self.stopping:
            return
        self.stopping = True
        self.producer.cancel()
        if self._stop_event is not None:
            self._stop_event.set()

    def fail(self, exc: BaseException, what: str) -> None:
        """End the job in order (every message still gets its outcome) and raise ``exc`` from
        ``run()``/``stream()`` afterwards, unwrapped."""
        log.error("bulk: %s (%s); stopping the job", what, type(exc).__name__)
        if self.error is None:
            self.error = exc
        self.stop()

    def progress(self) -> Progress:
        r = self.report
        elapsed = self.elapsed()
        done = r.accepted + r.rejected + r.failed
        paused_until = getattr(self.api.transport.limiter, "paused_until", -math.inf)
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
            rate=(done - r.skipped) / elapsed if elapsed > 0 else 0.0,
            paused=self.health.is_open,
            cooldown=max(0.0, paused_until - self.clock.now()),
        )

    @property
    def journal(self) -> Journal | None:
        """The job's journal while it runs (``None`` without one)."""
        return self._journal

    def elapsed(self) -> float:
        """Seconds on the job's clock since it started."""
        return 0.0 if self._started is None else self.clock.now() - self._started

    def _emit(self, event: BulkEvent) -> None:
        # A user's hook that raises must not tear a sender down mid-message.
        if self.options.on_event is not None:
            try:
                self.options.on_event(event)
            except Exception as exc:
                self.fail(exc, "on_event raised")

    def _health_changed(self, opened: bool) -> None:
        if opened:
            self.report.pauses += 1
        self._emit(BulkEvent("pause" if opened else "resume", -1, None, 0))

    def _outage(self, seconds: float) -> None:
        self.report.outage = True
        hint = f"; run it again with journal {self.journal_path} to resume" if self._journal else ""
        self.fail(
            BulkOutageError(
                f"the server failed as a whole for {seconds:.0f} s (max_outage="
                f"{self.options.max_outage:g} s): the job stopped{hint}",
                seconds=seconds,
                report=self.report,
            ),
            "the server stayed down past max_outage",
        )
        # Messages held at the shut gate would only wait out the grace period: let them go.
        if self._senders_scope is not None:
            self._senders_scope.cancel()

    def _journal_failed(self, exc: Exception) -> None:
        self.fail(exc, "journal write failed")

    # -- the job -------------------------------------------------------------------------------

    async def run(self, out_send: MemoryObjectSendStream[Outcome]) -> None:
        """The whole job; every failure ends up in ``self.error``."""
        # Shielded: cancellation from outside arrives as stop() through run()/stream().
        with anyio.CancelScope(shield=True):
            try:
                await self._run(out_send)
            except Exception as exc:
                if self.error is None:
                    self.error = exc
            finally:
                out_send.close()
                if self._journal is not None:
                    try:
                        await self._journal.aclose()
                    except Exception as exc:
                        if self.error is None:
                            self.error = exc

    async def _run(self, out_send: MemoryObjectSendStream[Outcome]) -> None:
        self._started = self.clock.now()
        self._stop_event = anyio.Event()
        if self.stopping:
            self._stop_event.set()
        if self.journal_path is not None:
            try:
                self._journal = await Journal.open(self.journal_path)
            except Exception:
                # Ended before it read anything: the input is closed all the same.
                self.producer.close_unread()
                raise
            self._journal.on_error = self._journal_failed
        journal = self._journal
        log.info(
            "bulk: job started (concurrency=%d, journal=%s%s)",
            self.senders,
            self.journal_path or "none",
            "" if journal is None or journal.new else ", resuming",
        )
        # Every sender gets a connection of its own (the aiohttp backend's pool grows to fit).
        self.api.transport.reserve_connections(self.senders)
        work_send, work_recv = anyio.create_memory_object_stream[Item](self.buffer)
        async with anyio.create_task_group() as tg:
            if journal is not None:
                tg.start_soon(journal.writer)
            async with anyio.create_task_group() as background:
                background.start_soon(self._grace_timer)
                if self.options.on_progress is not None:
                    background.start_soon(self._progress_ticker)
                async with anyio.create_task_group() as senders:
                    self._senders_scope = senders.cancel_scope
                    for _ in range(self.senders):
                        senders.start_soon(self._sender, work_recv.clone(), out_send)
                    await self.producer.run(work_send, out_send)
                # Senders cut off by the grace period leave items in the buffer: never started.
                while True:
                    try:
                        item = work_recv.receive_nowait()
                    except (anyio.WouldBlock, anyio.EndOfStream):
                        break
                    self.mark_not_sent(item)
                work_recv.close()
                background.cancel_scope.cancel()
            if journal is not None:
                if not self.stopping and self.error is None:
                    try:
                        await journal.check_end(self.report.next_index)
                    except JournalMismatchError as exc:
                        self.error = exc
                # The writer commits what is queued, then returns.
                journal.close_writer()
        r = self.report
        r.elapsed = self.elapsed()
        r.stopped = self.stopping
        r.not_sent_indices = tuple(sorted(self._not_sent))
        if self.options.on_progress is not None:
            await call(self.options.on_progress, self.progress())
        log.info("bulk: job %s; %s", "stopped" if self.stopping else "done", summary(r))

    async def _grace_timer(self) -> None:
        assert self._stop_event is not None
        await self._stop_event.wait()
        await self.clock.sleep(self.options.grace_period)
        if self._senders_scope is not None:
            log.info("bulk: grace period over; cancelling the sends still in flight")
            self._senders_scope.cancel()

    async def _progress_ticker(self) -> None:
        on_progress = self.options.on_progress
        assert on_progress is not None
        while True:
            await self.clock.sleep(self.options.progress_interval)
            try:
                await call(on_progress, self.progress())
            except Exception as exc:
                self.fail(exc, "on_progress raised")
                return

    # -- the senders ---------------------------------------------------------------------------

    async def _sender(
        self, work_recv: MemoryObjectReceiveStream[Item], out_send: MemoryObjectSendStream[Outcome]
    ) -> None:
        async with work_recv:
            while True:
                # An item already waiting is taken without a scheduling point (anyio's
                # receive() yields to the loop even then: one loop turn per message per queue);
                # the send that follows has its own, in the limiter.
                try:
                    item = work_recv.receive_nowait()
                except anyio.WouldBlock:
                    try:
                        item = await work_recv.receive()
                    except anyio.EndOfStream:
                        return
                except anyio.EndOfStream:
                    return
                if item.claimed:
                    continue  # the producer already counted it as not sent
                item.claimed = True
                if self.stopping:
                    self.mark_not_sent(item)
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
                    self.mark_not_sent(item)
                    continue
                if not self._complete_now(item, outcome, out_send):
                    with anyio.CancelScope(shield=True):
                        await self._complete(item, outcome, out_send)

    def mark_not_sent(self, item: Item) -> None:
        """Count ``item`` as never attempted (the job stopped first)."""
        item.claimed = True
        self.report.not_sent += 1
        self._not_sent.append(item.index)

    async def _send(self, item: Item, prepared: PreparedMessage) -> Outcome | None:
        """Send one message until it has an outcome; ``None``: cancelled before any attempt."""
        stats = RequestStats(listener=self._listener(item))
        gate = self.health.for_message()
        policy = self.retry_policy
        index, mid = item.index, prepared.message_id

        def outcome(status: OutcomeStatus, result: Any, error: QlaraError | None) -> Outcome:
            return Outcome(index, mid, status, result, error, stats.attempts + item.prior_attempts)

        try:
            while True:
                epoch = self.health.epoch
                tried = stats.attempts
                try:
                    result = await self.api.sender.send_prepared(
                        prepared,
                        stats=stats,
                        gate=gate,
                        retry_policy=policy,
                        timeout=self.api.options.timeout,
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
                    # A failure before any attempt (the client was closed) will not heal:
                    # requeueing it would spin without an await.
                    if (
                        tripped
                        and stats.attempts > tried
                        and counted < self.options.max_attempts
                        and not self.stopping
                    ):
                        self.report.requeues += 1
                        self.report.retries += 1
                        log.debug("bulk: message %d requeued (%s)", index, type(exc).__name__)
                        self._emit(
                            BulkEvent("requeue", index, mid, stats.attempts + item.prior_attempts)
                        )
                        continue
                    return outcome("failed", None, exc)
                except (RateLimitError, APIResponseValidationError) as exc:
                    # A response not shaped like the API's says nothing about the message.
                    return outcome("failed", None, exc)
                except APIStatusError as exc:
                    if exc.status_code in _JOB_WIDE_STATUSES:
                        # The key, its rights or the path are wrong for every message: stop.
                        self.fail(exc, f"the API answered {exc.status_code} to the job")
                        return outcome("failed", None, exc)
                    if 400 <= exc.status_code < 500:
                        return outcome("rejected", None, exc)  # a refusal of this message
                    return outcome("failed", None, exc)
                except APIError as exc:
                    return outcome("failed", None, exc)
                return outcome("accepted" if result.accepted else "rejected", result, None)
        except anyio.get_cancelled_exc_class():
            # The grace period ran out (or an outage outlived max_outage): a message never
            # attempted was not sent; one that was may have been processed: fate unknown.
            if stats.attempts == 0 or (
                # Every attempt came back, each a 429: the server processed none of them.
                len(stats.statuses) == stats.attempts
                and all(status == 429 for status in stats.statuses)
            ):
                return None
            if self.report.outage:
                error = APIConnectionError(
                    f"message {index}: the job stopped: the server failed as a whole past"
                    " max_outage",
                    ambiguous=stats.ambiguous > 0,
                )
            else:
                error = APIConnectionError(
                    f"message {index}: the job was stopped while it was in flight"
                    " (the request may have been processed)",
                    ambiguous=True,
                )
            error.attempts = stats.attempts
            return outcome("failed", None, error)

    def _listener(self, item: Item) -> Callable[[RequestEvent, RequestStats], None]:
        report = self.report

        def listener(event: RequestEvent, stats: RequestStats) -> None:
            if event == "request":
                report.requests += 1
            elif event == "retry":
                report.retries += 1
            elif event == "throttle":
                report.throttles += 1
            if self.options.on_event is not None:
                self._emit(
                    BulkEvent(
                        event, item.index, item.message_id, stats.attempts + item.prior_attempts
                    )
                )

        return listener

    # -- completion ----------------------------------------------------------------------------

    def count(self, status: OutcomeStatus) -> None:
        """Count one settled message in the report."""
        r = self.report
        if status == "accepted":
            r.accepted += 1
        elif status == "rejected":
            r.rejected += 1
        else:
            r.failed += 1

    def _complete_now(
        self, item: Item, outcome: Outcome, out_send: MemoryObjectSendStream[Outcome]
    ) -> bool:
        """``_complete`` without waiting, where nothing needs a wait (no journal, room in the
        outcome queue, or nobody listening): ``False`` leaves it to ``_complete``, untouched.
        Saves the shielded scope and the loop turns of an ``await`` per message."""
        if self._journal is not None:
            return False
        try:
            out_send.send_nowait(outcome)
        except anyio.WouldBlock:
            return False
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # nobody listens any more (a stream left early): counted all the same
        self.count(outcome.status)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "bulk: message %d %s (id %s, %d attempts)",
                outcome.index,
                outcome.status,
                outcome.message_id,
                outcome.attempts,
            )
        return True

    async def _complete(
        self, item: Item, outcome: Outcome, out_send: MemoryObjectSendStream[Outcome]
    ) -> None:
        """Commit the outcome to the journal, count it, hand it on."""
        if self._journal is not None:
            await self._journal.record(
                JournalRow(
                    outcome.index, item.digest, outcome.status, outcome.message_id, outcome.attempts
                )
            )
        self.count(outcome.status)
        log.debug(
            "bulk: message %d %s (id %s, %d attempts)",
            outcome.index,
            outcome.status,
            outcome.message_id,
            outcome.attempts,
        )
        await self.hand_on(outcome, out_send)

    @staticmethod
    async def hand_on(outcome: Outcome, out_send: MemoryObjectSendStream[Outcome]) -> None:
        """Give ``outcome`` to the consumer, if anyone still listens."""
        try:
            await out_send.send(outcome)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            pass  # nobody listens any more (a stream left early): counted and journaled
