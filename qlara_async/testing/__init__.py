"""A local Qlara API simulator for tests, demos and load runs.

It serves the send APIs (SMS Universal and Legacy, RCS, WhatsApp), credit, WhatsApp phone numbers
and media URLs under ``/api``; enforces a :class:`~qlara_async.RateLimit` per API key with one of
four server models; de-duplicates sends by ``messageId`` per API key and endpoint; injects seeded
faults; and logs every arrival and processed message so tests and benchmarks can check what
really happened.

In process::

    sim = Simulator(RateLimit.TRIAL, model="fixed")
    transport = httpx.ASGITransport(sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim/api") as http:
        ...

Over real HTTP on loopback (the server runs in its own thread and event loop)::

    with run_in_thread(sim) as base_url:      # or: async with serve(sim) as base_url:
        ...                                    # base_url == "http://127.0.0.1:PORT/api"

The rate models and the meaning of the ``X-RateLimit-*`` headers are described in
:mod:`qlara_async.testing._ratemodels`; where each fault strikes in
:mod:`qlara_async.testing._faults`.
"""

from __future__ import annotations

from ._app import Arrival, ArrivalReport, ProcessedMessage, Response, SimClock, Simulator, Stats
from ._faults import FAULT_KINDS, Faults, SimulatedDisconnect
from ._ratemodels import (
    MODELS,
    Decision,
    FixedWindowModel,
    RateModel,
    SingleBucketModel,
    SlidingWindowModel,
    TokenBucketModel,
    best_completion_time,
    make_model,
)
from ._server import SimulatorServer, run_in_thread, serve

__all__ = [
    "FAULT_KINDS",
    "MODELS",
    "Arrival",
    "ArrivalReport",
    "Decision",
    "Faults",
    "FixedWindowModel",
    "ProcessedMessage",
    "RateModel",
    "Response",
    "SimClock",
    "SimulatedDisconnect",
    "Simulator",
    "SimulatorServer",
    "SingleBucketModel",
    "SlidingWindowModel",
    "Stats",
    "TokenBucketModel",
    "best_completion_time",
    "make_model",
    "run_in_thread",
    "serve",
]
