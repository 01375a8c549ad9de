"""The simulator: its state, its request pipeline, its handlers, and the ASGI entry point.

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
7. the handler: strict parsing (400 JSend), de-duplication by ``messageId`` (``globalId`` for a
   legacy send) per API key and endpoint, processing;
8. ``drop`` / ``slow`` faults act on the response.

Handlers are plain functions registered on a :class:`~qlara_async.testing._router.Router`; adding
an endpoint is one function and one ``route`` line.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import math
import random
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Protocol
from urllib.parse import parse_qsl

import anyio
import msgspec

from .._config import RateLimit
from ._faults import Faults, SimulatedDisconnect
from ._ratemodels import Decision, RateModel, make_model
from ._requests import (
    FallbackRcs,
    LegacyMessage,
    LegacySendRequest,
    RcsSendRequest,
    SmsSendRequest,
    WhatsAppSendRequest,
    field_errors,
)
from ._router import Router

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


class SimClock(Protocol):
    """Where the simulator reads time: ``now()`` monotonic seconds, ``wall()`` Unix seconds.

    ``qlara_async._clock.ManualClock`` fits, for tests that step time by hand.
    """

    def now(self) -> float:
        """Monotonic seconds."""
        ...

    def wall(self) -> float:
        """Unix time in seconds."""
        ...


class _SystemClock:
    __slots__ = ()

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()


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


class _Ctx:
    """One request inside the pipeline."""

    __slots__ = ("body", "headers", "key", "method", "now", "path", "query", "request_id")

    def __init__(
        self, method: str, path: str, query: dict[str, str], body: bytes, now: float
    ) -> None:
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.now = now
        self.key = ""
        self.request_id = str(uuid.uuid4())
        self.headers: list[tuple[str, str]] = []


Handler = Callable[["Simulator", _Ctx, dict[str, str]], tuple[int, Any]]

_REASONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}

_encode = msgspec.json.Encoder().encode
_sms_decoder: Final = msgspec.json.Decoder(SmsSendRequest)
_rcs_decoder: Final = msgspec.json.Decoder(RcsSendRequest)
_wa_decoder: Final = msgspec.json.Decoder(WhatsAppSendRequest)
_legacy_decoder: Final = msgspec.json.Decoder(LegacySendRequest)

DEFAULT_PHONE_NUMBERS: Final = (
    {
        "id": 5,
        "phoneNumber": "+393209998877",
        "displayName": "My Business",
        "onboardingScope": "RECEIVE_AND_SEND",
    },
)


class _Invalid(Exception):
    """A channel validation failure, answered as JSend ``fail``."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class _PlatformError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


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
        self.clock: SimClock = clock or _SystemClock()
        self._seed = seed
        self._lock = threading.Lock()
        self._outage = False
        self._outage_until = -math.inf
        self._storm_until = -math.inf
        self.clear()

    # ----------------------------------------------------------------- state and controls

    def clear(self) -> None:
        """Forget everything that happened: logs, counters, de-duplication, rate budgets, and
        re-seed the fault RNG. Configuration (keys, faults, outage, storm) is kept."""
        with self._lock:
            self.stats = Stats()
            self.arrivals: list[Arrival] = []
            self.processed: list[ProcessedMessage] = []
            # (API key, channel, id): ids are the caller's per endpoint, so an RCS send reusing
            # an SMS messageId is a different message, not a duplicate of the SMS.
            self._seen: dict[tuple[str, str, str], bytes] = {}
            self._models: dict[str, RateModel] = {}
            self._rng = random.Random(self._seed)

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
        ctx = _Ctx(method, path, dict(parse_qsl(query)) if query else {}, body, now)

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
        match = _ROUTER.match(method, path[len(BASE_PATH) :])
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

        try:
            status, payload = match.handler(self, ctx, match.params)
        except _Invalid as exc:
            self.stats.bad_requests += 1
            payload = {"status": "fail", "data": exc.errors}
            return self._respond(ctx, 400, _encode(payload), admitted=True)
        except _PlatformError as exc:
            if exc.status == 400:
                self.stats.bad_requests += 1
            return self._error(ctx, exc.status, exc.message, admitted=True)
        raw = payload if isinstance(payload, bytes) else _encode(payload)
        response = self._respond(ctx, status, raw, admitted=True, fault=fault)
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
            ("Content-Type", "application/json;charset=UTF-8"),
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
            "error": _REASONS.get(status, "Error"),
            "message": message,
            **(extra or {}),
            "timestamp": _iso(self.clock.wall()),
            "path": ctx.path,
        }
        return self._respond(ctx, status, _encode(payload), admitted=admitted, fault=fault)

    def _too_many(self, ctx: _Ctx, wait: float) -> Response:
        self.stats.rate_limited += 1
        seconds = retry_after_seconds(wait)
        ctx.headers.append(("Retry-After", str(seconds)))
        message = f"Rate limit exceeded. Please retry after {seconds} seconds."
        return self._error(ctx, 429, message, extra={"retryAfter": seconds})

    # ----------------------------------------------------------------- helpers for handlers

    def _seen_result(self, ctx: _Ctx, channel: str, message_id: str | None) -> bytes | None:
        if message_id is None:
            return None
        found = self._seen.get((ctx.key, channel, message_id))
        if found is not None:
            self.stats.duplicates += 1
        return found

    def _record(
        self,
        ctx: _Ctx,
        message_id: str,
        channel: str,
        destination: str,
        digest: str,
        accepted: bool,
    ) -> None:
        self.stats.processed += 1
        self.processed.append(
            ProcessedMessage(message_id, channel, destination, digest, ctx.now, ctx.key, accepted)
        )

    def _remember(self, ctx: _Ctx, channel: str, message_id: str, payload: Any) -> bytes:
        raw = _encode(payload)
        self._seen[(ctx.key, channel, message_id)] = raw
        return raw


def retry_after_seconds(wait: float) -> int:
    """Whole seconds for ``Retry-After``: rounded up, at least 1.

    A hair of slack keeps ``1.0000000001`` (float noise) from becoming 2.
    """
    return max(1, math.ceil(wait - 1e-6))


def _iso(wall: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(wall))


def _digest(content: Any) -> str:
    raw = content.encode() if isinstance(content, str) else _encode(content)
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _decode(decoder: msgspec.json.Decoder[Any], body: bytes) -> Any:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise _Invalid(field_errors(exc)) from None
    except msgspec.DecodeError as exc:
        raise _PlatformError(400, f"Malformed JSON request body: {exc}") from None


def _require(**values: Any) -> None:
    errors = {name: f"'{name}' can't be blank" for name, v in values.items() if v in (None, "", [])}
    if errors:
        raise _Invalid(errors)


# yyyy-MM-dd HH:mm:ss.SSSZ, the one format the reference gives for scheduled dates.
_SCHEDULED: Final = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}")


def _check_scheduled(value: str | None, name: str) -> None:
    if value is None:
        return
    try:
        if not _SCHEDULED.fullmatch(value):
            raise ValueError(value)
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f%z")  # a real date and time
    except ValueError:
        raise _Invalid({name: f"'{name}' must be formatted yyyy-MM-dd HH:mm:ss.SSSZ"}) from None


_RCS_TYPES: Final = ("TEXT", "CARD", "CAROUSEL")


# GSM 03.38: the basic set costs one septet per character, the extension set two; anything else
# forces UCS-2. Parts follow the usual 160/153 and 70/67 split.
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXT: Final = frozenset("^{}\\[~]|€\f")


def sms_parts(text: str) -> tuple[bool, int]:
    """``(unicode, parts)`` for an SMS text."""
    septets = 0
    for ch in text:
        if ch in _GSM_BASIC:
            septets += 1
        elif ch in _GSM_EXT:
            septets += 2
        else:
            n = len(text.encode("utf-16-le")) // 2
            return True, 1 if n <= 70 else math.ceil(n / 67)
    return False, 1 if septets <= 160 else math.ceil(septets / 153)


def _fill(text: str, placeholders: Mapping[str, str] | None) -> str:
    for name, value in (placeholders or {}).items():
        text = text.replace("{" + name + "}", value)
    return text


# --------------------------------------------------------------------- handlers

_ROUTER: Final = Router[Handler]()


def _send_common(
    sim: Simulator,
    ctx: _Ctx,
    channel: str,
    message_id: str | None,
    destination: str,
    simulation: bool,
    digest: str,
    result: Callable[[bool, list[str]], dict[str, Any]],
) -> tuple[int, Any]:
    """De-duplicate, process and remember one single-destination send."""
    seen = sim._seen_result(ctx, channel, message_id)
    if seen is not None:
        return 200, seen
    mid = message_id or str(uuid.uuid4())
    reasons = sim.rejected_destinations.get(destination)
    accepted = reasons is None
    payload = {
        "messageId": mid,
        "simulation": simulation,
        "results": result(accepted, reasons or []),
    }
    if simulation:
        # A dry run is validated only: not processed, and its id stays free for the real send.
        sim.stats.simulated += 1
        return 200, payload
    sim._record(ctx, mid, channel, destination, digest, accepted)
    return 200, sim._remember(ctx, channel, mid, payload)


@_ROUTER.route("POST", "/message-server/sms/send")
def _sms_send(sim: Simulator, ctx: _Ctx, params: dict[str, str]) -> tuple[int, Any]:
    req: SmsSendRequest = _decode(_sms_decoder, ctx.body)
    _require(destination=req.destination, sender=req.sender, body=req.body)
    assert req.destination is not None and req.body is not None
    _check_scheduled(req.scheduled_date, "scheduledDate")
    unicode, parts = sms_parts(_fill(req.body, req.placeholders))

    def result(accepted: bool, reasons: list[str]) -> dict[str, Any]:
        sms = {"accepted": accepted, "unicode": unicode, "parts": parts, "reasons": reasons}
        return {"sms": sms, "rcs": None, "whatsapp": None}

    digest = _digest([req.body, req.placeholders])
    return _send_common(
        sim, ctx, "sms", req.message_id, req.destination, req.simulation, digest, result
    )


@_ROUTER.route("POST", "/message-server/rcs/send")
def _rcs_send(sim: Simulator, ctx: _Ctx, params: dict[str, str]) -> tuple[int, Any]:
    req: RcsSendRequest = _decode(_rcs_decoder, ctx.body)
    _require(destination=req.destination, agentId=req.agent_id)
    assert req.destination is not None
    if (req.body is None) == (req.template_id is None):
        raise _Invalid({"body": "exactly one of 'body' or 'templateId' is required"})
    if req.body is not None and req.body.type not in _RCS_TYPES:
        raise _Invalid({"body.type": "'body.type' must be TEXT, CARD or CAROUSEL"})
    _check_scheduled(req.scheduled_date, "scheduledDate")

    def result(accepted: bool, reasons: list[str]) -> dict[str, Any]:
        return {"rcs": {"accepted": accepted, "reasons": reasons}, "sms": None, "whatsapp": None}

    content = msgspec.to_builtins(req.body) if req.body is not None else req.template_id
    digest = _digest([content, req.placeholders])
    return _send_common(
        sim, ctx, "rcs", req.message_id, req.destination, req.simulation, digest, result
    )


_WA_BODY_KINDS: Final = frozenset(
    ("text", "image", "video", "audio", "document", "sticker", "location", "reaction")
)


@_ROUTER.route("POST", "/message-server/whatsapp/send")
def _whatsapp_send(sim: Simulator, ctx: _Ctx, params: dict[str, str]) -> tuple[int, Any]:
    req: WhatsAppSendRequest = _decode(_wa_decoder, ctx.body)
    _require(destination=req.destination, phoneNumberId=req.phone_number_id)
    assert req.destination is not None
    if (req.body is None) == (req.template is None):
        raise _Invalid({"body": "exactly one of 'template' or 'body' is required"})
    if req.body is not None:
        kinds = [k for k in req.body if k != "replyMessageId"]
        unknown = [k for k in kinds if k not in _WA_BODY_KINDS]
        if unknown:
            raise _Invalid({f"body.{unknown[0]}": f"'body.{unknown[0]}' is not a known field"})
        if len(kinds) != 1:
            raise _Invalid({"body": "'body' must contain exactly one content object"})
    if req.fallback_rcs is not None:
        if req.fallback_sms is None:
            raise _Invalid(
                {"fallbackSms": "'fallbackSms' is required when 'fallbackRcs' is present"}
            )
        _check_fallback_rcs(req.fallback_rcs)
    _check_scheduled(req.scheduled_date, "scheduledDate")

    def result(accepted: bool, reasons: list[str]) -> dict[str, Any]:
        wa = {"accepted": accepted, "reasons": reasons}
        return {"whatsapp": wa, "rcs": None, "sms": None}

    content = req.body if req.body is not None else msgspec.to_builtins(req.template)
    digest = _digest([content, req.placeholders])
    return _send_common(
        sim, ctx, "whatsapp", req.message_id, req.destination, req.simulation, digest, result
    )


def _check_fallback_rcs(fb: FallbackRcs) -> None:
    """``agentId`` plus exactly one of ``templateId`` or ``type`` + ``body``."""
    if (fb.template_id is None) == (fb.body is None):
        name = "fallbackRcs.templateId"
        raise _Invalid({name: f"exactly one of '{name}' or 'fallbackRcs.body' is required"})
    if fb.body is not None and fb.type is None:
        raise _Invalid({"fallbackRcs.type": "'fallbackRcs.type' is required with 'body'"})
    if fb.body is None and fb.type is not None:
        raise _Invalid({"fallbackRcs.type": "'fallbackRcs.type' goes with 'body' only"})
    if fb.type is not None and fb.type not in _RCS_TYPES:
        raise _Invalid({"fallbackRcs.type": "'fallbackRcs.type' must be TEXT, CARD or CAROUSEL"})


@_ROUTER.route("POST", "/services/sms/send")
def _legacy_send(sim: Simulator, ctx: _Ctx, params: dict[str, str]) -> tuple[int, Any]:
    req: LegacySendRequest = _decode(_legacy_decoder, ctx.body)
    _require(messages=req.messages)
    assert req.messages is not None
    # Validate every message before recording any: a request answered 400 must leave nothing
    # processed, or a client that fixes and resends it would see its first messages twice.
    prepared = [_legacy_message(i, msg) for i, msg in enumerate(req.messages)]
    seen = sim._seen_result(ctx, "sms_legacy", req.global_id)
    if seen is not None:
        return 200, seen
    global_id = req.global_id or str(uuid.uuid4())
    messages = parts_total = 0
    for i, (msg, parts, digest) in enumerate(prepared):
        assert msg.destinations is not None
        for j, dest in enumerate(msg.destinations):
            messages += 1
            parts_total += parts
            if not req.simulation:
                mid = msg.ids[j] if msg.ids else f"{global_id}-{i}-{j}"
                accepted = dest not in sim.rejected_destinations
                sim._record(ctx, mid, "sms_legacy", dest, digest, accepted)
    payload = {
        "globalId": global_id,
        "processedMessages": messages,
        "processedSmsParts": parts_total,
        "credit": sim.credit,
    }
    if req.simulation:
        sim.stats.simulated += 1
        return 200, payload
    return 200, sim._remember(ctx, "sms_legacy", global_id, payload)


def _legacy_message(i: int, msg: LegacyMessage) -> tuple[LegacyMessage, int, str]:
    """Check message ``i`` of a legacy send; return it with its SMS parts and content digest."""
    errors = {
        f"messages[{i}].{name}": f"'messages[{i}].{name}' can't be blank"
        for name, v in (("destinations", msg.destinations), ("sender", msg.sender))
        if not v
    }
    if msg.body is None or msg.body == "":
        errors[f"messages[{i}].body"] = f"'messages[{i}].body' can't be blank"
    if errors:
        raise _Invalid(errors)
    assert msg.body is not None
    if msg.ids is not None and len(msg.ids) != len(msg.destinations or ()):
        name = f"messages[{i}].ids"
        raise _Invalid({name: f"'{name}' must match 'destinations' in length"})
    _check_scheduled(msg.scheduling, f"messages[{i}].scheduling")
    try:
        text = msg.body if not msg.hex_body else bytes.fromhex(msg.body).decode("latin-1")
    except ValueError:
        name = f"messages[{i}].body"
        raise _Invalid({name: f"'{name}' is not hexadecimal"}) from None
    _, parts = sms_parts(text)
    return msg, parts, _digest(msg.body)


@_ROUTER.route("GET", "/services/sms/credit")
def _credit(sim: Simulator, ctx: _Ctx, params: dict[str, str]) -> tuple[int, Any]:
    return 200, {"credit": sim.credit}


@_ROUTER.route("GET", "/message-server/whatsapp/phone-numbers")
def _phone_numbers(sim: Simulator, ctx: _Ctx, params: dict[str, str]) -> tuple[int, Any]:
    return 200, {"data": sim.phone_numbers}


@_ROUTER.route("GET", "/message-server/whatsapp/phone-numbers/{id}")
def _phone_number(sim: Simulator, ctx: _Ctx, params: dict[str, str]) -> tuple[int, Any]:
    for number in sim.phone_numbers:
        if str(number.get("id")) == params["id"]:
            return 200, number
    raise _PlatformError(404, f"Phone number {params['id']} not found.")


@_ROUTER.route("GET", "/files/{mediaKey}")
def _file_url(sim: Simulator, ctx: _Ctx, params: dict[str, str]) -> tuple[int, Any]:
    raw = ctx.query.get("expireMinutes", "180")
    try:
        minutes = int(raw)
    except ValueError:
        raise _Invalid({"expireMinutes": "'expireMinutes' must be an integer"}) from None
    expires = int(sim.clock.wall() + minutes * 60)
    key = params["mediaKey"]
    return 200, {"url": f"https://media.qlara-simulator.invalid/{key}?expires={expires}"}
