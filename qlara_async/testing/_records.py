"""What the simulator records and answers: the arrival log, the processed-message log, the
live counters, and the response of one request (see :class:`~qlara_async.testing.Simulator`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgspec

__all__ = ["Arrival", "ArrivalReport", "ProcessedMessage", "Response", "Stats"]


class Arrival(msgspec.Struct, frozen=True, gc=False):
    """One request as it arrived, and what became of it."""

    time: float
    """``clock.now()`` at arrival (``time.monotonic()`` by default)."""
    key: str | None
    """The authenticated identity (API key, or ``user:NAME`` for Basic auth); ``None`` if none."""
    method: str
    path: str
    status: int | None
    """The HTTP status answered; ``None`` when the connection was closed without a response."""
    admitted: bool
    """Whether the rate limit let it through (``False`` for 429s and for anything stopped
    before the rate limit: reset, 401, 404, outage)."""
    fault: str | None
    """The fault injected into it, if any (``"outage"`` included)."""


class ProcessedMessage(msgspec.Struct, frozen=True, gc=False):
    """One message the simulator processed (sent, or rejected per destination)."""

    message_id: str
    channel: str
    """``"sms"``, ``"sms_legacy"``, ``"rcs"`` or ``"whatsapp"``."""
    destination: str
    digest: str
    """A short hash of the content (the body, or the template and placeholders)."""
    time: float
    key: str
    accepted: bool


class ArrivalReport(msgspec.Struct, frozen=True):
    """Arrival-log summary for a benchmark (see :meth:`Simulator.arrival_report`)."""

    requests: int
    rate_limited: int
    """429 answers, storms included."""
    admitted: int
    first_admitted: float | None
    last_admitted: float | None
    span: float
    """``last_admitted - first_admitted``; ``0.0`` with fewer than two admissions."""


@dataclass(slots=True)
class Stats:
    """Live counters; read them at any time."""

    arrivals: int = 0
    """Requests received, whatever became of them."""
    processed: int = 0
    """Messages processed (one per destination of a legacy send); duplicates excluded."""
    duplicates: int = 0
    """Sends answered from the de-duplication store."""
    rate_limited: int = 0
    """429 answers."""
    unauthorized: int = 0
    bad_requests: int = 0
    simulated: int = 0
    """Sends with ``simulation: true`` (validated, not processed)."""
    faults: Counter[str] = field(default_factory=Counter)
    """Faults injected, by kind (``reset``, ``status_503``, ..., ``outage``)."""


@dataclass(slots=True)
class Response:
    """What :meth:`Simulator.handle` answers.

    ``disconnect`` (``"reset"``/``"drop"``) means: close the connection instead of responding.
    ``delay`` is how long to hold the response back (the ``slow`` fault).
    """

    status: int
    body: bytes
    headers: list[tuple[str, str]]
    disconnect: str | None = None
    delay: float = 0.0

    def json(self) -> Any:
        """The body, decoded."""
        return msgspec.json.decode(self.body)

    def header(self, name: str) -> str | None:
        """The first header called ``name`` (case-insensitive), or ``None``."""
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return None
