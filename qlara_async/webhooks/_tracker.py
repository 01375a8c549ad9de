"""``DeliveryTracker``: from sends and callbacks to a final delivery state per message.

Feed it events (``WebhookReceiver(tracker.observe)``, or call :meth:`DeliveryTracker.observe`
from your own handler) and ask it about messages::

    delivery = await tracker.wait(result.message_id, timeout=60)     # a Delivery
    job = tracker.job()
    report = await client.bulk.run(messages, on_outcome=job.on_outcome)
    tracked = await job.wait(report, timeout=300)    # TrackedReport: .delivered, .not_delivered, .unknown

State only moves forward (:class:`DeliveryState` ranks ``UNKNOWN`` < ``SENT`` < ``RECEIVED`` <
``DELIVERED`` = ``NOT_DELIVERED`` < ``READ``): a late ``SENT`` never overwrites ``DELIVERED``, and
of two final outcomes the first one stands. ``NOT_DELIVERED`` is final for good: a ``READ`` after
it changes nothing (the job already counted the message as not delivered); ``DELIVERED`` may
still become ``READ``, which is delivered too. When no callback has settled a message
``poll_after`` seconds after it was tracked, the tracker asks the status endpoints
(``client.messages.status``, ``rcs_status``, ``whatsapp_status``) every ``poll_interval`` seconds.

Bounded memory, for a million-message job: only messages *not yet final* are held individually
(``_pending``: message id, a rank, the channel, the time, the job); a message leaves it the moment
it settles, and its job keeps counters only. Settled states (and events for ids nobody tracks yet,
as a callback may beat the send's answer) sit in one LRU of ``max_recent`` entries. So memory is
proportional to the messages in flight (send rate x callback latency), with a hard cap of
``max_pending``: past it the oldest pending message is given up as unknown. ``benchmarks/
bench_tracker_memory.py`` measures the peak for a million messages.

Time is read and waited on through a :class:`~qlara_async._clock.Clock` (injectable), and the
tracker is thread-safe towards ``observe``: a receiver served from another thread (its own event
loop) hands events over to the tracker's loop.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable
from enum import Enum
from typing import TYPE_CHECKING, Any, Final

import anyio
import msgspec

from .._clock import AnyioClock, Clock
from .._exceptions import QlaraError, ValidationError
from ..models.enums import Channel
from ._events import DeliveryEvent, ReadEvent, WebhookEvent

if TYPE_CHECKING:
    from .._client import AsyncQlara
    from ..bulk import BulkReport, Outcome

__all__ = ["BulkTracking", "Delivery", "DeliveryState", "DeliveryTracker", "TrackedReport"]


class DeliveryState(str, Enum):
    """Where a message stands; ``DELIVERED``, ``NOT_DELIVERED`` and ``READ`` are final."""

    UNKNOWN = "UNKNOWN"
    SENT = "SENT"
    RECEIVED = "RECEIVED"
    DELIVERED = "DELIVERED"
    NOT_DELIVERED = "NOT_DELIVERED"
    READ = "READ"

    @property
    def final(self) -> bool:
        """No later state changes the outcome."""
        return _RANK[self] >= 3

    @property
    def delivered(self) -> bool:
        """Reached the device (``READ`` implies it)."""
        return self in (DeliveryState.DELIVERED, DeliveryState.READ)


_RANK: Final = {
    DeliveryState.UNKNOWN: 0,
    DeliveryState.SENT: 1,
    DeliveryState.RECEIVED: 2,
    DeliveryState.DELIVERED: 3,
    DeliveryState.NOT_DELIVERED: 3,
    DeliveryState.READ: 4,
}

# The status endpoints' words (and WhatsApp's), and the SMS/RCS codes (3, 6).
_WORDS: Final = {
    "SENT": DeliveryState.SENT,
    "RECEIVED": DeliveryState.RECEIVED,
    "DELIVERED": DeliveryState.DELIVERED,
    "READ": DeliveryState.READ,
    "NOT_DELIVERED": DeliveryState.NOT_DELIVERED,
    "UNDELIVERABLE": DeliveryState.NOT_DELIVERED,
    "ERROR": DeliveryState.NOT_DELIVERED,
    "EXPIRED": DeliveryState.NOT_DELIVERED,
    "REJECTED": DeliveryState.NOT_DELIVERED,
}
_CODES: Final = {3: DeliveryState.DELIVERED, 6: DeliveryState.NOT_DELIVERED}


def state_of(event: WebhookEvent) -> DeliveryState | None:
    """The delivery state an event reports, or ``None`` (inbound and unknown events)."""
    if isinstance(event, ReadEvent):
        return DeliveryState.READ
    if isinstance(event, DeliveryEvent):
        # ``status`` is a WhatsAppStatus (a str Enum) when the docs name the word: its value,
        # not str(), which spells "WhatsAppStatus.DELIVERED".
        word = event.status.value if isinstance(event.status, Enum) else event.status
        if word is not None and str(word).upper() in _WORDS:
            return _WORDS[str(word).upper()]
        if event.status_code is not None:
            return _CODES.get(int(event.status_code), DeliveryState.SENT)
        return DeliveryState.SENT
    return None


def _state_of_status(word: str | None, code: int | None) -> DeliveryState:
    if word is not None and word.upper() in _WORDS:
        return _WORDS[word.upper()]
    if code is not None:
        return _CODES.get(code, DeliveryState.UNKNOWN)
    return DeliveryState.UNKNOWN


class Delivery(msgspec.Struct, frozen=True):
    """A message's delivery state as the tracker knows it."""

    message_id: str
    state: DeliveryState
    channel: Channel | None = None

    @property
    def final(self) -> bool:
        """Whether ``state`` is final (``False`` when :meth:`DeliveryTracker.wait` timed out)."""
        return self.state.final


class TrackedReport(msgspec.Struct, frozen=True):
    """A bulk job's report with what became of its accepted messages."""

    report: Any
    """The :class:`~qlara_async.bulk.BulkReport` the job returned."""
    delivered: int
    not_delivered: int
    unknown: int
    """Accepted messages with no final state by the deadline."""

    def __getattr__(self, name: str) -> Any:
        # accepted, rejected, failed, total, elapsed ... read through to the bulk report.
        return getattr(self.report, name)


def _moves(old: DeliveryState, new: DeliveryState) -> bool:
    # Forward only; NOT_DELIVERED is final for good (a READ after it would contradict the count
    # its job already made), while DELIVERED -> READ stays delivered.
    return _RANK[new] > _RANK[old] and old is not DeliveryState.NOT_DELIVERED


class _Entry:
    __slots__ = ("channel", "event", "job", "message_id", "rank", "since", "state")

    def __init__(
        self, message_id: str, channel: Channel | None, since: float, job: BulkTracking | None
    ) -> None:
        self.message_id = message_id
        self.state = DeliveryState.UNKNOWN
        self.rank = 0
        self.channel = channel
        self.since = since
        self.job = job
        self.event: anyio.Event | None = None


def _channel(value: object) -> Channel | None:
    if value is None or isinstance(value, Channel):
        return value
    if isinstance(value, str) and value.upper() in _CHANNEL_NAMES:
        return Channel(value.upper())
    raise ValidationError(
        f"channel must be one of {', '.join(sorted(_CHANNEL_NAMES))}, got {value!r}",
        field="channel",
    )


def _trio_token() -> object:
    try:
        import trio

        return trio.lowlevel.current_trio_token()
    except (ImportError, RuntimeError):
        raise QlaraError(
            "DeliveryTracker.track(), wait() and job() must be called from async code"
            " (an asyncio or trio event loop)"
        ) from None


_CHANNEL_NAMES: Final = frozenset(c.value for c in Channel)


def _seconds(name: str, value: object, *, positive: bool = False) -> float:
    # NaN compares false with everything: it would disable a bound (or a deadline) silently.
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or math.isnan(value)
        or value < 0
        or (positive and value == 0)
    ):
        rule = "> 0" if positive else ">= 0"
        raise ValidationError(
            f"{name} must be a number of seconds {rule}, got {value!r}", field=name
        )
    return float(value)


def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a positive integer, got {value!r}", field=name)
    return value


class DeliveryTracker:
    """Correlates sends with their callbacks (see the module docs).

    :param client: an :class:`~qlara_async.AsyncQlara` for the polling fallback; ``None``
        relies on callbacks alone.
    :param clock: where time is read and waited on (``AnyioClock()`` by default).
    :param poll_after: seconds after tracking before the status endpoints are asked.
    :param poll_interval: seconds between two polls of one message.
    :param poll_concurrency: status requests in flight at once during a job's polling.
    :param max_pending: messages awaiting a final state held at most (oldest given up first).
    :param max_recent: settled states remembered for :meth:`wait` and for early callbacks.
    """

    def __init__(
        self,
        client: AsyncQlara | None = None,
        *,
        clock: Clock | None = None,
        poll_after: float = 30.0,
        poll_interval: float = 30.0,
        poll_concurrency: int = 8,
        max_pending: int = 1_000_000,
        max_recent: int = 100_000,
    ) -> None:
        self.poll_after = _seconds("poll_after", poll_after)
        self.poll_interval = _seconds("poll_interval", poll_interval, positive=True)
        self.poll_concurrency = _count("poll_concurrency", poll_concurrency)
        self.max_pending = _count("max_pending", max_pending)
        self.max_recent = _count("max_recent", max_recent)
        self._client = client
        self._clock: Clock = clock or AnyioClock()
        self._pending: dict[str, _Entry] = {}
        self._recent: OrderedDict[str, tuple[DeliveryState, Channel | None]] = OrderedDict()
        self._call_soon: Callable[..., object] | None = None
        self._loop: object = None
        self._thread: int | None = None
        self.events_observed = 0
        """Delivery and read events handed to :meth:`observe`."""
        self.polls = 0
        """Status requests made by the polling fallback."""

    def __len__(self) -> int:
        """Messages tracked and not yet final."""
        return len(self._pending)

    def _bind(self) -> None:
        # Remember how to reach the tracker's event loop, so observe() from another thread (a
        # receiver served by its own loop) can hand events over. Never blocking: the other
        # thread must not wait on this loop, which may itself be waiting on that thread.
        # Checked on every call, not once: a tracker reused under a new loop (a second
        # anyio.run) must hand events to that loop, not to the first one, closed by now.
        loop: object
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:  # not asyncio: trio (the other backend anyio runs on), or none
            loop = _trio_token()
            if loop is not self._loop:
                self._call_soon = loop.run_sync_soon  # type: ignore[attr-defined]
        else:
            loop = running
            if loop is not self._loop:
                self._call_soon = running.call_soon_threadsafe
        self._loop = loop
        self._thread = threading.get_ident()

    # ----------------------------------------------------------------- feeding it

    def observe(self, event: WebhookEvent) -> None:
        """Take one callback event into account; use it as (or call it from) a receiver's
        handler. Inbound and unknown events are ignored."""
        if not isinstance(event, (DeliveryEvent, ReadEvent)) or event.message_id is None:
            return
        state = state_of(event)
        assert state is not None
        if self._call_soon is not None and threading.get_ident() != self._thread:
            try:
                self._call_soon(self._advance, event.message_id, state, event.channel)
            except RuntimeError:  # the tracker's loop is gone: nobody is waiting any more
                pass
        else:
            self._advance(event.message_id, state, event.channel)

    def _advance(self, message_id: str, state: DeliveryState, channel: Channel | None) -> None:
        self.events_observed += 1
        entry = self._pending.get(message_id)
        if entry is None:
            known = self._recent.get(message_id)
            if known is None or _moves(known[0], state):
                self._remember(message_id, state, channel or (known[1] if known else None))
            return
        if not _moves(entry.state, state):
            return  # never backwards, and of two final outcomes the first one stands
        entry.state, entry.rank = state, _RANK[state]
        if state.final:
            self._settle(message_id, entry)

    def _remember(self, message_id: str, state: DeliveryState, channel: Channel | None) -> None:
        self._recent[message_id] = (state, channel)
        self._recent.move_to_end(message_id)
        while len(self._recent) > self.max_recent:
            self._recent.popitem(last=False)

    def _settle(self, message_id: str, entry: _Entry) -> None:
        del self._pending[message_id]
        self._remember(message_id, entry.state, entry.channel)
        if entry.job is not None:
            entry.job._count(entry.state)
        if entry.event is not None:
            entry.event.set()

    def track(
        self,
        message_id: str,
        channel: Channel | str | None = None,
        *,
        job: BulkTracking | None = None,
    ) -> None:
        """Start following ``message_id`` (sent on ``channel``, for the polling fallback).
        :meth:`wait` tracks by itself; call this right after a send when you wait later.

        Raises :class:`~qlara_async.ValidationError` for an empty or non-string ``message_id`` or
        a channel that is not ``SMS``, ``RCS`` or ``WHATSAPP``."""
        self._track(message_id, channel, job)

    def _track(
        self, message_id: object, channel: object, job: BulkTracking | None
    ) -> _Entry | None:
        # The entry when the message is (now) pending, else None.
        if not isinstance(message_id, str) or not message_id:
            raise ValidationError(
                f"message_id must be a non-empty string, got {message_id!r}", field="message_id"
            )
        chan = _channel(channel)
        self._bind()
        if message_id in self._pending:
            return None
        entry = _Entry(message_id, chan, self._clock.now(), job)
        if job is not None:
            job._tracked += 1
        known = self._recent.get(message_id)
        if known is not None:
            entry.state, entry.rank = known[0], _RANK[known[0]]
            entry.channel = chan or known[1]
        self._pending[message_id] = entry
        if entry.state.final:
            self._settle(message_id, entry)
            return None
        while len(self._pending) > self.max_pending:
            # Give the oldest up: it stays "unknown" for its job, and memory stays bounded.
            oldest = next(iter(self._pending))
            dropped = self._pending.pop(oldest)
            if dropped.job is not None:
                dropped.job._give_up()
            if dropped.event is not None:
                dropped.event.set()
        return entry if self._pending.get(message_id) is entry else None

    def state(self, message_id: str) -> Delivery:
        """What is known of ``message_id`` now (``UNKNOWN`` if nothing)."""
        entry = self._pending.get(message_id)
        if entry is not None:
            return Delivery(message_id, entry.state, entry.channel)
        known = self._recent.get(message_id)
        if known is not None:
            return Delivery(message_id, known[0], known[1])
        return Delivery(message_id, DeliveryState.UNKNOWN)

    # ----------------------------------------------------------------- waiting

    async def wait(
        self,
        message_id: str,
        *,
        timeout: float,
        channel: Channel | str | None = None,
    ) -> Delivery:
        """Wait until ``message_id`` has a final state, or ``timeout`` seconds have passed
        (then the :class:`Delivery` returned has ``final == False``). Polls the status endpoints
        when no callback has settled it ``poll_after`` seconds after it was tracked; a poll
        still in flight at the deadline is abandoned (the deadline is the caller's, not the
        client's timeout and retries)."""
        seconds = _seconds("timeout", timeout)
        self._track(message_id, channel, None)
        deadline = self._clock.now() + seconds
        while True:
            entry = self._pending.get(message_id)
            if entry is None:
                return self.state(message_id)
            now = self._clock.now()
            if now >= deadline:
                return self.state(message_id)
            poll_at = entry.since + self.poll_after
            if self._client is not None and now >= poll_at:
                with anyio.move_on_after(deadline - now):
                    await self._poll(message_id, entry)
                entry.since = self._clock.now() - self.poll_after + self.poll_interval
                continue
            wake = min(deadline, poll_at) if self._client is not None else deadline
            if entry.event is None:
                entry.event = anyio.Event()
            await self._wait_event(entry.event, wake - now)

    async def _wait_event(self, event: anyio.Event, seconds: float) -> None:
        # Waits on the tracker's clock (injectable, so not anyio.move_on_after). Polls, by
        # contrast, are bounded in real seconds (move_on_after): an HTTP request takes real
        # time whatever the clock, and a test's manual clock would jump past it at once.
        async with anyio.create_task_group() as tg:

            async def alarm() -> None:
                await self._clock.sleep(seconds)
                tg.cancel_scope.cancel()

            tg.start_soon(alarm)
            await event.wait()
            tg.cancel_scope.cancel()

    async def _poll(self, message_id: str, entry: _Entry) -> None:
        assert self._client is not None
        messages = self._client.messages
        self.polls += 1
        try:
            if entry.channel is Channel.RCS:
                status = await messages.rcs_status(message_id)
            elif entry.channel is Channel.WHATSAPP:
                status = await messages.whatsapp_status(message_id)
            else:
                status = await messages.status(message_id, channel=entry.channel or Channel.SMS)
        except QlaraError:
            return  # not known yet, or the API is down: callbacks and the next poll may tell
        state = _state_of_status(status.state, status.status_code)
        if message_id in self._pending:
            self._advance(message_id, state, entry.channel)

    def job(self) -> BulkTracking:
        """A tracker for one bulk job: pass its :meth:`~BulkTracking.on_outcome` to
        ``client.bulk.run``/``stream``, then :meth:`~BulkTracking.wait`."""
        self._bind()
        return BulkTracking(self)


_SEND_CHANNELS: Final = (
    ("sms", Channel.SMS),
    ("rcs", Channel.RCS),
    ("whatsapp", Channel.WHATSAPP),
)


class BulkTracking:
    """One bulk job's delivery counts; made by :meth:`DeliveryTracker.job`.

    Only counters are kept per job; the messages in flight live in the tracker's pending table
    until they settle.
    """

    def __init__(self, tracker: DeliveryTracker) -> None:
        self._tracker = tracker
        # With a client (polling on): this job's pending entries in the order they fall due for
        # a poll (tracking order; a polled one goes to the back). Settled ones are dropped
        # lazily from the front, so wait() does O(1) amortised work per settlement instead of
        # scanning the whole table, and the queue is compacted when settled entries make up
        # most of it, so it stays proportional to the messages pending.
        self._queue: deque[_Entry] = deque()
        self._tracked = 0
        self._given_up = 0
        self.delivered = 0
        self.not_delivered = 0
        self._changed: anyio.Event | None = None

    def _count(self, state: DeliveryState) -> None:
        if state.delivered:
            self.delivered += 1
        else:
            self.not_delivered += 1
        self._wake()

    def _give_up(self) -> None:
        self._given_up += 1
        self._wake()

    def _wake(self) -> None:
        if self._changed is not None:
            self._changed.set()

    @property
    def pending(self) -> int:
        """Accepted messages without a final state yet."""
        return self._tracked - self.delivered - self.not_delivered - self._given_up

    def on_outcome(self, outcome: Outcome) -> None:
        """The bulk engine's ``on_outcome`` hook: tracks each accepted message on the channel
        that accepted it (rejected and failed messages were never sent)."""
        if outcome.status != "accepted" or not outcome.message_id:
            return
        channel = None
        results = outcome.result.results if outcome.result is not None else None
        for name, chan in _SEND_CHANNELS:
            part = getattr(results, name, None)
            if part is not None and part.accepted:
                channel = chan
                break
        self._add(outcome.message_id, channel)

    def track_many(self, ids: Iterable[tuple[str, Channel | str | None]]) -> None:
        """Track messages sent outside the bulk engine, as ``(message_id, channel)`` pairs."""
        for message_id, channel in ids:
            self._add(message_id, channel)

    def _add(self, message_id: str, channel: Channel | str | None) -> None:
        entry = self._tracker._track(message_id, channel, self)
        if entry is not None and self._tracker._client is not None:
            self._push(entry)

    def _push(self, entry: _Entry) -> None:
        self._queue.append(entry)
        if len(self._queue) > 2 * self.pending + 1024:
            pending = self._tracker._pending
            self._queue = deque(e for e in self._queue if pending.get(e.message_id) is e)

    def _head(self) -> _Entry | None:
        # The pending entry due first; entries settled or given up leave the front lazily.
        pending = self._tracker._pending
        while self._queue:
            entry = self._queue[0]
            if pending.get(entry.message_id) is entry:
                return entry
            self._queue.popleft()
        return None

    async def wait(self, report: BulkReport | None = None, *, timeout: float) -> TrackedReport:
        """Wait until every tracked message is final or ``timeout`` seconds have passed, polling
        the status endpoints for the ones callbacks leave open; returns the counts."""
        tracker = self._tracker
        clock = tracker._clock
        deadline = clock.now() + _seconds("timeout", timeout)
        while self.pending > 0 and clock.now() < deadline:
            now = clock.now()
            wake = deadline
            if tracker._client is not None:
                head = self._head()
                if head is not None and now >= head.since + tracker.poll_after:
                    with anyio.move_on_after(deadline - now):
                        await self._poll_due(now)
                    continue
                if head is not None:
                    wake = min(deadline, head.since + tracker.poll_after)
            # Any settlement of one of ours wakes the job; it then recounts.
            self._changed = anyio.Event()
            await tracker._wait_event(self._changed, max(0.0, wake - now))
        unknown = self.pending + self._given_up
        return TrackedReport(report, self.delivered, self.not_delivered, unknown)

    async def _poll_due(self, now: float) -> None:
        # poll_concurrency workers take the messages due at ``now`` from the front of the
        # queue: a fixed number of tasks, whatever the job's size.
        tracker = self._tracker

        async def worker() -> None:
            while True:
                entry = self._head()
                if entry is None or entry.since + tracker.poll_after > now:
                    return
                self._queue.popleft()
                try:
                    await tracker._poll(entry.message_id, entry)
                finally:
                    entry.since = tracker._clock.now() - tracker.poll_after + tracker.poll_interval
                    if tracker._pending.get(entry.message_id) is entry:
                        self._push(entry)

        async with anyio.create_task_group() as tg:
            for _ in range(tracker.poll_concurrency):
                tg.start_soon(worker)
