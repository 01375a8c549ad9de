"""The handler API: everything a handler module may use, and all it may import from the simulator.

A handler is a plain function registered with :func:`route`. It receives one :class:`Request` and
returns a :class:`Reply` (built with :func:`json`, :func:`created`, :func:`accepted` or
:func:`no_content`), or raises an error (:class:`Fail`, :class:`BadRequest`, :class:`NotFound`,
:class:`Conflict`, :class:`Unprocessable`, :class:`PlatformError`). By the time it runs, the
pipeline in :mod:`qlara_async.testing._app` has already authenticated the caller, applied the rate
limit and drawn the faults, and it will add the headers and log the arrival afterwards; a handler
only parses, decides and answers. It runs under the simulator's lock: no awaiting, no sleeping.

What a :class:`Request` offers:

* ``method``, ``path`` (with ``/api``), ``params`` (path parameters by the route's names),
  ``query`` (last value of each non-blank parameter), ``body`` (raw bytes), ``key`` (the account:
  the API key, or ``user:NAME`` for Basic auth), ``now`` (monotonic arrival time), ``clock``;
* ``decode(Schema)``: the body strictly decoded into a :class:`Strict` struct; a bad body is a 400
  in the platform format, or in JSend with ``errors="jsend"`` (the send APIs);
* ``path_int(name)``, ``query_int(name, default)``: strict integers, 400 otherwise;
* ``collection(name)``: this account's :class:`Collection` of a kind declared with
  :func:`define_collection` (create/get/list/update/replace/delete, 404s included);
* ``timestamp()``: now, ISO 8601 UTC;
* the send hooks: ``seen`` (the stored answer to a repeated ``messageId``), ``record`` (log a
  processed message), ``remember`` (store an answer for de-duplication), ``count_simulated``;
* ``sent()``: the messages this account sent (the send log, for status and history);
  ``wall_of(t)``: a ``clock.now()`` reading as Unix time;
* ``settings``: the simulator's knobs handlers read (``credit``, ``phone_numbers``,
  ``rejected_destinations``, ``delivery_delay``, ``export_delay``, ``export_link_ttl``).

Pagination, one function per documented style (docs README point 9), each validating its own query
parameters and refusing the other styles' (so a client that confuses styles gets a 400, not a
quietly repeated first page):

* :func:`paginate_offset`: partner-gateway collections, ``offset``/``limit``;
* :func:`paginate_page_limit`: RCS templates, ``page`` (0-based)/``limit``;
* :func:`paginate_page_size`: WhatsApp templates, ``page`` (0-based)/``size``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal, Protocol, TypeVar
from urllib.parse import parse_qsl

import msgspec

from .._base import SimClock, iso_utc
from .._errors import BadRequest, Conflict, Fail, NotFound, PlatformError, Unprocessable
from .._router import Router
from .._store import Collection, Item, define_collection

__all__ = [
    "ROUTER",
    "BadRequest",
    "Collection",
    "Conflict",
    "Fail",
    "Handler",
    "Item",
    "NotFound",
    "PlatformError",
    "Port",
    "Reply",
    "Request",
    "Sent",
    "Settings",
    "Strict",
    "Unprocessable",
    "accepted",
    "created",
    "define_collection",
    "field_errors",
    "json",
    "no_content",
    "paginate_offset",
    "paginate_page_limit",
    "paginate_page_size",
    "route",
]

T = TypeVar("T")

_encode: Final = msgspec.json.Encoder().encode


# ----------------------------------------------------------------------------- answers


@dataclass(slots=True)
class Reply:
    """A handler's answer: a status and an encoded JSON body (empty for 204)."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)


def json(payload: Any, status: int = 200) -> Reply:
    """``payload`` encoded as JSON (bytes are taken as already encoded)."""
    return Reply(status, payload if isinstance(payload, bytes) else _encode(payload))


def created(payload: Any) -> Reply:
    """201 Created with the new resource."""
    return json(payload, 201)


def accepted(payload: Any) -> Reply:
    """202 Accepted (an asynchronous operation: inbox replies, exports)."""
    return json(payload, 202)


def no_content() -> Reply:
    """204 No Content (deletes, inbox read/archive)."""
    return Reply(204, b"")


# ----------------------------------------------------------------------------- strict bodies


class Strict(msgspec.Struct, forbid_unknown_fields=True, rename="camel", kw_only=True):
    """Base of the simulator's request schemas: camelCase wire names, unknown fields refused (a
    misspelled field is a 400, not silently dropped). The simulator keeps its own schemas on
    purpose: it must not trust the library's models."""


_UNKNOWN: Final = re.compile(r"^Object contains unknown field `(?P<name>[^`]+)`")
_MISSING: Final = re.compile(r"^Object missing required field `(?P<name>[^`]+)`")
_AT: Final = re.compile(r" - at `\$(?P<path>[^`]*)`$")


def field_errors(error: msgspec.ValidationError) -> dict[str, str]:
    """Turn a msgspec validation error into a JSend ``data`` mapping ``{field: message}``."""
    text = str(error)
    at = _AT.search(text)
    path = at.group("path").lstrip(".") if at else ""
    message = text[: at.start()] if at else text
    for pattern, words in ((_UNKNOWN, "is not a known field"), (_MISSING, "can't be blank")):
        m = pattern.match(message)
        if m:
            name = f"{path}.{m.group('name')}" if path else m.group("name")
            return {name: f"'{name}' {words}"}
    return {path or "body": f"'{path or 'body'}': {message}"}


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def _decoder(schema: type[T]) -> msgspec.json.Decoder[T]:
    found = _decoders.get(schema)
    if found is None:
        found = _decoders[schema] = msgspec.json.Decoder(schema)
    return found


# ----------------------------------------------------------------------------- the request


class Settings(Protocol):
    """The simulator's knobs that handlers read (the :class:`Simulator` provides them)."""

    @property
    def credit(self) -> float: ...

    @property
    def phone_numbers(self) -> list[dict[str, Any]]: ...

    @property
    def rejected_destinations(self) -> dict[str, list[str]]: ...

    @property
    def delivery_delay(self) -> float: ...

    @property
    def export_delay(self) -> float: ...

    @property
    def export_link_ttl(self) -> float: ...


@dataclass(frozen=True, slots=True)
class Sent:
    """One message an account sent through the send endpoints, as the send log has it (for the
    status and history endpoints)."""

    message_id: str
    channel: str
    """``"sms"``, ``"sms_legacy"``, ``"rcs"`` or ``"whatsapp"``."""
    destination: str
    time: float
    """``clock.now()`` when it was processed."""
    accepted: bool


class Port(Protocol):
    """What the pipeline provides behind a :class:`Request`; implemented in ``_port``.

    Handlers use the :class:`Request` methods, not this.
    """

    @property
    def settings(self) -> Settings: ...

    @property
    def clock(self) -> SimClock: ...

    def seen(self, key: str, channel: str, message_id: str) -> bytes | None: ...

    def remember(self, key: str, channel: str, message_id: str, body: bytes) -> None: ...

    def record(
        self,
        key: str,
        now: float,
        message_id: str,
        channel: str,
        destination: str,
        digest: str,
        accepted: bool,
    ) -> None: ...

    def count_simulated(self) -> None: ...

    def sent(self, key: str) -> list[Sent]: ...

    def collection(self, key: str, name: str) -> Collection: ...


class Request:
    """One authenticated, admitted request, as a handler sees it."""

    __slots__ = ("_port", "body", "key", "method", "now", "params", "path", "query", "raw_query")

    def __init__(
        self,
        port: Port,
        *,
        method: str,
        path: str,
        params: dict[str, str],
        query: str,
        body: bytes,
        key: str,
        now: float,
    ) -> None:
        self._port = port
        self.method = method
        self.path = path
        """The request path, ``/api`` included (as error bodies show it)."""
        self.params = params
        """Path parameters, by the names in the route's pattern."""
        self.raw_query: list[tuple[str, str]] = parse_qsl(query, keep_blank_values=True)
        """Every query parameter in order, blanks and repeats included."""
        self.query: dict[str, str] = {k: v for k, v in self.raw_query if v}
        """The last non-blank value of each query parameter."""
        self.body = body
        self.key = key
        """The account: the API key, or ``user:NAME`` for Basic auth."""
        self.now = now
        """``clock.now()`` at arrival (monotonic seconds)."""

    # -- time and settings

    @property
    def clock(self) -> SimClock:
        """The simulator's clock."""
        return self._port.clock

    @property
    def settings(self) -> Settings:
        """The simulator's knobs (credit, phone numbers, rejected destinations)."""
        return self._port.settings

    def timestamp(self) -> str:
        """The wall-clock time now, ISO 8601 UTC (``2026-04-09T12:34:56Z``)."""
        return iso_utc(self._port.clock.wall())

    # -- parsing

    def decode(self, schema: type[T], *, errors: Literal["platform", "jsend"] = "platform") -> T:
        """The body decoded strictly into ``schema`` (a :class:`Strict` struct).

        A body that is not JSON is a platform 400. A body that does not fit is a 400 naming the
        field: in the platform format (``message``: ``'username' can't be blank``), or with
        ``errors="jsend"`` in JSend ``fail`` form, as the channel send APIs answer.
        """
        try:
            return _decoder(schema).decode(self.body)
        except msgspec.ValidationError as exc:
            problems = field_errors(exc)
            if errors == "jsend":
                raise Fail(problems) from None
            raise BadRequest(next(iter(problems.values()))) from None
        except msgspec.DecodeError as exc:
            raise BadRequest(f"Malformed JSON request body: {exc}") from None

    def path_int(self, name: str) -> int:
        """Path parameter ``name`` as an int id; a 400 (platform) when it is not one."""
        value = self.params[name]
        if not _DIGITS.fullmatch(value):
            raise BadRequest(f"'{name}' must be an integer, got {value!r}")
        return int(value)

    def query_int(
        self, name: str, default: int, *, minimum: int = 0, maximum: int | None = None
    ) -> int:
        """Query parameter ``name`` as an int in ``[minimum, maximum]``, ``default`` when absent.

        Strict: blank, repeated, signed, fractional or out-of-range values are a 400 (platform).
        """
        values = [v for k, v in self.raw_query if k == name]
        if not values:
            return default
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        problem = f"'{name}' must be an integer {bounds}"
        if len(values) > 1:
            raise BadRequest(f"'{name}' is given more than once")
        if not _DIGITS.fullmatch(values[0]):
            raise BadRequest(f"{problem}, got {values[0]!r}")
        value = int(values[0])
        if value < minimum or (maximum is not None and value > maximum):
            raise BadRequest(f"{problem}, got {value}")
        return value

    def refuse_query(self, names: Iterable[str], hint: str) -> None:
        """A 400 (platform) if any of ``names`` is in the query; ``hint`` says what to use."""
        for name, _ in self.raw_query:
            if name in names:
                raise BadRequest(f"Unsupported query parameter '{name}': {hint}")

    # -- state

    def collection(self, name: str) -> Collection:
        """This account's collection ``name`` (declared with :func:`define_collection`)."""
        return self._port.collection(self.key, name)

    # -- the send hooks

    def seen(self, channel: str, message_id: str | None) -> bytes | None:
        """The stored answer to an earlier send of ``message_id`` by this account on ``channel``
        (counted as a duplicate), or ``None`` (also when ``message_id`` is ``None``)."""
        if message_id is None:
            return None
        return self._port.seen(self.key, channel, message_id)

    def remember(self, channel: str, message_id: str, payload: Any) -> bytes:
        """Store ``payload`` as the answer to ``message_id`` on ``channel``; returns its bytes."""
        raw = _encode(payload)
        self._port.remember(self.key, channel, message_id, raw)
        return raw

    def record(
        self, message_id: str, channel: str, destination: str, digest: str, accepted: bool
    ) -> None:
        """Log one processed message (``Simulator.processed``, ``stats.processed``)."""
        self._port.record(self.key, self.now, message_id, channel, destination, digest, accepted)

    def count_simulated(self) -> None:
        """Count a ``simulation: true`` send (validated, not processed)."""
        self._port.count_simulated()

    def sent(self) -> list[Sent]:
        """The messages this account has sent (processed, not simulated), oldest first."""
        return self._port.sent(self.key)

    def wall_of(self, when: float) -> float:
        """The Unix time of ``when`` (a ``clock.now()`` reading, e.g. :attr:`Sent.time`)."""
        return self._port.clock.wall() - (self._port.clock.now() - when)


_DIGITS: Final = re.compile(r"[0-9]{1,18}")

Handler = Callable[[Request], Reply]
"""A handler: one request in, one reply out (or an error raised)."""

ROUTER: Final = Router[Handler]()
"""The simulator's one router; every handler module registers on it with :func:`route`."""


def route(method: str, pattern: str) -> Callable[[Handler], Handler]:
    """Register the decorated handler for ``method`` on ``pattern`` (relative to ``/api``,
    e.g. ``/partner-gateway/v1/contacts/{id}``). Literal segments win over ``{param}`` ones."""
    return ROUTER.route(method, pattern)


# ----------------------------------------------------------------------------- pagination

DEFAULT_LIMIT: Final = 20
"""The documented default page size (``limit``), used for all three styles."""
MAX_LIMIT: Final = 100
"""The documented maximum page size; more is a 400, not silently clamped."""


def paginate_offset(
    req: Request, items: Sequence[Item], *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
) -> Reply:
    """Partner-gateway paging (api-reference "Pagination"): ``offset`` (default 0) and ``limit``
    (default 20, 1-100). Answers ``{"data": [...], "pagination": {"offset", "limit", "total"}}``;
    an offset at or past the end gives an empty ``data``. ``page``/``size`` are refused."""
    req.refuse_query(("page", "size"), "this collection pages with 'offset' and 'limit'")
    offset = req.query_int("offset", 0)
    limit = req.query_int("limit", default, minimum=1, maximum=maximum)
    return json(
        {
            "data": list(items[offset : offset + limit]),
            "pagination": {"offset": offset, "limit": limit, "total": len(items)},
        }
    )


def paginate_page_limit(
    req: Request, items: Sequence[Item], *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
) -> Reply:
    """RCS template paging: ``page`` (0-based, default 0) and ``limit`` (default 20, 1-100).

    The reference gives the parameters but no envelope; the simulator answers
    ``{"data": [...], "page": 0, "limit": 20, "total": 1250, "totalPages": 63}`` (flat: no
    ``pagination`` object, so it cannot be mistaken for offset paging). ``offset``/``size`` are
    refused."""
    req.refuse_query(("offset", "size"), "RCS templates page with 'page' and 'limit'")
    page = req.query_int("page", 0)
    limit = req.query_int("limit", default, minimum=1, maximum=maximum)
    total = len(items)
    return json(
        {
            "data": list(items[page * limit : (page + 1) * limit]),
            "page": page,
            "limit": limit,
            "total": total,
            "totalPages": -(-total // limit),
        }
    )


def paginate_page_size(
    req: Request, items: Sequence[Item], *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT
) -> Reply:
    """WhatsApp template paging: ``page`` (0-based, default 0) and ``size`` (default 20, 1-100).

    The reference gives the parameters but no envelope; ``page``+``size`` is Spring Data's
    vocabulary, so the simulator answers in its ``PagedModel`` form:
    ``{"content": [...], "page": {"size": 20, "number": 0, "totalElements": 1250,
    "totalPages": 63}}``. ``offset``/``limit`` are refused."""
    req.refuse_query(("offset", "limit"), "WhatsApp templates page with 'page' and 'size'")
    page = req.query_int("page", 0)
    size = req.query_int("size", default, minimum=1, maximum=maximum)
    total = len(items)
    return json(
        {
            "content": list(items[page * size : (page + 1) * size]),
            "page": {
                "size": size,
                "number": page,
                "totalElements": total,
                "totalPages": -(-total // size),
            },
        }
    )
