"""``RedisLimiter``: the local limiter's rule, with its state in Redis, shared by every process.

How the I/O fits the synchronous protocol
=========================================

``Limiter.acquire()`` is async, so a reservation is one awaited script call. ``Permit.release()``
and ``Limiter.pause()`` stay synchronous (the protocol is unchanged): they update this process's
own counts at once and queue a report that a background task (one per limiter, started by the
first ``acquire``) sends as one script call per batch. Why not an async ``release``: it runs in
``finally`` blocks and on cancellation paths of the transport, where awaiting a network call
could be cancelled half-way or hang a cancelled task; and every existing limiter and caller keeps
working. Why it is safe: a late report only delays a completion, and the rule counts a request as
arriving *now* until its completion is recorded, then from the (later) recorded time: both make
the count larger, never smaller. A 429's cooldown applies in this process at once and reaches
the others with the next batch (one round trip later).

Failure modes (see the README's "Many workers, one key")
========================================================

* **Redis unreachable** (at start or mid-job): ``on_unavailable="wait"`` (the default) holds
  every request until Redis answers again, retrying with a capped backoff, and raises
  :class:`RedisUnavailableError` after ``unavailable_timeout`` seconds; ``"fail"`` raises at
  once. Nothing is sent while the shared state is unknown, so no 429 storm follows an outage;
  requests already in flight finish normally and are reported when Redis is back. There is
  deliberately no "local fallback": a local limiter cannot see what the other workers sent
  before the outage, so to be safe it would first have to sit out the longest window, which is
  never better than waiting for Redis.
* **Redis loses its state** (restart without persistence, failover): the first worker that
  remembers the old state's epoch re-creates it with a cooldown of the longest window, and
  brings its own in-flight count back; others rejoin under new worker ids. A worker started
  after the loss cannot tell it from the key's first use: it cools down only with
  ``cold_start="cooldown"`` (then also on a key's very first use).
* **A worker paused longer than its lease** (SIGSTOP, a VM freeze): its slots were reaped and
  reused by others; on waking, its next reservation is answered "reaped" and it rejoins under a
  new id (its requests still in flight were counted by the reaper as lost ones). Permits it had been granted before the
  pause may still be sent: the limiter cannot recall them. Keep ``lease`` above the longest
  pause a worker may take (and above the client's HTTP timeout).
* **A worker dies holding slots**: each worker holds a lease (``lease`` seconds, renewed by its
  background task); when it runs out, its in-flight requests are counted as lost requests that
  completed then, its queue place is dropped, and the slots come back. Keep ``lease`` above the
  client's HTTP timeout: a live worker cut off from Redis for longer than that is treated as
  dead, and its requests must have ended by then.
* **Clocks differ between hosts**: every time is Redis's ``TIME``; workers only sleep for the
  durations Redis returns.

Layout: this module is the protocol (the local queue, reservations, reports, the reporter
task); ``_link.py`` the connection and one script call with its retries; ``_scripts.py`` the Lua
and the arguments it takes; ``_permit.py`` the permits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import uuid
from collections import deque
from typing import Any, Final, Literal

from .._budget import default_margin
from .._clock import AnyioClock, Clock
from .._config import RateLimit
from .._exceptions import ValidationError
from .._limiter import CooldownTooLong, LimiterStats, Permit, _Waiter
from ._errors import RedisConfigMismatchError, RedisLimiterError
from ._link import ScriptLink
from ._permit import _LOST, _UNSENT, _GrantWaiter, _RedisPermit, _Report
from ._redis_io import check_url, mask_url
from ._scripts import rule_args, script_keys

__all__ = ["RedisLimiter", "mask_url"]

log = logging.getLogger("qlara_async.redis")

_US: Final = 1_000_000


class RedisLimiter:
    """A rate limit shared by every process that uses the same Redis and ``key``.

    The same guarantees as the local limiter (see ``qlara_async._limiter``), across processes:
    requests are counted at completion, in-flight ones as arriving now, the server's
    ``X-RateLimit-Remaining`` is spent, a 429 seen by any worker pauses all of them, and the
    workers take turns first come, first served. Each reservation is one Lua script (one round
    trip when a request may go at once), timed by Redis's clock. asyncio only (redis-py's
    asyncio client).

    :param url: ``redis://``, ``rediss://`` or ``unix://`` URL; its password never appears in a
        repr, log or error.
    :param rate_limit: the windows; every worker on ``key`` must use the same.
    :param key: the budget's name (one per API key); Redis keys are ``qlara:{key}:*``.
    :param on_unavailable: ``"wait"`` (default) or ``"fail"`` when Redis cannot be reached.
    :param unavailable_timeout: how long ``"wait"`` waits before raising.
    :param lease: seconds after which a silent worker's slots are taken back.
    :param poll_interval: how often a worker not at the front of the queue asks again.
    :param margin: seconds added to every window (default as the local limiter's).
    :param use_headers: spend the budget the server reports in ``X-RateLimit-*`` headers.
    :param clock: where this process sleeps (durations only: times come from Redis).
    :param socket_timeout: seconds for one Redis round trip or connect.
    :param cold_start: what a worker that has not seen the key's state yet does when Redis holds
        none. ``"trust"`` (default): start with the whole budget, as on a key's first use.
        ``"cooldown"``: sit out the longest window first, unless Redis remembers (30 days) that
        the key was used and its state merely expired while idle. Only this covers a worker
        that starts just after Redis lost the state (a restart without persistence, a
        failover, ``FLUSHALL``), which is indistinguishable from a first use; workers that
        knew the old state always cool down.
    """

    def __init__(
        self,
        url: str,
        rate_limit: RateLimit = RateLimit.PRODUCTION,
        *,
        key: str = "default",
        on_unavailable: Literal["wait", "fail"] = "wait",
        unavailable_timeout: float = 60.0,
        lease: float = 30.0,
        poll_interval: float = 0.005,
        margin: float | None = None,
        use_headers: bool = True,
        clock: Clock | None = None,
        socket_timeout: float = 2.0,
        cold_start: Literal["trust", "cooldown"] = "trust",
    ) -> None:
        check_url(url)
        if not isinstance(rate_limit, RateLimit):
            raise ValidationError(
                f"rate_limit must be a RateLimit, got {type(rate_limit).__name__}",
                field="rate_limit",
            )
        if not isinstance(key, str) or not key or any(c in key for c in "{}\r\n "):
            raise ValidationError(
                "key must be a non-empty string without braces or whitespace", field="key"
            )
        if on_unavailable not in ("wait", "fail"):
            raise ValidationError(
                f"on_unavailable must be 'wait' or 'fail', got {on_unavailable!r}",
                field="on_unavailable",
            )
        for name, value in (
            ("unavailable_timeout", unavailable_timeout),
            ("lease", lease),
            ("poll_interval", poll_interval),
            ("socket_timeout", socket_timeout),
        ):
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
                raise ValidationError(f"{name} must be a number > 0", field=name)
        if cold_start not in ("trust", "cooldown"):
            raise ValidationError(
                f"cold_start must be 'trust' or 'cooldown', got {cold_start!r}", field="cold_start"
            )
        self.cold_start = cold_start
        if margin is not None and (
            not isinstance(margin, (int, float)) or not math.isfinite(margin) or margin < 0
        ):
            raise ValidationError("margin must be a number >= 0", field="margin")
        self.rate_limit = rate_limit
        self.key = key
        self.on_unavailable = on_unavailable
        self.unavailable_timeout = float(unavailable_timeout)
        self.lease = float(lease)
        self.poll_interval = float(poll_interval)
        self.use_headers = use_headers
        self._clock: Clock = clock if clock is not None else AnyioClock()
        margins = [
            default_margin(p) if margin is None else float(margin) for _, p in rate_limit.windows
        ]
        self._rule = rule_args(rate_limit.windows, margins, self.lease)
        self._link = ScriptLink(
            url, keys=script_keys(key), socket_timeout=float(socket_timeout), clock=self._clock
        )
        self._safe_url = self._link.safe_url
        self._worker = uuid.uuid4().hex
        self._registered = False
        self._epoch = ""
        self._in_flight = 0
        self._paused_until = -math.inf
        self._pending: deque[_Report] = deque()
        self._pending_pause = 0.0
        self._leave = 0
        self._priority: deque[_Waiter] = deque()
        self._normal: deque[_Waiter] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._wakeup: asyncio.Event | None = None
        self._reservation: asyncio.Task[list[Any]] | None = None
        self._flush_lock = asyncio.Lock()
        self._orphans: set[asyncio.Task[list[Any]]] = set()
        self._closed = False
        self.workers_seen = 0
        """Workers registered on the key at the last reservation."""
        self._acquired = self._waited = self._released = self._lost = 0
        self._header_updates = self._pauses = 0
        self._total_wait = self._max_wait = 0.0

    # -- plumbing ---------------------------------------------------------------------------

    # The link's client and scripts under the limiter's names: tests wrap ``_call`` and tell
    # the scripts apart by identity (``script is limiter._reserve``).
    @property
    def _redis(self) -> Any:
        return self._link.redis

    @property
    def _reserve(self) -> Any:
        return self._link.reserve

    @property
    def _report(self) -> Any:
        return self._link.report

    def _common(self, local_inflight: int) -> list[Any]:
        return [
            self._worker,
            uuid.uuid4().hex,
            # '?': no epoch known yet, and no state means it may have been lost (cold_start).
            self._epoch or ("?" if self.cold_start == "cooldown" else ""),
            local_inflight,
            *self._rule,
        ]

    async def _call(self, script: Any, args: list[Any]) -> list[Any]:
        """One script call; retried per ``on_unavailable``; only our errors leave.

        Only the round trip itself may be protected by the caller (see ``_reserve_in_task``):
        the waits between retries are plain sleeps, cancellable like any other."""
        task = asyncio.current_task()
        result = await self._link.call(
            script,
            args,
            deadline=self._clock.now() + self.unavailable_timeout,
            # Read at each failure: ``aclose`` switches to "fail" for its last flush, and a
            # reservation whose caller left stops retrying.
            give_up=lambda: self.on_unavailable == "fail" or task in self._orphans,
        )
        if result[0] == "cfg":
            raise RedisConfigMismatchError(
                f"key {self.key!r} is used with other windows ({result[1]}) than"
                f" {self.rate_limit!r}",
                url=self._safe_url,
            )
        return result

    async def _reserve_in_task(self, args: list[Any]) -> list[Any]:
        """The reservation's round trip, in a task of its own: if the caller is cancelled
        (an anyio scope or a bare asyncio ``task.cancel()``) while Redis may be granting, the
        task still gets the reply and gives what it granted back (``_orphaned``); if it is only
        waiting to retry, it is cancelled too. One reservation at a time per process."""
        task = asyncio.get_running_loop().create_task(self._call(self._reserve, args))
        self._reservation = task
        task.add_done_callback(self._reservation_done)
        try:
            return await asyncio.shield(task)
        except BaseException:
            if task.done():
                # Cancelled just as the reply landed: the grant is ours to give back.
                self._orphaned(task)
            else:
                self._orphans.add(task)
                task.add_done_callback(self._orphaned)
                if task in self._link.backing_off:
                    task.cancel()  # nothing granted: it was only waiting to retry
            raise

    def _reservation_done(self, task: asyncio.Task[list[Any]]) -> None:
        if self._reservation is task:
            self._reservation = None
        self._kick()

    def _orphaned(self, task: asyncio.Task[list[Any]]) -> None:
        """A reservation whose caller left: give back whatever Redis granted to it."""
        self._orphans.discard(task)
        if task.cancelled() or task.exception() is not None:
            return
        reply = task.result()
        if reply[0] == "reaped":
            self._rejoin(reply[1])
            return
        self._registered = True
        self._epoch = reply[2] if reply[0] == "ok" else reply[3]
        if reply[0] == "ok":
            granted, before = reply[4], reply[1]
            self._in_flight += granted
            self._acquired += granted
            for _ in range(granted):
                self._finished((self._worker, self._epoch, before, _UNSENT, -1, True))

    def _rejoin(self, epoch: str) -> None:
        # Our lease ran out: the reaper counted the slots we held as lost requests completing
        # then (dated ``grace`` late), which covers the ones still in flight; start afresh.
        # Their reports carry the old id and no longer touch our count, so it restarts at 0.
        log.warning("this worker's lease ran out; rejoining under a new id")
        self._worker = uuid.uuid4().hex
        self._registered = False
        self._epoch = epoch
        self._in_flight = 0

    # -- the protocol -----------------------------------------------------------------------

    @property
    def paused_until(self) -> float:
        """The clock time before which nothing goes, as far as this process knows."""
        return self._paused_until

    @property
    def in_flight(self) -> int:
        """Requests this process released and has not reported back yet."""
        return self._in_flight

    @property
    def stats(self) -> LimiterStats:
        """Counters of this process's use of the limiter."""
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

    def _head(self) -> _Waiter | None:
        for queue in (self._priority, self._normal):
            while queue and queue[0].cancelled:
                queue.popleft()
            if queue:
                return queue[0]
        return None

    def _kick(self) -> None:
        head = self._head()
        if head is not None:
            head.wake()

    def _start(self) -> None:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            # Under trio: redis-py's client is asyncio-only; say so rather than fail inside it.
            raise RedisLimiterError(
                "RedisLimiter runs on asyncio only (redis-py's asyncio client)", url=self._safe_url
            ) from None
        if self._flusher is None or self._flusher.done():
            self._wakeup = asyncio.Event()
            self._flusher = asyncio.get_running_loop().create_task(self._flush_loop())

    async def acquire(self, *, priority: bool = False, max_pause: float = math.inf) -> Permit:
        """Wait for this process's turn (first come, first served, ``priority`` first), then
        for the shared rule to let a request go; return its permit. Raises
        :class:`CooldownTooLong` for a cooldown longer than ``max_pause``, and a
        :class:`~qlara_async.redis.RedisLimiterError` when Redis cannot decide."""
        if self._closed:
            raise RedisLimiterError("the limiter is closed", url=self._safe_url)
        self._link.connect()
        self._start()
        waiter = _GrantWaiter()
        queue = self._priority if priority else self._normal
        queue.append(waiter)
        start = self._clock.now()
        waited = False
        try:
            while True:
                remaining = self._paused_until - self._clock.now()
                if remaining > max_pause:
                    raise CooldownTooLong(remaining)
                if waiter.permit is not None:
                    # Granted by a reservation the head made for several of us.
                    self._count_wait(start)
                    return waiter.permit
                if self._head() is not waiter or self._reservation is not None:
                    # Not our turn, or a reservation of this process is on its way (its
                    # grant may be ours: it is handed out in queue order when it lands).
                    waited = True
                    await waiter.park()
                    continue
                reply = await self._reserve_in_task(
                    [
                        *self._common(self._in_flight),
                        int(priority),
                        int(self._registered),
                        math.ceil(self.poll_interval * _US),
                        math.ceil(max(0.05, 10 * self.poll_interval) * _US),
                        self.waiting,
                    ]
                )
                kind = reply[0]
                if kind == "reaped":
                    self._rejoin(reply[1])
                    continue
                self._registered = True
                if kind == "ok":
                    self._epoch = reply[2]
                    self.workers_seen = reply[3]
                    granted = reply[4]
                    before = reply[1]
                    # By identity: a priority waiter may have come in front of us meanwhile.
                    queue.remove(waiter)
                    self._in_flight += granted
                    self._acquired += granted
                    # The rest of the grant goes to the next in line, in order.
                    for _ in range(granted - 1):
                        nxt = self._head()
                        if nxt is None:  # they left meanwhile: give the slot back
                            self._finished((self._worker, self._epoch, before, _UNSENT, -1, True))
                            continue
                        (self._priority if self._priority else self._normal).popleft()
                        assert isinstance(nxt, _GrantWaiter)
                        nxt.permit = _RedisPermit(self, self._worker, self._epoch, before, True)
                        nxt.wake()
                    if waited:
                        self._count_wait(start)
                    self._kick()
                    return _RedisPermit(self, self._worker, self._epoch, before, True)
                wait_us, paused_us = reply[1], reply[2]
                self._epoch = reply[3]
                self.workers_seen = reply[4]
                now = self._clock.now()
                if paused_us > 0:
                    self._paused_until = max(self._paused_until, now + paused_us / _US)
                    if paused_us / _US > max_pause:
                        raise CooldownTooLong(paused_us / _US)
                # -1: only a completion can help; ours wake us, others' are polled for.
                wait = self.poll_interval if wait_us < 0 else wait_us / _US
                waited = True
                await waiter.sleep(self._clock, min(wait, 1.0))
        except BaseException:
            waiter.cancelled = True
            if waiter.permit is not None:
                waiter.permit.release(status=None, sent=False)
            if self._head() is None and not priority:
                self._leave = max(self._leave, 1)  # give our place in the shared queue back
                self._poke()
            self._kick()
            raise

    @property
    def waiting(self) -> int:
        """Tasks of this process waiting in ``acquire()``."""
        return sum(not w.cancelled for w in self._priority) + sum(
            not w.cancelled for w in self._normal
        )

    def _count_wait(self, start: float) -> None:
        elapsed = self._clock.now() - start
        self._waited += 1
        self._total_wait += elapsed
        self._max_wait = max(self._max_wait, elapsed)

    def _finished(self, report: _Report) -> None:
        self._released += 1
        if report[5] and report[0] == self._worker:
            self._in_flight -= 1
        if report[3] == _LOST:
            self._lost += 1
        self._pending.append(report)
        self._poke()
        self._kick()

    def _poke(self) -> None:
        if self._wakeup is not None:
            self._wakeup.set()

    def pause(self, seconds: float) -> None:
        """A 429: nothing goes from any worker for ``seconds`` (extends a pause, never
        shortens it). Applied here at once, and shared with the next report."""
        self._pauses += 1
        seconds = max(0.0, seconds)
        self._paused_until = max(self._paused_until, self._clock.now() + seconds)
        self._pending_pause = max(self._pending_pause, seconds)
        self._poke()
        for queue in (self._priority, self._normal):
            for waiter in queue:
                if not waiter.cancelled:
                    waiter.wake()

    async def _flush(self) -> None:
        # One flush at a time (the reporter, aclose, a caller): two would send, then pop,
        # the same batch.
        async with self._flush_lock:
            await self._flush_once()

    async def _flush_once(self) -> None:
        batch = list(self._pending)
        pause, leave = self._pending_pause, self._leave
        mine = sum(1 for r in batch if r[5] and r[0] == self._worker)
        args = [
            *self._common(self._in_flight + mine),
            math.ceil(pause * _US),
            leave,
            int(self.use_headers),
        ]
        for worker, epoch, before, kind, remaining, counted in batch:
            args += [worker, epoch, before, kind, remaining, int(counted)]
        reply = await self._call(self._report, args)
        for _ in batch:
            self._pending.popleft()
        if self._pending_pause == pause:
            self._pending_pause = 0.0
        if self._leave == leave:
            self._leave = 0
        self._header_updates += reply[1]
        # A report that finds the state gone re-creates it (with our in-flight count).
        self._epoch = reply[2]

    async def _flush_loop(self) -> None:
        # Plain asyncio here (no anyio cancel scopes): this task is ours, started with
        # create_task, and stopped by aclose() through ``_closed`` and the event.
        assert self._wakeup is not None
        heartbeat = self.lease / 5
        while not self._closed:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), heartbeat)
            self._wakeup.clear()
            if self._closed:
                return
            if not (self._pending or self._pending_pause or self._leave or self._registered):
                continue
            try:
                await self._flush()
            except RedisLimiterError as exc:
                # Reports stay queued; the next wake-up or heartbeat tries again.
                log.warning("could not report to Redis: %s", exc.message)
                await asyncio.sleep(0.2)
            except Exception as exc:  # pragma: no cover - a bug: this task must not die
                log.error("the limiter's reporter failed (%s); retrying", type(exc).__name__)
                await asyncio.sleep(0.2)

    async def aclose(self) -> None:
        """Send what is left to report, leave the shared queue and close the connection."""
        if self._closed:
            return
        self._closed = True
        flusher = self._flusher
        if flusher is not None and not flusher.done():
            self._poke()
            # A flush under way finishes (bounded by the socket timeout, or the backoff of
            # "wait" mode, which is why it is cut short here).
            done: set[Any] = set()
            if (
                flusher not in self._link.backing_off
            ):  # (only waiting to retry: nothing to wait for)
                done, _ = await asyncio.wait({flusher}, timeout=self._link.socket_timeout)
            if not done:
                flusher.cancel()
                with contextlib.suppress(BaseException):
                    await flusher
        reservation = self._reservation
        if reservation is not None and not reservation.done():
            # A grant on its way is given back by ``_orphaned`` (queued for the flush below).
            if reservation not in self._link.backing_off:
                await asyncio.wait({reservation}, timeout=self._link.socket_timeout)
            if not reservation.done():
                reservation.cancel()
        if self._redis is None:
            return
        if self._registered or self._pending:
            self._leave = 2
            saved, self.on_unavailable = self.on_unavailable, "fail"
            try:
                await asyncio.wait_for(self._flush(), self._link.socket_timeout * 2)
            except (RedisLimiterError, asyncio.TimeoutError):
                log.warning("could not leave the shared queue cleanly; the lease will")
            finally:
                self.on_unavailable = saved
        await self._link.aclose()

    def __repr__(self) -> str:
        return (
            f"RedisLimiter({self._safe_url!r}, {self.rate_limit!r}, key={self.key!r},"
            f" in_flight={self._in_flight})"
        )
