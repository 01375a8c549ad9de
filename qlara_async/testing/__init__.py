"""A local Qlara API simulator for tests, demos and load runs.

It serves the send APIs (SMS Universal and Legacy, RCS, WhatsApp), credit, WhatsApp phone numbers,
media URLs and API keys under ``/api``; enforces a :class:`~qlara_async.RateLimit` per API key with one of
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

From the command line (the ``cli`` extra), in the foreground, logging arrivals as JSON lines::

    qlara simulate --port 8808 --rate 200/1s --fault 503=0.05 --seed 7 --log arrivals.jsonl

``GET /api/_simulator/stats`` answers the counters (see :mod:`qlara_async.testing._control`).
In pytest, the ``qlara_simulator``, ``qlara_simulator_url`` and ``qlara_client`` fixtures (a
plugin installed with the package) start one for each test.

Platform resources live in memory, per API key (each key is an account), and
:meth:`Simulator.clear` forgets them. Pre-populate a collection to page through::

    sim.seed("api_keys", 250)                  # doc-shaped items, ids 1..250
    sim.collection("api_keys").list()          # inspect (copies), or create/update/delete

Layout: ``_app.py`` is the pipeline (ASGI entry, auth, rate limit, faults, error bodies, the
:class:`Simulator` and its knobs); ``handlers/`` holds the endpoints, one module per API area
(``send.py``, ``api_keys.py``, ...); ``handlers/_api.py`` is the only thing a handler imports from
the simulator; ``_store.py`` the per-account collections; ``_router.py`` the router.

Adding an API area (templates, contacts, campaigns, ...)
--------------------------------------------------------

One new module and one import line; no other file changes. ``handlers/api_keys.py`` is the model.

1. Create ``qlara_async/testing/handlers/<area>.py``. Import only from ``._api`` (and your own
   private helper modules, named ``handlers/_<area>_*.py``).
2. Declare the area's collections at module level, with a factory making one doc-shaped item for
   seeding::

       CONTACTS = define_collection("contacts", "Contact", seed=lambda i: {"phone": f"+39320{i:07d}"})

3. Write the request bodies as :class:`~.handlers._api.Strict` structs (camelCase on the wire,
   unknown fields refused): they are the simulator's own reading of api-reference.md, never the
   library's models.
4. Write one function per endpoint, ``(request: Request) -> Reply``, registered with
   ``@route("GET", "/partner-gateway/v1/contacts/{id}")`` (path relative to ``/api``; docs README
   point 5: ``/api/v1/partner-gateway/...`` endpoints register as ``/v1/partner-gateway/...``).
   Literal segments win over ``{param}`` ones (README point 14), and each pattern names its own
   parameters. Inside:

   * parse with ``request.decode(Schema)`` (platform 400 naming the field; ``errors="jsend"`` for
     the channel send APIs), ids with ``request.path_int("id")``, integers in the query with
     ``request.query_int(...)``;
   * act on ``request.collection("contacts")``: ``create``, ``get``, ``list(**equals)``,
     ``update`` (merge), ``replace`` (PUT), ``delete``; a missing id raises the 404 for you;
   * answer with ``json(...)``, ``created(...)`` (201), ``accepted(...)`` (202), ``no_content()``
     (204), or a paginated list with ``paginate_offset`` (partner gateway), ``paginate_page_limit``
     (RCS templates) or ``paginate_page_size`` (WhatsApp templates);
   * refuse with ``raise BadRequest/NotFound/Conflict/Unprocessable(message)`` (platform format)
     or ``raise Fail({field: message})`` (JSend).

   Handlers run under the simulator's lock: no awaiting, no sleeping, no I/O. Time comes from
   ``request.now`` / ``request.clock`` / ``request.timestamp()`` (ISO 8601 UTC), so tests on a
   ``ManualClock`` control it (e.g. an export that becomes available after a delay).
5. Add ``from . import <area> as <area>`` to ``handlers/__init__.py``, on its own line.
6. Test it in ``tests/test_simulator_<area>.py``, in-process (``httpx.ASGITransport(sim)``) and
   over real HTTP (``run_in_thread(sim)``), as ``tests/test_simulator_api_keys.py`` does; keep each
   module under ~600 lines (split helpers into ``handlers/_<area>_*.py``).
"""

from __future__ import annotations

from ._app import Arrival, ArrivalReport, ProcessedMessage, Response, SimClock, Simulator, Stats
from ._callbacks import CallbackDispatcher, CallbackOptions, CallbackStats
from ._control import STATS_PATH, ArrivalLog, stats_payload
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
    "STATS_PATH",
    "Arrival",
    "ArrivalLog",
    "ArrivalReport",
    "CallbackDispatcher",
    "CallbackOptions",
    "CallbackStats",
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
    "stats_payload",
]
