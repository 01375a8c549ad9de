"""The one request path: auth, limiter, send, retry, decode, error mapping.

Every call the library makes goes through ``Transport.request``. A JSON body (``content=``) is
encoded once, so every attempt sends the same bytes (and so the same ``messageId``); it reports
what happened to the limiter and to the caller's ``RequestStats``.

Ambiguous failures. A read timeout or a connection lost after the request was written leaves the
request's fate unknown: the server may have processed it. Sends are retried anyway (with
``RetryPolicy.retry_ambiguous``, on by default) because every attempt carries the same
``messageId``, which the platform uses to identify the message; the failure stays visible as
``RequestStats.ambiguous`` and, when retries run out, as ``APIConnectionError.ambiguous``.
Calls that are not idempotent (``retry=False``) are retried only when the request surely did not
reach the server (connection refused, pool timeout) or was refused with a 429.

Every failure is a ``QlaraError``. Each backend's exchange (``_httpx``, ``_aiohttp``) turns
whatever its library raises into a response or an ``_Lost`` that says whether the request may
have been processed. Beyond that:

* Redirects are never followed, whatever the ``http_client`` says: a 3xx is an ``APIStatusError``
  (following one would hand the credential header and the message to another host).
* Every attempt has a deadline (the largest of the connect, read and write timeouts), counted
  from httpcore's first step on a connection, so a response that trickles a byte at a time
  cannot hold a call forever, and the wait for a pooled connection does not count.
* Bodies are read up to ``max_response_size`` (a larger 2xx is an
  ``APIResponseValidationError``); error bodies up to 64 KiB, and their text in a message is
  clipped to 500 characters.
* While a 429 cooldown has longer to run than the call's ``max_retry_after``, the call fails
  at once with ``RateLimitError(retry_after=remaining)`` instead of stalling (a bulk job's
  policy waits it out).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import random as _random
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Literal, Protocol, TypeAlias, TypeVar
from urllib.parse import unquote

import anyio
import httpx
import msgspec

from ._clock import Clock
from ._config import RetryPolicy
from ._constants import (
    DEFAULT_MAX_RESPONSE_SIZE,
)
from ._errors import AttemptLost as _Lost
from ._errors import Unbuildable as _Unbuildable
from ._errors import (
    Where,
    clip,
    connection_error,
    cooldown_error,
    status_error,
)
from ._exceptions import (
    APIConnectionError,
    APIResponseValidationError,
    ValidationError,
)
from ._httpx import RequestBuilder, exchange
from ._limiter import CooldownTooLong, Limiter
from ._pool import drop_pool
from ._redaction import mask_secret_paths, register_redactor
from ._retry import backoff_delay, is_retryable_status, parse_retry_after

__all__ = [
    "APIResponseValidationError",
    "AttemptGate",
    "capture_responses",
    "mask_secret_paths",
    "register_redactor",
    "RequestEvent",
    "RequestStats",
    "Transport",
    "require_body",
]

log = logging.getLogger("qlara_async")

T = TypeVar("T")

RequestEvent: TypeAlias = Literal["request", "retry", "throttle"]

_json_decode = msgspec.json.Decoder().decode


class AttemptGate(Protocol):
    """A hook around every attempt, e.g. a bulk job's circuit breaker."""

    async def enter(self) -> None:
        """Wait until an attempt may be made."""
        ...

    def exit(self, healthy: bool | None) -> None:
        """``True``: the server answered (2xx, 4xx, 429); ``False``: a 5xx or no response;
        ``None``: the attempt was cancelled."""
        ...


class Wire(Protocol):
    """A backend other than httpx's client (``_aiohttp.AiohttpWire``): one attempt on the
    wire, ending as ``_httpx.exchange`` does."""

    def bind(self, loop: object) -> None: ...

    def reserve(self, connections: int) -> None: ...

    async def aclose(self) -> None: ...

    async def exchange(
        self,
        method: str,
        url: str,
        content: bytes | None,
        build: Callable[[], httpx.Request] | None,
        timeout: httpx.Timeout,
        deadline: float | None,
        redact: Callable[[str], str],
    ) -> tuple[Any, bytes | None, Any, str]: ...


@dataclass(slots=True)
class RequestStats:
    """What happened to one logical request, filled in by the transport as it goes."""

    attempts: int = 0
    """HTTP attempts made (the first one included)."""
    throttles: int = 0
    """429 responses received."""
    ambiguous: int = 0
    """Attempts whose fate is unknown (the request may have been processed)."""
    statuses: list[int | None] = field(default_factory=list)
    """Each attempt's HTTP status, ``None`` where no response arrived."""
    listener: Callable[[RequestEvent, RequestStats], None] | None = None
    """Called with ``"request"``, ``"retry"`` or ``"throttle"`` as they happen."""

    @property
    def retries(self) -> int:
        """Attempts after the first."""
        return max(0, self.attempts - 1)

    def _emit(self, event: RequestEvent) -> None:
        if self.listener is not None:
            self.listener(event, self)


class Transport:
    """Sends requests for one client. Not public: reach it through ``AsyncQlara``."""

    def __init__(
        self,
        *,
        base_url: str,
        headers: Mapping[str, str],
        auth: httpx.Auth,
        http_client: httpx.AsyncClient,
        limiter: Limiter,
        retry_policy: RetryPolicy,
        timeout: httpx.Timeout,
        clock: Clock,
        random: Callable[[], float] | None = None,
        redact: Callable[[str], str] | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        wire: Wire | None = None,
    ) -> None:
        self.base_url = base_url
        self.wire = wire
        """The aiohttp backend, or ``None``: httpx's client sends."""
        # Fixed for the client's life: built once, not per request.
        self._headers = dict(headers)
        self._json_headers = {**self._headers, "Content-Type": "application/json"}
        self._auth = auth
        self.http = http_client
        self.limiter = limiter
        self.retry_policy = retry_policy
        self.timeout = timeout
        self.deadline = attempt_deadline(timeout)
        self.clock = clock
        self.random = random or _random.random
        self._redact = redact or _unchanged
        self.max_response_size = max_response_size
        self._urls: dict[str, httpx.URL] = {}
        self._builder = RequestBuilder(http_client)
        self.closed = False
        """Set by the client's ``aclose()``: no new request may start."""
        self._loop: object = None
        self._scope_class: Callable[[], anyio.CancelScope] = anyio.CancelScope

    async def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        files: Any = None,
        data: Mapping[str, Any] | None = None,
        decoder: Callable[[bytes], T] | None = None,
        retry: bool = True,
        stats: RequestStats | None = None,
        gate: AttemptGate | None = None,
        retry_policy: RetryPolicy | None = None,
        display_path: str | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> T | Any:
        """Send one logical request, retrying per the policy; return the decoded body.

        ``decoder`` turns the body's bytes into the result (default: plain JSON); an empty body
        (e.g. ``204``) gives ``None``. ``display_path`` replaces ``path`` in this module's logs
        and error messages, for paths that carry a secret (httpx's own INFO log line and
        ``error.request.url`` still show the real URL). ``timeout`` replaces the client's for
        this call (its attempt deadline too).
        """
        policy = retry_policy or self.retry_policy
        if timeout is None:
            timeout, deadline = self.timeout, self.deadline
        else:
            deadline = attempt_deadline(timeout)
        stats = stats if stats is not None else RequestStats()
        where = Where(method, self.base_url + (display_path or path))
        # A path that carries a secret (display_path masks it) must not come back through the
        # server's error body ({"path": ...}) or text either.
        redact = (
            self._redact if display_path is None else _masking(self._redact, path, display_path)
        )
        loop = _current_loop()
        if loop is not self._loop:
            self._bind(loop, where)
            # The running backend's own class, looked up once per loop, not per attempt.
            self._scope_class = type(anyio.CancelScope())
            if self.wire is not None:
                self.wire.bind(loop)
        if self.closed:
            raise APIConnectionError(
                f"{where}: the client is closed (use a new AsyncQlara, or send inside"
                " `async with client:`)",
                method=where.method,
                url=where.url,
            )
        url = self.base_url + path
        headers = self._json_headers if content is not None else self._headers
        plain = params is None and files is None and data is None
        priority = False
        retry_number = 0
        while True:
            if gate is not None:
                await gate.enter()
            try:
                permit = await self.limiter.acquire(
                    priority=priority, max_pause=policy.max_retry_after
                )
            except BaseException as exc:
                # Cancelled while queued, or told the cooldown is longer than this call may
                # wait: the gate let this attempt in, so it must hear of it.
                if gate is not None:
                    gate.exit(None)
                if isinstance(exc, CooldownTooLong):
                    raise cooldown_error(where, exc.remaining, policy, stats.attempts) from None
                raise
            request: httpx.Request | None = None
            try:
                if self.wire is None:
                    # Built per attempt (an httpx.Request is consumed by sending) from the
                    # same bytes.
                    if plain:
                        # Nearly every call: a JSON body or none (see RequestBuilder).
                        request = self._builder.build(method, url, content, headers, timeout)
                    if request is None:
                        request = self._builder_for(
                            method, url, content, params, files, data, headers
                        )(timeout=timeout)
                    stats.attempts += 1
                    stats._emit("request")
                    response, answer, body, problem = await exchange(
                        self.http,
                        request,
                        self._auth,
                        deadline,
                        redact,
                        self.max_response_size,
                        self._scope_class,
                    )
                else:
                    build = (
                        None
                        if plain
                        else self._builder_for(method, url, content, params, files, data, headers)
                    )
                    stats.attempts += 1
                    stats._emit("request")
                    response, answer, body, problem = await self.wire.exchange(
                        method, url, content, build, timeout, deadline, redact
                    )
            except _Unbuildable as bad:
                permit.release(status=None, sent=False)
                if gate is not None:
                    gate.exit(None)
                raise ValidationError(
                    f"{where}: the request cannot be built ({bad})", field=None
                ) from None
            except _Lost as lost:
                permit.release(status=None, sent=lost.sent)
                stats.statuses.append(None)
                if lost.ambiguous:
                    stats.ambiguous += 1
                if gate is not None:
                    gate.exit(False)
                # Where nothing can have been processed, even a non-idempotent call may go
                # again; an ambiguous failure only for a call made safe by its messageId.
                may_retry = (
                    not self.closed
                    and retry_number < policy.max_retries
                    and (not lost.ambiguous or (retry and policy.retry_ambiguous))
                )
                if not may_retry:
                    # Not chained: httpx's exception and httpcore's frames under it hold what
                    # the server sent (a header line echoing the key), which a traceback
                    # printed with its locals would show. The message names the cause.
                    raise connection_error(
                        lost.forget(),
                        where,
                        attempts=stats.attempts,
                        ambiguous=lost.ambiguous,
                        timeout=lost.timeout,
                        redact=redact,
                    ) from None
                reason = lost.reason
            except BaseException:
                # Cancelled, or a callback raised, after the permit was taken: the request may
                # have gone out, so it counts as lost rather than leaking the permit.
                permit.release(status=None)
                if gate is not None:
                    gate.exit(None)
                raise
            else:
                status = response.status_code
                permit.release(status=status, headers=response.headers)
                captured = _captured.get()
                if captured is not None:
                    captured.append(
                        response
                        if isinstance(response, httpx.Response)
                        else response.to_httpx(answer)
                    )
                stats.statuses.append(status)
                if gate is not None:
                    gate.exit(status < 500)
                log.debug("%s -> %d (attempt %d)", where, status, stats.attempts)
                if 200 <= status < 300:
                    if answer is None:
                        raise APIResponseValidationError(
                            f"{where}: {problem}",
                            request=request,
                            method=where.method,
                            url=where.url,
                        ) from None
                    try:
                        return _decode_success(status, answer, decoder, where, request)
                    except APIResponseValidationError:
                        # A traceback printed with its locals must not show a body that
                        # echoes a credential.
                        answer = response = None  # type: ignore[assignment]
                        raise

                if status == 429:
                    stats.throttles += 1
                    stats._emit("throttle")
                    retry_after = parse_retry_after(
                        response.headers, body, now_wall=self.clock.wall()
                    )
                    error = status_error(
                        response, body, where, retry_after=retry_after, redact=redact
                    )
                    error.attempts = stats.attempts
                    wait = (
                        retry_after
                        if retry_after is not None
                        else backoff_delay(policy, retry_number + 1, self.random)
                    )
                    # One cooldown for every task of the client, also when this request gives
                    # up (out of retries, or told to wait longer than max_retry_after).
                    self.limiter.pause(wait)
                    if retry_number >= policy.max_retries or wait > policy.max_retry_after:
                        response = body = None  # type: ignore[assignment]  # (locals, as above)
                        raise error
                    retry_number += 1
                    log.debug("%s: 429; every request paused %.2fs", where, wait)
                    stats._emit("retry")
                    # The pause is waited out inside acquire(), where this retry goes first.
                    priority = True
                    continue

                error = status_error(response, body, where, redact=redact)
                error.attempts = stats.attempts
                if not (retry and is_retryable_status(status)) or (
                    retry_number >= policy.max_retries
                ):
                    response = body = None  # type: ignore[assignment]  # (locals, as above)
                    raise error
                reason = str(status)

            # A transient failure (5xx or no response): back off, then try again.
            retry_number += 1
            delay = backoff_delay(policy, retry_number, self.random)
            log.debug("%s: %s; retry %d in %.2fs", where, reason, retry_number, delay)
            stats._emit("retry")
            await self.clock.sleep(delay)
            priority = False

    def reserve_connections(self, connections: int) -> None:
        """Size the pool for ``connections`` sends at once (a bulk job's concurrency; the
        aiohttp backend only: an httpx client's pool is fixed when it is made)."""
        if self.wire is not None:
            self.wire.reserve(connections)

    def drop_ended_pool(self) -> None:
        """Before closing the httpx client: forget connections of an event loop that has ended
        (closing them through httpx would need that loop; their sockets are closed here)."""
        if self.wire is None and self._loop is not None and not _loop_alive(self._loop):
            drop_pool(self.http)

    def _builder_for(
        self,
        method: str,
        url: str,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        files: Any,
        data: Mapping[str, Any] | None,
        headers: Mapping[str, str],
    ) -> Callable[..., httpx.Request]:
        """``_build`` bound to one attempt's arguments (an upload is rebuilt for every attempt:
        a file is rewound or reopened)."""
        return partial(
            self._build,
            method,
            url,
            content=content,
            params=params,
            files=files() if callable(files) else files,
            data=data,
            headers=headers,
        )

    def _build(self, method: str, url: str, **kwargs: Any) -> httpx.Request:
        """The httpx request; what httpx refuses to build (a URL too long, a query value it
        cannot encode) is bad input, raised before anything is sent."""
        try:
            # A parsed URL is reused: parsing one was a tenth of a send's own time, and a
            # bulk job posts to the same few paths.
            parsed = self._urls.get(url)
            if parsed is None:
                parsed = httpx.URL(url)
                if len(self._urls) < 256:
                    self._urls[url] = parsed
            return self.http.build_request(method, parsed, **kwargs)
        except (httpx.InvalidURL, UnicodeError, TypeError, ValueError) as exc:
            raise _Unbuildable(f"{type(exc).__name__}: {clip(str(exc), 200)}") from None

    def _bind(self, loop: object, where: Where) -> None:
        """Tie the client to the event loop that uses it. Its limiter, pool and cooldown are
        one loop's objects: a second loop running at the same time (another thread) would
        hang on them, so it is refused (two threads' first requests at once too: one binds
        under the lock, the other finds it bound); a loop that has ended hands the client on."""
        with _BINDING:
            if self._loop is not None and _loop_alive(self._loop):
                raise APIConnectionError(
                    f"{where}: this client is in use on another event loop (thread); make one"
                    " AsyncQlara per event loop",
                    method=where.method,
                    url=where.url,
                )
            if self._loop is not None and self.wire is None:
                # The pooled connections belong to the loop that ended: writing on one would
                # send the request and then fail reading it (ambiguous, and re-sent).
                drop_pool(self.http)
            self._loop = loop


_BINDING = threading.Lock()
_captured: ContextVar[list[httpx.Response] | None] = ContextVar("qlara_captured", default=None)
"""While ``capture_responses()`` runs, every response received in this context is appended."""


@contextmanager
def capture_responses() -> Iterator[list[httpx.Response]]:
    """Collect the ``httpx.Response`` of every attempt made inside the block (in this task)."""
    found: list[httpx.Response] = []
    token = _captured.set(found)
    try:
        yield found
    finally:
        _captured.reset(token)


def _masking(redact: Callable[[str], str], path: str, shown: str) -> Callable[[str], str]:
    """``redact`` that also hides the path segments ``shown`` masks (``{value}``), as sent and
    as decoded."""
    hidden: list[tuple[str, str]] = []
    for real, masked in zip(path.split("/"), shown.split("/"), strict=False):
        if real != masked and masked.startswith("{"):
            hidden += [(real, masked), (unquote(real), masked)]
    hidden.sort(key=lambda pair: len(pair[0]), reverse=True)

    def masking(text: str) -> str:
        text = redact(text)
        for real, masked in hidden:
            if real:
                text = text.replace(real, masked)
        return text

    return masking


def _unchanged(text: str) -> str:
    return text


def _current_loop() -> object:
    """The running event loop (asyncio) or run (trio), as an identity."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:  # not asyncio: trio (the only other backend anyio runs on)
        import trio

        return trio.lowlevel.current_trio_token()


def _loop_alive(loop: object) -> bool:
    if isinstance(loop, asyncio.AbstractEventLoop):
        return loop.is_running() and not loop.is_closed()
    import trio

    try:
        loop.run_sync_soon(_noop)  # type: ignore[attr-defined]
    except trio.RunFinishedError:
        return False
    return True


def _noop() -> None:
    pass


def aiohttp_backend() -> Any:
    """``qlara_async._aiohttp``, or a ``ValidationError`` naming the extra that brings aiohttp."""
    try:
        return importlib.import_module("qlara_async._aiohttp")
    except ImportError as exc:
        # aiohttp or any of its own dependencies (a half-installed extra) missing.
        raise ValidationError(
            f"http_backend='aiohttp' needs aiohttp ({exc.name or exc} cannot be imported):"
            " pip install 'qlara-async[fast]'",
            field="http_backend",
        ) from None


def attempt_deadline(timeout: httpx.Timeout) -> float | None:
    """The most one attempt may take once it has a connection: the largest of the connect,
    write and read timeouts (a float ``timeout=`` sets all three, so it bounds the attempt)."""
    values = [v for v in (timeout.connect, timeout.write, timeout.read) if v is not None]
    return max(values) if values else None


def require_body(result: T | None, what: str) -> T:
    """``result``, or ``APIResponseValidationError`` when the API left a required body empty."""
    if result is None:
        raise APIResponseValidationError(f"{what}: empty response body")
    return result


def _decode_success(
    status: int,
    content: bytes,
    decoder: Callable[[bytes], T] | None,
    where: Where,
    request: httpx.Request | None,
) -> T | Any:
    if status == 204 or not content or content.isspace():
        return None
    try:
        return decoder(content) if decoder is not None else _json_decode(content)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError) as exc:
        content = b""  # the body may echo a credential: keep it out of traceback locals
        # Not chained, for the same reason: the decoder's frames hold the body.
        raise APIResponseValidationError(
            f"{where}: the response body is not what the API documents: {clip(str(exc))}",
            request=request,
            method=where.method,
            url=where.url,
        ) from None
