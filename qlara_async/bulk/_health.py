"""The job's circuit breaker: pause and probe while the server fails as a whole.

Per-message retries are the right answer to a server that fails now and then. They are the
wrong answer to a server that is down: every message would burn its attempts in a few seconds
and end ``failed``, and the job would hammer the server while it tries to recover. So the whole
job shares one ``HealthGate`` (an ``AttemptGate`` of the transport):

* closed (normal): every attempt goes. A run of ``failure_threshold`` consecutive failures
  (5xx or no response) across messages, with at least ``failure_ratio`` of the last
  ``window`` attempts failing, opens it.
* open: ``enter()`` holds every attempt except one probe at a time. Probes are spaced
  ``probe_interval`` apart, doubling up to ``max_probe_interval`` (2 s by default, so a recovery
  is noticed within a few seconds). The first healthy answer, from a probe or from an attempt
  that was already out, closes the breaker and releases everyone.

``max_outage`` bounds how long it may stay open: once a failure arrives more than ``max_outage``
seconds after it opened, ``on_outage(seconds)`` is called (once per opening) and the job stops.

``epoch`` counts openings, so a message can tell whether the breaker opened during its life:
such a message is not failed when its retries run out, it goes again under the same id.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import anyio

from .._clock import Clock
from .._exceptions import APIConnectionError

__all__ = ["BulkOutageError", "HealthGate", "MessageGate"]

log = logging.getLogger("qlara_async.bulk")


class BulkOutageError(APIConnectionError):
    """The server failed as a whole for longer than the job's ``max_outage``: the job stopped.

    Raised by ``run()``/``stream()`` after the job stopped in order; ``report`` is the job's
    report (``outage`` and ``stopped`` true, what was not sent listed). A journaled job resumes
    from where it stopped when run again. ``seconds``: how long the server had been failing.
    """

    __module__ = "qlara_async.bulk"

    def __init__(self, message: str, *, seconds: float = 0.0, report: Any = None) -> None:
        super().__init__(message)
        self.seconds = seconds
        self.report = report

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.message,), self.__dict__)


class HealthGate:
    """A circuit breaker shared by every message of one job."""

    def __init__(
        self,
        clock: Clock,
        *,
        failure_threshold: int = 5,
        failure_ratio: float = 0.5,
        window: int = 20,
        probe_interval: float = 0.25,
        max_probe_interval: float = 2.0,
        on_change: Callable[[bool], None] | None = None,
        max_outage: float | None = None,
        on_outage: Callable[[float], None] | None = None,
    ) -> None:
        if failure_threshold < 1:
            raise ValueError(f"failure_threshold must be >= 1, got {failure_threshold!r}")
        self.clock = clock
        self.failure_threshold = failure_threshold
        self.failure_ratio = failure_ratio
        self.probe_interval = probe_interval
        self.max_probe_interval = max_probe_interval
        self.on_change = on_change
        self.max_outage = max_outage
        """Seconds the breaker may stay open before ``on_outage`` (``None``: for ever)."""
        self.on_outage = on_outage
        self.is_open = False
        self.epoch = 0
        """Times the breaker opened."""
        self._consecutive = 0
        self._recent: deque[bool] = deque(maxlen=window)
        self._recent_failures = 0
        self._interval = probe_interval
        self._next_probe = 0.0
        # The one message allowed to probe (or waiting to, until ``_next_probe``), if any.
        self._prober: MessageGate | None = None
        self._changed = anyio.Event()
        self._opened_at = 0.0
        self._outage_reported = False

    def others_failing(self, gate: MessageGate) -> bool:
        """The current run of failures is not ``gate``'s message's alone: the server may be
        failing as a whole (the breaker opens only after enough evidence)."""
        return self._consecutive > gate.failing

    def for_message(self) -> MessageGate:
        """A gate for one message's attempts (it remembers whether that message is probing)."""
        return MessageGate(self)

    # -- state changes -----------------------------------------------------------------------

    def _notify(self) -> None:
        self._changed.set()
        self._changed = anyio.Event()

    def _record(self, healthy: bool) -> None:
        if len(self._recent) == self._recent.maxlen and not self._recent[0]:
            self._recent_failures -= 1
        self._recent.append(healthy)
        if not healthy:
            self._recent_failures += 1

    def _open(self) -> None:
        self.is_open = True
        self.epoch += 1
        self._opened_at = self.clock.now()
        self._outage_reported = False
        self._interval = self.probe_interval
        self._next_probe = self.clock.now() + self._interval
        log.warning(
            "bulk: the server is failing as a whole (%d failures in a row); pausing and probing",
            self._consecutive,
        )
        if self.on_change is not None:
            self.on_change(True)
        self._notify()

    def _close(self) -> None:
        self.is_open = False
        self._consecutive = 0
        self._prober = None
        log.warning("bulk: the server answers again; resuming")
        if self.on_change is not None:
            self.on_change(False)
        self._notify()

    def _report(self, gate: MessageGate, healthy: bool | None) -> None:
        was_probe = self._prober is gate
        if healthy is None:
            if was_probe:
                self._prober = None
                self._notify()
            return
        self._record(healthy)
        if healthy:
            self._consecutive = 0
            if self.is_open:
                self._close()
            return
        self._consecutive += 1
        if self.is_open:
            self._check_outage()
            if was_probe:
                # The probe failed: wait longer before the next one.
                self._interval = min(self.max_probe_interval, self._interval * 2)
                self._next_probe = self.clock.now() + self._interval
                self._prober = None
                self._notify()
        elif (
            self._consecutive >= self.failure_threshold
            and self._recent_failures >= self.failure_ratio * len(self._recent)
        ):
            self._open()

    def _check_outage(self) -> None:
        if self.max_outage is None or self._outage_reported:
            return
        down = self.clock.now() - self._opened_at
        if down >= self.max_outage:
            self._outage_reported = True
            log.warning("bulk: the server has been failing for %.0f s; giving up", down)
            if self.on_outage is not None:
                self.on_outage(down)

    async def _enter(self, gate: MessageGate) -> None:
        while self.is_open:
            if self._prober is None:
                self._prober = gate
                try:
                    delay = self._next_probe - self.clock.now()
                    if delay > 0:
                        await self.clock.sleep(delay)
                except BaseException:
                    self._prober = None
                    self._notify()
                    raise
                if not self.is_open:
                    # Closed while we waited: go as a normal attempt.
                    self._prober = None
                    return
                if self._prober is gate:
                    gate.probing = True
                    gate.probes += 1
                    return
                # It closed and opened again while we slept, and another message took the
                # probe: one probe at a time, so wait like everyone else.
                continue
            await self._changed.wait()


class MessageGate:
    """One message's view of the ``HealthGate`` (an ``AttemptGate`` for the transport)."""

    __slots__ = ("_health", "failing", "probes", "probing")

    def __init__(self, health: HealthGate) -> None:
        self._health = health
        self.probing = False
        self.failing = 0
        """This message's failures since its last healthy answer."""
        self.probes = 0
        """Attempts this message made as the breaker's probe."""

    async def enter(self) -> None:
        """Wait until an attempt may go: at once while the breaker is closed."""
        if self._health.is_open:
            await self._health._enter(self)

    def exit(self, healthy: bool | None) -> None:
        """Report the attempt's health to the breaker."""
        if healthy is not None:
            self.failing = 0 if healthy else self.failing + 1
        self._health._report(self, healthy)
        self.probing = False
