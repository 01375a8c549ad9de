"""The limiter protocol, and the local limiter behind ``rate_limit=``.

Every request passes through ``Limiter.acquire()`` before it is handed to httpx, and reports back
through ``Permit.release()`` once its fate is known. A shared limiter (``qlara_async.redis``)
implements the same protocol, so callers never change.

Why the local limiter never trips the server
============================================

The API reference gives the limits (50/s and 1,000/min on Production) but not how the server
counts them. The server counts *arrivals*, and the client never sees an arrival: it sees when it
released a request (``t_k``) and when the request's fate came back (``d_k``: a response, an error,
or a cancellation). Between them the request arrived, ``t_k <= a_k <= d_k``, and on a busy event
loop ``d_k - t_k`` is anything from a millisecond to seconds. A limiter that spaces *releases*
(aiolimiter, or a sliding log of release times) is therefore unsafe: two requests released a
whole window apart can arrive much closer together.

So this limiter accounts each request at its **completion time** ``d_k``, and counts every request
still **in flight as arriving now**. A request may go at time ``t`` when, for every window
``(N, P)``::

    in_flight + #{completed k : d_k > t - P - margin} + 1 <= N

*Proof that a sliding-window server never refuses.* Take any ``N + 1`` requests that arrive within
one server window ``(s, s + P]``, and let ``L`` be the one the client released last. Every other
``k`` among them was released before ``L`` and arrived after ``s``, so ``d_k >= a_k > s >=
a_L - P >= t_L - P``. At ``t_L`` each such ``k`` was either still in flight, or completed at a time
``d_k`` in ``(t_L - P, t_L]``: either way it was counted, ``N`` in all, and ``L`` would not have
been released. Nothing here depends on the network delay. Fixed windows and one token bucket per
window (capacity ``N``, refill ``N/P``) admit everything a sliding window admits, so they never
refuse either. The margin (0.5% of the period, at least 1 ms) covers a server clock that runs a
little fast, rounding, and a cancelled request whose bytes may still land after we gave up on it
(such a request is counted as completing ``margin`` later than its cancellation, everywhere a
completion is counted).

Completion times arrive in time order, so each window keeps one deque of expiry times, appended on
the right and popped on the left: O(1) per request, at most ``N`` entries.

A fourth server model is *not* implied by the windows: **one bucket** with the shortest window's
capacity refilled at the longest window's rate (``RateLimit((50, 1), (1000, 60))`` would allow 50
at once but only 16.7/s after that). So the limiter also keeps a **conservative bucket**:
capacity ``C = min N``, draining at ``r = min N/(P + margin)``, fed by completions at ``d_k``, with
every in-flight request counted as arriving now. A request goes only when the windows **and** this
bucket allow it (``debt + in_flight + 1 <= C``). Its debt is ``max over s of (#completions in
[s, t]) - r (t - s)``, kept in O(1) by the usual leaky-bucket recursion.

*Proof that such a server (capacity ``C_s >= C``, rate ``r_s >= r``) never refuses.* It refuses
``L`` only if some ``v`` has more than ``C_s + r_s (a_L - v)`` arrivals in ``[v, a_L]``. Let ``M``
be the one of them released last. Each other one was in flight at ``t_M`` or completed in
``[v, t_M]``, so the debt at ``t_M`` plus ``in_flight`` plus ``M`` counts them all, minus only
``r (t_M - v) <= r_s (a_L - v)``: ``M`` would have waited. (If ``v > t_M`` they were all in flight
at ``t_M``, more than ``C`` of them.)

Before the first response, and whenever the server sends no rate limit headers, that is all:
zero 429s on all four models, at the conservative bucket's pace. When responses carry
``X-RateLimit-Remaining``, the **server's own budget** tightens the bucket. The response to ``k``
says the server could still admit ``R_k`` after ``k`` arrived (in its most constraining window;
others have at least as much). Whatever arrived after ``a_k`` completed after ``t_k`` (``d >= a >
a_k >= t_k``), is still in flight, or is released later. So ``B = R_k - (completions since t_k,
other than k) - in_flight`` is a lower bound on what the server admits now, and when it is better
than the bucket's own ``C - debt - in_flight`` the bucket adopts it (``debt = C - R_k + since``)
and refills from there. A completion counter read at each release makes this O(1).
*Why this stays safe:* take ``v``, ``L`` and ``M`` as above with ``v`` the latest such start, and
``k`` the response last adopted before ``t_M``. If ``v`` is after ``d_k`` the argument above holds
unchanged. Otherwise every request arriving after ``max(v, a_k)`` (``M`` included, ``k``
excluded) is counted at ``t_M`` by ``since``, ``in_flight`` or the completions after ``d_k``, so
admitting ``M`` means they number at most ``R_k + r (t_M - d_k)``; the server, which had ``R_k``
after ``a_k`` (and at most ``C_s`` whenever it became full after ``v``), admits them all.

With headers the three window models run at the windows' pace rather than the bucket's: their
``Remaining`` reflects windows that free up faster than ``r``.

A 429 pauses everything (:meth:`Limiter.pause`); the request that got it is retried first
(``acquire(priority=True)``) once the pause has passed, then sending resumes at the usual pace.

Waiting tasks are served strictly first come, first served (retries of throttled requests first).
Only the head of the queue evaluates the rule; it sleeps, through the injected
:class:`~qlara_async._clock.Clock`, until the earliest time the answer could change, or until a
release, a pause or a cancellation wakes it. A cancelled wait leaves no trace.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import anyio

from ._budget import _Core, _Ticket
from ._clock import AnyioClock, Clock, checkpoint
from ._config import RateLimit
from ._exceptions import ValidationError

__all__ = [
    "CooldownTooLong",
    "Limiter",
    "LimiterStats",
    "LocalLimiter",
    "NullLimiter",
    "Permit",
    "build_limiter",
]


class CooldownTooLong(Exception):
    """Raised by ``Limiter.acquire``: the cooldown in force outlasts the caller's ``max_pause``
    (internal; the transport turns it into a ``RateLimitError``)."""

    def __init__(self, remaining: float) -> None:
        super().__init__(f"paused for {remaining:.3f}s more")
        self.remaining = remaining


@runtime_checkable
class Permit(Protocol):
    """One request's right to go. Released exactly once."""

    def release(
        self,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        sent: bool = True,
    ) -> None:
        """Report the request's end: the HTTP status and headers, or ``status=None`` when no
        response arrived (connection error, timeout, cancellation after it was handed to httpx:
        it may still have reached the server). ``sent=False`` returns a permit whose request was
        never handed to httpx, so it costs nothing. Only the first call counts."""
        ...


@runtime_checkable
class Limiter(Protocol):
    """Decides when a request may go."""

    async def acquire(self, *, priority: bool = False, max_pause: float = math.inf) -> Permit:
        """Wait until a request may go and return its permit. ``priority`` puts a retry of a
        throttled request ahead of the queue. Cancelling the wait consumes nothing.

        While a 429 cooldown (``pause``) has more than ``max_pause`` seconds left, raise
        :class:`CooldownTooLong` instead of waiting, also for a caller already waiting when
        the pause began."""
        ...

    @property
    def paused_until(self) -> float:
        """The clock time the current cooldown ends (``-inf`` when none was ever set)."""
        ...

    def pause(self, seconds: float) -> None:
        """Cooldown after a 429: no request may go until ``seconds`` from now. Extends a pause
        in force, never shortens it."""
        ...

    async def aclose(self) -> None:
        """Release any resources (connections, background tasks)."""
        ...


@dataclass(frozen=True, slots=True)
class LimiterStats:
    """Counters of a limiter's life so far."""

    acquired: int
    """Permits handed out."""
    waited: int
    """Permits that had to wait in the queue."""
    total_wait: float
    """Seconds spent waiting, summed over permits."""
    max_wait: float
    """The longest single wait, in seconds."""
    released: int
    """Permits released (sent or not)."""
    lost: int
    """Requests that ended with no response (``status=None``)."""
    header_updates: int
    """Responses that carried a usable ``X-RateLimit-Remaining`` (adopted when it was the
    tighter bound)."""
    pauses: int
    """Calls to ``pause()``."""


class _Waiter:
    """A task in the queue. It either parks on an event (not the head, or waiting for a
    release) or sleeps on the clock inside a cancel scope (the head, waiting for a time)."""

    __slots__ = ("cancelled", "event", "scope")

    def __init__(self) -> None:
        self.cancelled = False
        self.event: anyio.Event | None = None
        self.scope: anyio.CancelScope | None = None

    def wake(self) -> None:
        if self.scope is not None:
            self.scope.cancel()
        if self.event is not None:
            self.event.set()

    async def park(self) -> None:
        self.event = anyio.Event()
        try:
            await self.event.wait()
        finally:
            self.event = None

    async def sleep(self, clock: Clock, seconds: float) -> None:
        self.scope = anyio.CancelScope()
        try:
            with self.scope:
                await clock.sleep(seconds)
        finally:
            self.scope = None


class _QueuedLimiter:
    """FIFO admission (priority waiters first) over a rule supplied by the subclass."""

    def __init__(self, clock: Clock | None) -> None:
        self._clock: Clock = clock if clock is not None else AnyioClock()
        self._priority: deque[_Waiter] = deque()
        self._normal: deque[_Waiter] = deque()
        self._acquired = 0
        self._waited = 0
        self._total_wait = 0.0
        self._max_wait = 0.0
        self._released = 0
        self._lost = 0
        self._header_updates = 0
        self._pauses = 0

    # Subclass hooks.
    def _wait_time(self) -> float:
        raise NotImplementedError

    def _grant(self) -> Permit:
        raise NotImplementedError

    def _head(self) -> _Waiter | None:
        # Cancelled waiters are dropped lazily, when they reach the front: O(1) amortised.
        # Afterwards a non-empty priority queue has a live waiter at its front.
        for queue in (self._priority, self._normal):
            while queue and queue[0].cancelled:
                queue.popleft()
            if queue:
                return queue[0]
        return None

    def _kick(self) -> None:
        """Make the head re-evaluate: something that could let it go has happened."""
        head = self._head()
        if head is not None:
            head.wake()

    @property
    def waiting(self) -> int:
        """Tasks waiting in ``acquire()`` (cancelled waits not counted)."""
        return sum(not w.cancelled for w in self._priority) + sum(
            not w.cancelled for w in self._normal
        )

    @property
    def stats(self) -> LimiterStats:
        """Counters so far."""
        return LimiterStats(
            acquired=self._acquired,
            waited=self._waited,
            total_wait=self._total_wait,
            max_wait=self._max_wait,
            released=self._released,
            lost=self._lost,
            header_updates=self._header_updates,
            pauses=self._pauses,
        )

    @property
    def paused_until(self) -> float:
        raise NotImplementedError

    def _wake_all(self) -> None:
        # A pause began: every waiter checks it against its own ``max_pause`` (rare: 429s only).
        for queue in (self._priority, self._normal):
            for waiter in queue:
                if not waiter.cancelled:
                    waiter.wake()

    def _finish(
        self,
        ticket: _Ticket | None,
        status: int | None,
        headers: Mapping[str, str] | None,
        sent: bool,
    ) -> None:
        self._released += 1
        if sent and status is None:
            self._lost += 1

    async def acquire(self, *, priority: bool = False, max_pause: float = math.inf) -> Permit:
        """Wait for a turn (first come, first served; ``priority`` waiters before all others)
        and for the rule to allow a request; return its permit. Cancelling the wait consumes
        nothing and passes the turn on. A cooldown longer than ``max_pause`` raises
        :class:`CooldownTooLong`."""
        # The one scheduling point of the fast path, before anything is taken: a cancellation
        # here consumes nothing (a send from a cancelled scope never leaves), and a loop of
        # sends over a transport that never waits (a mock, a cache) still lets other tasks
        # run. (A shielded yield after granting cost a cancel scope and a second check.)
        await checkpoint()
        queue = self._priority if priority else self._normal
        # A priority request may overtake ordinary waiters, never another priority one.
        head = self._head()
        free = head is None or (priority and not self._priority)
        if free and self._wait_time() <= 0.0:
            self._acquired += 1
            return self._grant()
        waiter = _Waiter()
        queue.append(waiter)
        start = self._clock.now()
        try:
            while True:
                remaining = self.paused_until - self._clock.now()
                if remaining > max_pause:
                    raise CooldownTooLong(remaining)
                if self._head() is waiter:
                    wait = self._wait_time()
                    if wait <= 0.0:
                        queue.popleft()
                        permit = self._grant()
                        self._note_wait(self._clock.now() - start)
                        # The next in line may be able to go at once too.
                        self._kick()
                        return permit
                    if math.isinf(wait):
                        await waiter.park()
                    else:
                        await waiter.sleep(self._clock, wait)
                else:
                    await waiter.park()
        except BaseException:
            waiter.cancelled = True
            self._kick()
            raise

    def _note_wait(self, waited: float) -> None:
        self._acquired += 1
        self._waited += 1
        self._total_wait += waited
        self._max_wait = max(self._max_wait, waited)

    async def aclose(self) -> None:
        """Nothing to release; present for the protocol."""


class _Permit:
    __slots__ = ("_limiter", "_released", "_ticket")

    def __init__(self, limiter: _QueuedLimiter, ticket: _Ticket | None = None) -> None:
        self._limiter = limiter
        self._ticket = ticket
        self._released = False

    def release(
        self,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        sent: bool = True,
    ) -> None:
        """Report the request's end (see :class:`Permit`); only the first call counts."""
        if not self._released:
            self._released = True
            self._limiter._finish(self._ticket, status, headers, sent)

    def __repr__(self) -> str:
        return f"<Permit released={self._released}>"


class LocalLimiter(_QueuedLimiter):
    """The per-process limiter for a :class:`~qlara_async.RateLimit` (see the module docstring
    for why it never trips the server).

    :param rate_limit: the windows to respect.
    :param clock: where time is read and waited on (tests pass a virtual one).
    :param margin: seconds added to every window; default 0.5% of each period, at least 1 ms.
    :param use_headers: spend the budget the server reports in ``X-RateLimit-*`` headers.
        Without them the limiter stays safe on every server model but may run slower.
    """

    def __init__(
        self,
        rate_limit: RateLimit,
        *,
        clock: Clock | None = None,
        margin: float | None = None,
        use_headers: bool = True,
    ) -> None:
        super().__init__(clock)
        if not isinstance(rate_limit, RateLimit):
            raise TypeError(f"rate_limit must be a RateLimit, got {type(rate_limit).__name__}")
        self.rate_limit = rate_limit
        self._core = _Core(rate_limit, margin=margin, use_headers=use_headers)

    @property
    def in_flight(self) -> int:
        """Requests released and not yet reported back."""
        return self._core.in_flight

    @property
    def paused_until(self) -> float:
        """The clock time before which nothing goes (``-inf`` when no pause was ever set)."""
        return self._core.paused_until

    def _wait_time(self) -> float:
        return self._core.admissible(self._clock.now())

    def _grant(self) -> Permit:
        return _Permit(self, self._core.admit(self._clock.now()))

    def _finish(
        self,
        ticket: _Ticket | None,
        status: int | None,
        headers: Mapping[str, str] | None,
        sent: bool,
    ) -> None:
        super()._finish(ticket, status, headers, sent)
        assert ticket is not None
        if self._core.complete(
            ticket,
            self._clock.now(),
            status=status,
            headers=headers,
            sent=sent,
        ):
            self._header_updates += 1
        self._kick()

    def pause(self, seconds: float) -> None:
        """Nothing goes for ``seconds`` (a pause in force is extended, never shortened)."""
        self._pauses += 1
        self._core.pause(self._clock.now(), max(0.0, seconds))
        self._wake_all()

    def __repr__(self) -> str:
        return (
            f"LocalLimiter({self.rate_limit!r}, in_flight={self._core.in_flight}, "
            f"waiting={self.waiting})"
        )


class NullLimiter(_QueuedLimiter):
    """No client-side rate limit (``rate_limit=None``), but still one cooldown per client: a
    429 pauses every task, and the throttled request's retry goes first when it ends."""

    def __init__(self, *, clock: Clock | None = None) -> None:
        super().__init__(clock)
        self._paused_until = -math.inf

    @property
    def paused_until(self) -> float:
        """The clock time before which nothing goes (``-inf`` when no pause was ever set)."""
        return self._paused_until

    def _wait_time(self) -> float:
        return max(0.0, self._paused_until - self._clock.now())

    def _grant(self) -> Permit:
        return _Permit(self)

    def pause(self, seconds: float) -> None:
        """Nothing goes for ``seconds`` (a pause in force is extended, never shortened)."""
        self._pauses += 1
        self._paused_until = max(self._paused_until, self._clock.now() + max(0.0, seconds))
        self._wake_all()

    def __repr__(self) -> str:
        return f"NullLimiter(waiting={self.waiting})"


def build_limiter(rate_limit: RateLimit | Limiter | None, *, clock: Clock | None = None) -> Limiter:
    """The limiter for a client's ``rate_limit=``: a :class:`LocalLimiter` for a ``RateLimit``,
    a :class:`NullLimiter` for ``None``, and any ``Limiter`` (a ``RedisLimiter``) as it is."""
    if rate_limit is None:
        return NullLimiter(clock=clock)
    if isinstance(rate_limit, RateLimit):
        return LocalLimiter(rate_limit, clock=clock)
    if isinstance(rate_limit, Limiter):
        return rate_limit
    raise ValidationError(
        f"rate_limit must be a RateLimit, a Limiter or None, got {type(rate_limit).__name__}",
        field="rate_limit",
    )
