"""Seeded, reproducible fault injection for the simulator.

Each request draws one number from the simulator's seeded RNG when it arrives, whatever happens to
it next, so the same sequence of requests meets the same faults run after run. The draw picks at
most one fault kind, by the cumulative probabilities in :class:`Faults` (in the order of
:data:`FAULT_KINDS`); their sum must not exceed 1.

Where each fault strikes on a request's path (arrival, auth, outage, rate limit, fault, parse,
process, respond):

* ``reset``: right after arrival. The connection is closed with a TCP reset and no response;
  nothing is rate-limited, processed or recorded as processed.
* ``outage`` (a switch or a time interval, not a probability): after auth, before the rate limit:
  every request gets 503 and consumes no budget.
* ``status_503`` / ``status_500``: after the rate limit admitted the request (it used budget),
  before processing: a platform error body with that status.
* ``drop``: after processing (the message is in the processed log), the connection is closed
  without a response.
* ``slow``: after processing, the response is delayed by ``slow_seconds``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields
from typing import Final, Literal

import httpx

__all__ = ["FAULT_KINDS", "FaultKind", "Faults", "SimulatedDisconnect"]

FaultKind = Literal["reset", "status_503", "status_500", "drop", "slow"]
"""A fault that strikes a single request at random."""

FAULT_KINDS: Final[tuple[FaultKind, ...]] = ("reset", "status_503", "status_500", "drop", "slow")
"""The random fault kinds, in the order their probabilities are stacked."""


@dataclass(slots=True)
class Faults:
    """Per-request fault probabilities (each ``0.0``-``1.0``, summing to at most 1).

    Mutable on purpose: a test may change a field while the simulator runs, and the next request
    sees it. ``slow_seconds`` is how long a ``slow`` response is held back: make it longer than
    the client's read timeout to produce a timeout.
    """

    status_503: float = 0.0
    status_500: float = 0.0
    reset: float = 0.0
    drop: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 5.0

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Raise ``ValueError`` unless every probability is in ``[0, 1]`` and they sum to <= 1."""
        total = 0.0
        for f in fields(self):
            value = getattr(self, f.name)
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"Faults.{f.name} must be a number >= 0, got {value!r}")
            if f.name != "slow_seconds":
                if value > 1:
                    raise ValueError(f"Faults.{f.name} is a probability, got {value!r}")
                total += value
        if total > 1.0 + 1e-9:
            raise ValueError(f"fault probabilities sum to {total!r}, more than 1")

    def pick(self, rng: random.Random) -> FaultKind | None:
        """Draw once from ``rng`` and return the fault kind it lands on, or ``None``."""
        r = rng.random()
        for kind in FAULT_KINDS:
            p: float = getattr(self, kind)
            if r < p:
                return kind
            r -= p
        return None


class SimulatedDisconnect(httpx.RemoteProtocolError):
    """Raised by the simulator's ASGI app to make the server close the connection unanswered.

    The loopback server catches it and closes the socket (``reset``: with a TCP RST; ``drop``:
    a plain close). Under ``httpx.ASGITransport`` it propagates to the client as what it is, an
    ``httpx.RemoteProtocolError``, so in-process tests see a transport error too.
    """

    def __init__(self, kind: Literal["reset", "drop"]) -> None:
        super().__init__(f"simulated connection {kind}: server closed without a response")
        self.kind = kind
