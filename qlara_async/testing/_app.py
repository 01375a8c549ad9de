"""The simulator: its state, its request pipeline and the ASGI entry point.

Every request takes the same path through :meth:`Simulator.handle`, a synchronous function under a
lock (so the state stays consistent when a threaded server and an in-process transport share one
simulator):

1. arrival: counted, timed (``clock.now()``), one fault drawn from the seeded RNG;
2. ``reset`` fault: the connection is closed, nothing else happens;
3. route (unknown path: 404, wrong method: 405) and auth (401);
4. outage: 503, no budget used;
5. rate limit: storm (429 until it ends), then the key's model (429 when refused; refused
   requests use no budget);
6. ``status_503`` / ``status_500`` faults;
7. the handler (:mod:`qlara_async.testing.handlers`): strict parsing, de-duplication by
   ``messageId`` per API key and endpoint, processing; its errors become bodies here, JSend
   ``fail`` or the platform format;
8. ``drop`` / ``slow`` faults act on the response.

Handlers live in :mod:`qlara_async.testing.handlers`, one module per API area, and see the
simulator only through :mod:`qlara_async.testing.handlers._api`: a ``Request`` backed by
:class:`~qlara_async.testing._port.SimulatorPort`, which is the one place that touches the
simulator's state on their behalf. What the simulator records and answers (arrivals, processed
messages, counters, responses) is in :mod:`qlara_async.testing._records`.
"""

from __future__ import annotations

import base64
import binascii
import math
import random
import threading
import uuid
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any, Final

import anyio
import msgspec

from .._config import RateLimit
from ._base import SimClock, SystemClock, iso_utc
from ._callbacks import CallbackDispatcher, CallbackOptions
from ._control import STATS_PATH, send_stats
from ._errors import REASONS, Fail, PlatformError
from ._faults import Faults, SimulatedDisconnect
from ._port import SimulatorPort
from ._ratemodels import Decision, RateModel, make_model
from ._records import Arrival, ArrivalReport, ProcessedMessage, Response, Stats
from ._store import Collection, Item, SeedFactory, Store
from .handlers import ROUTER
from .handlers._api import Request

__all__ = [
    "Arrival",
    "ArrivalReport",
    "ProcessedMessage",
    "Response",
    "SimClock",
    "Simulator",
    "Stats",
]

BASE_PATH: Final = "/api"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class _Ctx:
    """One request inside the pipeline."""

    __slots__ = ("body", "headers", "key", "method", "now", "path", "query", "request_id")

    def __init__(self, method: str, path: str, query: str, body: bytes, now: float) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.now = now
        self.key = ""
        self.request_id = str(uuid.uuid4())
        self.headers: list[tuple[str, str]] = []


_encode = msgspec.json.Encoder().encode

DEFAULT_PHONE_NUMBERS: Final = (
    {
        "id": 5,
        "phoneNumber": "+393209998877",
        "displayName": "My Business",
        "onboardingScope": "RECEIVE_AND_SEND",
    },
)


class Simulator:
    """A local Qlara API: state, rules and an ASGI app (the instance itself is the app).

    :param rate_limit: the windows enforced per API key; ``None`` for no limit (and no headers).
    :param model: how the server enforces them: ``"sliding"``, ``"fixed"``, ``"token_bucket"``
        or ``"single_bucket"`` (see :mod:`qlara_async.testing._ratemodels`).
    :param rate_limit_headers: send ``X-RateLimit-Limit/-Remaining/-Reset`` on every response.
    :param api_keys: accepted ``X-Api-Key`` values.
    :param users: accepted Basic auth ``{username: password}``.
    :param faults: fault probabilities (mutable at runtime through ``.faults``).
    :param seed: seeds the fault RNG; the same seed and requests give the same faults.
    :param rejected_destinations: destinations whose sends are answered ``accepted: false``,
        as an iterable of numbers or a mapping ``{number: [reasons]}``.
    :param clock: where time is read; ``time.monotonic``/``time.time`` by default.
    :param delivery_delay: seconds on ``clock`` from a send (or a campaign's start) until the
        status endpoints answer ``DELIVERED`` (``0``: at once).
    :param export_delay: seconds on ``clock`` from an export request until it is
        ``COMPLETED`` and ``isAvailableForDownload``.
    :param export_link_ttl: seconds an export's download link lives before it is ``EXPIRED``.
    :param callbacks: deliver the docs' DELIVERY/READ/INBOUND callbacks to the configured
        webhook (``True`` for the defaults, or a :class:`CallbackOptions`); see
        :mod:`qlara_async.testing._callbacks` and :attr:`callbacks`.

    Use it in-process with ``httpx.AsyncClient(transport=httpx.ASGITransport(sim),
    base_url="http://sim/api")`` or over real HTTP with :func:`~qlara_async.testing.serve`.
    """

    def __init__(
        self,
        rate_limit: RateLimit | None = None,
        model: str = "sliding",
        rate_limit_headers: bool = True,
        api_keys: Iterable[str] = ("test-key",),
        faults: Faults | None = None,
        seed: int = 0,
        *,
        users: Mapping[str, str] | None = None,
        rejected_destinations: Iterable[str] | Mapping[str, Sequence[str]] = (),
        credit: float = 150.50,
        phone_numbers: Sequence[Mapping[str, Any]] = DEFAULT_PHONE_NUMBERS,
        clock: SimClock | None = None,
        delivery_delay: float = 2.0,
        export_delay: float = 5.0,
        export_link_ttl: float = 3600.0,
        callbacks: CallbackOptions | bool | None = None,
    ) -> None:
        if rate_limit is not None:
            make_model(model, rate_limit)  # validate the name now, not at the first request
        self.rate_limit = rate_limit
        self.model = model
        self.rate_limit_headers = rate_limit_headers
        self.api_keys: set[str] = set(api_keys)
        self.users: dict[str, str] = dict(users or {})
        self.faults: Faults = faults if faults is not None else Faults()
        self.rejected_destinations: dict[str, list[str]] = (
            {k: list(v) for k, v in rejected_destinations.items()}
            if isinstance(rejected_destinations, Mapping)
            else {d: ["DESTINATION_REJECTED"] for d in rejected_destinations}
        )
        self.credit = credit
        self.phone_numbers: list[dict[str, Any]] = [dict(p) for p in phone_numbers]
        self.clock: SimClock = clock or SystemClock()
        self.delivery_delay = delivery_delay
        self.export_delay = export_delay
        self.export_link_ttl = export_link_ttl
        self._seed = seed
        self._lock = threading.Lock()
        self._outage = False
        self._outage_until = -math.inf
        self._storm_until = -math.inf
        self._port = SimulatorPort(self)
        options = CallbackOptions() if callbacks is True else (callbacks or None)
        self.callbacks = CallbackDispatcher(self, options)
        """The callback dispatcher: ``pump()``/``running()``, ``inbound(...)``, ``stats``."""
        self.clear()

    # ----------------------------------------------------------------- state and controls

    def clear(self) -> None:
        """Forget everything that happened: logs, counters, de-duplication, rate budgets, every
        account's resources (contacts, API keys, ...), and re-seed the fault RNG. Configuration
        (keys, faults, outage, storm) is kept."""
        with self._lock:
            self.stats = Stats()
            self.arrivals: list[Arrival] = []
            self.processed: list[ProcessedMessage] = []
            # (API key, channel, id): ids are the caller's per endpoint, so an RCS send reusing
            # an SMS messageId is a different message, not a duplicate of the SMS.
            self._seen: dict[tuple[str, str, str], bytes] = {}
            self._models: dict[str, RateModel] = {}
            self._rng = random.Random(self._seed)
            self._store = Store(lambda: self.clock.wall())
        self.callbacks.clear()

    @property
    def app(self) -> Simulator:
        """The ASGI application (the simulator itself)."""
        return self

    def set_outage(self, on: bool) -> None:
        """Switch a total outage on (every authenticated request gets 503) or off."""
        self._outage = on
        if not on:
            self._outage_until = -math.inf

    def outage_for(self, seconds: float) -> None:
        """An outage from now for ``seconds``."""
        self._outage_until = self.clock.now() + seconds

    def storm(self, seconds: float) -> None:
        """Answer every request 429 for the next ``seconds`` (another app spent the key's budget),
        with ``Retry-After`` the storm's remaining time rounded up."""
        self._storm_until = self.clock.now() + seconds

    def model_for(self, key: str) -> RateModel | None:
        """The rate model of API key ``key`` (created on first use), or ``None`` without limit."""
        if self.rate_limit is None:
            return None
        model = self._models.get(key)
        if model is None:
            model = self._models[key] = make_model(self.model, self.rate_limit)
        return model

    def collection(self, name: str, *, key: str | None = None) -> Collection:
        """Account ``key``'s collection ``name`` (e.g. ``"api_keys"``), to inspect or change
        directly. ``key`` may be left out when the simulator has exactly one API key."""
        return self._store.collection(self._account(key), name)

    def seed(
        self, name: str, n: int, *, key: str | None = None, factory: SeedFactory | None = None
    ) -> list[Item]:
        """Create ``n`` doc-shaped items in account ``key``'s collection ``name`` and return them
        (with their ids and timestamps): ``sim.seed("api_keys", 250)``.

        ``factory(i)`` makes the ``i``-th item's fields (0-based); by default the area's own, as
        declared with ``define_collection(..., seed=...)``. ``key`` may be left out when the
        simulator has exactly one API key."""
        return self.collection(name, key=key).seed(n, factory)

    def _account(self, key: str | None) -> str:
        if key is not None:
            return key
        if len(self.api_keys) != 1:
            raise ValueError("pass key=: the simulator has more or fewer than one API key")
        return next(iter(self.api_keys))

    def arrival_report(self) -> ArrivalReport:
        """Summarise the arrival log: 429 count and the span from first to last admission."""
        arrivals = list(self.arrivals)
        admitted = [a.time for a in arrivals if a.admitted]
        first = admitted[0] if admitted else None
        last = admitted[-1] if admitted else None
        return ArrivalReport(
            requests=len(arrivals),
            rate_limited=sum(1 for a in arrivals if a.status == 429),
            admitted=len(admitted),
            first_admitted=first,
            last_admitted=last,
            span=(last - first) if first is not None and last is not None else 0.0,
        )

    # ----------------------------------------------------------------- ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point (``http`` and ``lifespan`` scopes)."""
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["path"] == STATS_PATH and scope["method"] == "GET":
            # Outside the pipeline: no key, no rate limit, not an arrival (see _control).
            await send_stats(self, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        response = self.handle(
            scope["method"],
            scope["path"],
            headers=headers,
            body=b"".join(chunks),
            query=scope.get("query_string", b"").decode("latin-1"),
        )
        if response.disconnect == "reset":
            raise SimulatedDisconnect("reset")
        if response.delay > 0:
            await anyio.sleep(response.delay)
        if response.disconnect == "drop":
            raise SimulatedDisconnect("drop")
        raw_headers = [
            (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers
        ]
        if response.status != 204:  # a 204 has no body, so no Content-Length either
            raw_headers.append((b"content-length", str(len(response.body)).encode()))
        await send(
            {"type": "http.response.start", "status": response.status, "headers": raw_headers}
        )
        await send({"type": "http.response.body", "body": response.body})

    # ----------------------------------------------------------------- the pipeline

    def handle(
        self,
        method: str,
        path: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        query: str = "",
    ) -> Response:
        """Process one request synchronously and return the response to send.

        The ASGI app calls this; tests may too. ``path`` includes the ``/api`` base path.
        """
        with self._lock:
            return self._handle(method.upper(), path, headers, body, query)

    def _handle(
        self,
        method: str,
        path: str,
        headers: Iterable[tuple[str, str]],
        body: bytes,
        query: str,
    ) -> Response:
        now = self.clock.now()
        self.stats.arrivals += 1
        fault = self.faults.pick(self._rng)
        ctx = _Ctx(method, path, query, body, now)

        if fault == "reset":
            self.stats.faults["reset"] += 1
            self._arrive(ctx, None, None, False, "reset")
            return Response(0, b"", [], disconnect="reset")

        api_key = basic = None
        for name, value in headers:
            lname = name.lower()
            if lname == "x-api-key":
                api_key = value
            elif lname == "authorization":
                basic = value
        key = self._authenticate(api_key, basic)
        if key is None:
            self.stats.unauthorized += 1
            return self._error(ctx, 401, "Missing or invalid authentication credentials.")
        ctx.key = key

        if not path.startswith(BASE_PATH + "/"):
            return self._error(ctx, 404, f"No endpoint {method} {path}")
        match = ROUTER.match(method, path[len(BASE_PATH) :])
        if match.handler is None:
            if match.allowed:
                ctx.headers.append(("Allow", ", ".join(match.allowed)))
                return self._error(ctx, 405, f"Method {method} not allowed on {path}")
            return self._error(ctx, 404, f"No endpoint {method} {path}")

        model = self.model_for(key)
        if self._outage or now < self._outage_until:
            self.stats.faults["outage"] += 1
            if model is not None:
                self._limit_headers(ctx, model.peek(now))
            return self._error(ctx, 503, "Service temporarily unavailable.", fault="outage")

        if now < self._storm_until:
            wait = self._storm_until - now
            if model is not None:
                d = model.peek(now)
                self._limit_headers(ctx, Decision(False, wait, d.limit, 0, self._storm_until))
            return self._too_many(ctx, wait)
        if model is not None:
            decision = model.acquire(now)
            self._limit_headers(ctx, decision)
            if not decision.allowed:
                return self._too_many(ctx, decision.retry_after)

        if fault == "status_503" or fault == "status_500":
            self.stats.faults[fault] += 1
            status = 503 if fault == "status_503" else 500
            return self._error(ctx, status, "Simulated server error.", admitted=True, fault=fault)

        request = Request(
            self._port,
            method=method,
            path=path,
            params=match.params,
            query=query,
            body=body,
            key=key,
            now=now,
        )
        try:
            reply = match.handler(request)
        except Fail as exc:
            self.stats.bad_requests += 1
            payload = {"status": "fail", "data": exc.errors}
            return self._respond(ctx, 400, _encode(payload), admitted=True)
        except PlatformError as exc:
            if exc.status == 400:
                self.stats.bad_requests += 1
            return self._error(ctx, exc.status, exc.message, admitted=True)
        ctx.headers += reply.headers
        response = self._respond(ctx, reply.status, reply.body, admitted=True, fault=fault)
        if fault == "drop":
            self.stats.faults["drop"] += 1
            response.disconnect = "drop"
        elif fault == "slow":
            self.stats.faults["slow"] += 1
            response.delay = self.faults.slow_seconds
        return response

    def _authenticate(self, api_key: str | None, basic: str | None) -> str | None:
        if api_key is not None:
            return api_key if api_key in self.api_keys else None
        if basic is None or not self.users:
            return None
        scheme, _, encoded = basic.partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        if sep and self.users.get(user) == password:
            return f"user:{user}"
        return None

    def _arrive(
        self, ctx: _Ctx, status: int | None, key: str | None, admitted: bool, fault: str | None
    ) -> None:
        self.arrivals.append(Arrival(ctx.now, key, ctx.method, ctx.path, status, admitted, fault))

    def _limit_headers(self, ctx: _Ctx, d: Decision) -> None:
        if not self.rate_limit_headers:
            return
        # Reset is on the model's (monotonic) clock; translate it to Unix time here.
        reset_wall = self.clock.wall() + (d.reset - ctx.now)
        ctx.headers += [
            ("X-RateLimit-Limit", str(d.limit)),
            ("X-RateLimit-Remaining", str(max(0, d.remaining))),
            ("X-RateLimit-Reset", f"{reset_wall:.3f}"),
        ]

    def _respond(
        self,
        ctx: _Ctx,
        status: int,
        body: bytes,
        *,
        admitted: bool = False,
        fault: str | None = None,
    ) -> Response:
        self._arrive(ctx, status, ctx.key or None, admitted, fault)
        headers = [
            *([] if status == 204 else [("Content-Type", "application/json;charset=UTF-8")]),
            ("X-Request-Id", ctx.request_id),
            *ctx.headers,
        ]
        return Response(status, body, headers)

    def _error(
        self,
        ctx: _Ctx,
        status: int,
        message: str,
        *,
        admitted: bool = False,
        fault: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> Response:
        payload: dict[str, Any] = {
            "status": status,
            "error": REASONS.get(status, "Error"),
            "message": message,
            **(extra or {}),
            "timestamp": iso_utc(self.clock.wall()),
            "path": ctx.path,
        }
        return self._respond(ctx, status, _encode(payload), admitted=admitted, fault=fault)

    def _too_many(self, ctx: _Ctx, wait: float) -> Response:
        self.stats.rate_limited += 1
        seconds = retry_after_seconds(wait)
        ctx.headers.append(("Retry-After", str(seconds)))
        message = f"Rate limit exceeded. Please retry after {seconds} seconds."
        return self._error(ctx, 429, message, extra={"retryAfter": seconds})


def retry_after_seconds(wait: float) -> int:
    """Whole seconds for ``Retry-After``: rounded up, at least 1.

    A hair of slack keeps ``1.0000000001`` (float noise) from becoming 2.
    """
    return max(1, math.ceil(wait - 1e-6))
