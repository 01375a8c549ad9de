"""What a bulk job hands back: one ``Outcome`` per message, ``Progress`` snapshots, a ``BulkReport``.

Outcomes are small on purpose (a slotted, frozen Struct without GC tracking): a job may produce
millions of them, and ``run()`` keeps none (memory does not grow with the job's size).
"""

from __future__ import annotations

from typing import Literal

import msgspec

from .._exceptions import QlaraError
from ..models import SendResult

__all__ = ["BulkEvent", "BulkReport", "Outcome", "OutcomeStatus", "Progress"]

OutcomeStatus = Literal["accepted", "rejected", "failed"]
"""``accepted``: some channel took it. ``rejected``: refused for good (a 4xx, ``accepted: false``
in a 200, or validation before any request). ``failed``: anything else (retries exhausted, fate
unknown)."""


class Outcome(msgspec.Struct, frozen=True, gc=False):
    """The fate of one input message; a job yields exactly one per message it reads (a resumed
    job included: a message an earlier run settled yields its journaled outcome, ``resumed``).

    ``result`` is the API's answer when there was one (``accepted`` outcomes, and ``rejected``
    ones refused by ``accepted: false``); ``error`` the last error otherwise. ``attempts`` counts
    HTTP attempts over the message's whole life, earlier runs of a journaled job included;
    ``0`` for a message refused by validation. ``message_id`` is ``None`` only for a message
    that failed validation before it was given an id.
    """

    index: int
    """The message's position in the input, from 0."""
    message_id: str | None
    """The ``messageId`` every attempt carried."""
    status: OutcomeStatus
    """``"accepted"``, ``"rejected"`` or ``"failed"``."""
    result: SendResult | None = None
    """The API's answer, if one arrived."""
    error: QlaraError | None = None
    """Why it was not accepted, if it was not."""
    attempts: int = 0
    """HTTP attempts made for it."""
    resumed: bool = False
    """Settled by an earlier run of a journaled job: taken from the journal, not sent now
    (``result`` and ``error`` are then ``None``: the journal keeps the status, id and attempts)."""

    @property
    def reasons(self) -> list[object]:
        """The channels' rejection reasons from ``result`` (empty without a result)."""
        if self.result is None:
            return []
        r = self.result.results
        out: list[object] = []
        for channel in (r.sms, r.rcs, r.whatsapp):
            if channel is not None:
                out.extend(channel.reasons)
        return out


class BulkEvent(msgspec.Struct, frozen=True, gc=False):
    """One thing that happened during a job, for ``on_event`` hooks.

    ``kind`` is ``"request"`` (an attempt leaves), ``"retry"`` (an attempt failed and another
    will follow), ``"throttle"`` (a 429 arrived), ``"requeue"`` (a message's retries ran out
    while the server was failing as a whole: it goes again under the same id), ``"pause"``
    (the job stopped sending: the server is failing as a whole) or ``"resume"``. Pause and
    resume carry ``index=-1`` and no ``message_id``.
    """

    kind: Literal["request", "retry", "throttle", "requeue", "pause", "resume"]
    index: int
    message_id: str | None
    attempts: int
    """The message's attempts so far (0 for pause/resume)."""


class Progress(msgspec.Struct, frozen=True, gc=False):
    """A snapshot of a running job, passed to ``on_progress``."""

    done: int
    """Messages with an outcome (accepted + rejected + failed), those from the journal included."""
    total: int | None
    """Messages in the job when known (``total=`` or ``len(messages)``), else ``None``."""
    accepted: int
    rejected: int
    failed: int
    skipped: int
    """Of ``accepted`` and ``rejected``, those an earlier run settled (from the journal)."""
    in_flight: int
    """Messages being sent now."""
    requests: int
    """HTTP requests made, retries included."""
    retries: int
    throttles: int
    """429 responses received."""
    elapsed: float
    """Seconds since the job started."""
    rate: float
    """Outcomes of this run (``done - skipped``) per second since the job started."""
    paused: bool
    """The server is failing as a whole and the job is waiting for it (probing)."""
    cooldown: float = 0.0
    """Seconds of 429 cooldown still to wait: the server asked the client to hold off."""


class BulkReport(msgspec.Struct, kw_only=True, gc=False):
    """What a job did. ``total == accepted + rejected + failed + not_sent``.

    ``total`` counts the messages taken from the input; each has exactly one of those four
    fates. A resumed job covers the whole job: ``accepted`` and ``rejected`` include what earlier
    runs settled, and ``skipped`` (a part of them, ``skipped <= accepted + rejected``) says how
    many came from the journal rather than from a send in this run. A job that ran to the end
    has ``not_sent == 0``; a stopped or cancelled one lists what it took but never sent in
    ``not_sent_indices`` and everything from ``next_index`` on was never read.
    """

    accepted: int = 0
    rejected: int = 0
    failed: int = 0
    not_sent: int = 0
    """Messages taken from the input but never attempted (the job was stopped first)."""
    skipped: int = 0
    """Of ``accepted`` and ``rejected``: settled by an earlier run per the journal, not sent again."""
    total: int = 0
    """Messages taken from the input."""
    requests: int = 0
    """HTTP requests made, retries included."""
    retries: int = 0
    """Attempts after a message's first."""
    throttles: int = 0
    """429 responses received."""
    requeues: int = 0
    """Times a message went again after its retries ran out during a server-wide failure."""
    pauses: int = 0
    """Times the job paused because the server was failing as a whole."""
    elapsed: float = 0.0
    """Seconds from start to end."""
    stopped: bool = False
    """The job was stopped or cancelled before it read all of its input."""
    outage: bool = False
    """The job stopped because the server failed as a whole for longer than ``max_outage``
    (``run()`` and ``stream()`` then raise ``BulkOutageError``; the journal resumes it)."""
    next_index: int = 0
    """The first input index never read (``total`` unless stopped early)."""
    not_sent_indices: tuple[int, ...] = ()
    """The indices counted in ``not_sent`` (at most ``concurrency`` plus the small buffer)."""

    @property
    def throughput(self) -> float:
        """Outcomes of this run (journaled ones not counted) per second of elapsed time."""
        done = self.accepted + self.rejected + self.failed - self.skipped
        return done / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def ok(self) -> bool:
        """Every message taken was accepted (now or by an earlier run) or rejected."""
        return self.failed == 0 and self.not_sent == 0


def summary(r: BulkReport) -> str:
    """The report in one log line (counts only: never numbers or text)."""
    return (
        f"{r.accepted} accepted, {r.rejected} rejected, {r.failed} failed, {r.not_sent} not"
        f" sent of {r.total} ({r.skipped} from the journal); {r.requests} requests,"
        f" {r.retries} retries, {r.throttles} throttled, {r.pauses} pauses, {r.elapsed:.1f}s"
    )
