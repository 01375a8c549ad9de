"""The one request path: auth, limiter, send, retry, decode, error mapping.

Every call the library makes, from ``client.sms.send`` to a bulk job's millionth message, goes
through ``Transport.request``. A JSON body (``content=``) is encoded once, before the first attempt, so
every attempt sends the same bytes (and so the same ``messageId``); it reports what happened to
the limiter and to the caller's ``RequestStats``.

Ambiguous failures. A read timeout or a connection lost after the request was written leaves the
request's fate unknown: the server may have processed it. Sends are retried anyway (with
``RetryPolicy.retry_ambiguous``, on by default) because every attempt carries the same
``messageId``, which the platform uses to identify the message; the failure stays visible as
``RequestStats.ambiguous`` and, when retries run out, as ``APIConnectionError.ambiguous``.
Calls that are not idempotent (``retry=False``) are retried only when the request surely did not
reach the server (connection refused, pool timeout) or was refused with a 429.
"""

from __future__ import annotations

import logging
import random as _random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, TypeVar

import httpx
import msgspec

from ._clock import Clock
from ._config import RetryPolicy
from ._constants import REQUEST_ID_HEADER
from ._exceptions import (
    APIConnectionError,
    APIError,
    APIStatusError,
    APITimeoutError,
    RateLimitError,
    jsend_field_errors,
    status_error_class,
)
from ._limiter import Limiter
from ._retry import backoff_delay, is_retryable_status, parse_retry_after

__all__ = [
    "APIResponseValidationError",
    "AttemptGate",
    "RequestEvent",
    "RequestStats",
    "Transport",
    "require_body",
]

log = logging.getLogger("qlara_async")

T = TypeVar("T")

RequestEvent: TypeAlias = Literal["request", "retry", "throttle"]

_json_decode = msgspec.json.Decoder().decode

# Failures where the request cannot have reached the server: safe to retry anything.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# Failures while writing: the server never saw a whole request, so it cannot have processed it.
_PARTLY_SENT = (httpx.WriteError, httpx.WriteTimeout)


class APIResponseValidationError(APIError):
    """A 2xx response whose body is not what the API documents."""


class AttemptGate(Protocol):
    """A hook around every attempt, e.g. a bulk job's circuit breaker."""

    async def enter(self) -> None:
        """Wait until an attempt may be made."""
        ...

    def exit(self, healthy: bool | None) -> None:
        """``True``: the server answered (2xx, 4xx, 429); ``False``: a 5xx or no response;
        ``None``: the attempt was cancelled."""
        ...


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
    ) -> None:
        self.base_url = base_url
        # Fixed for the client's life: built once, not per request.
        self._headers = dict(headers)
        self._json_headers = {**self._headers, "Content-Type": "application/json"}
        self._auth = auth
        self.http = http_client
        self.limiter = limiter
        self.retry_policy = retry_policy
        self.timeout = timeout
        self.clock = clock
        self.random = random or _random.random
        self._redact = redact or _identity

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
    ) -> T | Any:
        """Send one logical request, retrying per the policy; return the decoded body.

        ``decoder`` turns the body's bytes into the result (default: plain JSON); an empty body
        (e.g. ``204``) gives ``None``. ``display_path`` replaces ``path`` in this module's logs
        and error messages, for paths that carry a secret (httpx's own INFO log line and
        ``error.request.url`` still show the real URL).
        """
        policy = retry_policy or self.retry_policy
        stats = stats if stats is not None else RequestStats()
        shown = f"{method} {display_path or path}"
        url = self.base_url + path
        headers = self._json_headers if content is not None else self._headers
        priority = False
        retry_number = 0
        while True:
            if gate is not None:
                await gate.enter()
            try:
                permit = await self.limiter.acquire(priority=priority)
            except BaseException:
                # Cancelled while queued: the gate let this attempt in, so it must hear of it.
                if gate is not None:
                    gate.exit(None)
                raise
            try:
                # Built per attempt (an httpx.Request is consumed by sending) from the same bytes.
                request = self.http.build_request(
                    method,
                    url,
                    content=content,
                    params=params,
                    files=files,
                    data=data,
                    headers=headers,
                    timeout=self.timeout,
                )
                stats.attempts += 1
                stats._emit("request")
                response = await self.http.send(request, auth=self._auth)
            except httpx.TransportError as exc:
                sent = not isinstance(exc, _NOT_SENT)
                permit.release(status=None, sent=sent)
                ambiguous = sent and not isinstance(exc, _PARTLY_SENT)
                stats.statuses.append(None)
                if ambiguous:
                    stats.ambiguous += 1
                if gate is not None:
                    gate.exit(False)
                lost = _connection_error(exc, request, shown, ambiguous=ambiguous)
                lost.attempts = stats.attempts
                # Where nothing can have been processed, even a non-idempotent call may go
                # again; an ambiguous failure only for a call made safe by its messageId.
                may_retry = retry_number < policy.max_retries and (
                    not ambiguous or (retry and policy.retry_ambiguous)
                )
                if not may_retry:
                    raise lost from exc
                reason = type(exc).__name__
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
                stats.statuses.append(status)
                if gate is not None:
                    gate.exit(status < 500)
                log.debug("%s -> %d (attempt %d)", shown, status, stats.attempts)
                if status < 400:
                    return _decode_success(response, decoder, shown)

                body = _decode_error_body(response, self._redact)
                if status == 429:
                    stats.throttles += 1
                    stats._emit("throttle")
                    retry_after = parse_retry_after(
                        response.headers, body, now_wall=self.clock.wall()
                    )
                    error = _status_error(
                        response, body, shown, retry_after=retry_after, redact=self._redact
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
                        raise error
                    retry_number += 1
                    log.debug("%s: 429; every request paused %.2fs", shown, wait)
                    stats._emit("retry")
                    # The pause is waited out inside acquire(), where this retry goes first.
                    priority = True
                    continue

                error = _status_error(response, body, shown, redact=self._redact)
                error.attempts = stats.attempts
                if not (retry and is_retryable_status(status)) or (
                    retry_number >= policy.max_retries
                ):
                    raise error
                reason = str(status)

            # A transient failure (5xx or no response): back off, then try again.
            retry_number += 1
            delay = backoff_delay(policy, retry_number, self.random)
            log.debug("%s: %s; retry %d in %.2fs", shown, reason, retry_number, delay)
            stats._emit("retry")
            await self.clock.sleep(delay)
            priority = False


def require_body(result: T | None, what: str) -> T:
    """``result``, or ``APIResponseValidationError`` when the API left a required body empty."""
    if result is None:
        raise APIResponseValidationError(f"{what}: empty response body")
    return result


def _decode_success(
    response: httpx.Response, decoder: Callable[[bytes], T] | None, shown: str
) -> T | Any:
    content = response.content
    if response.status_code == 204 or not content.strip():
        return None
    try:
        return decoder(content) if decoder is not None else _json_decode(content)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise APIResponseValidationError(
            f"{shown}: the response body is not what the API documents: {exc}",
            request=response.request,
        ) from exc


def _decode_error_body(response: httpx.Response, redact: Callable[[str], str]) -> Any:
    content = response.content
    if not content:
        return None
    # Error bodies are small; scrub any echoed credential from the decoded body and so from the
    # error's message and ``.body`` (``error.response`` still holds the raw bytes).
    text = redact(content.decode("utf-8", errors="replace"))
    try:
        return _json_decode(text)
    except msgspec.DecodeError:
        return text


def _error_detail(body: Any) -> str:
    """The human part of either error format: platform ``message`` or JSend ``data``."""
    if isinstance(body, dict):
        field_errors = jsend_field_errors(body)
        if field_errors:
            return "; ".join(f"{k}: {v}" for k, v in field_errors.items())
        message = body.get("message")
        if isinstance(message, str) and message:
            return message
        error = body.get("error")
        if isinstance(error, str) and error:
            return error
    elif isinstance(body, str) and body.strip():
        return body.strip()[:200]
    return ""


def _identity(text: str) -> str:
    return text


def _status_error(
    response: httpx.Response,
    body: Any,
    shown: str,
    *,
    retry_after: float | None = None,
    redact: Callable[[str], str] = _identity,
) -> APIStatusError:
    status = response.status_code
    detail = _error_detail(body)
    reason = response.reason_phrase or ""
    message = f"{status} {reason}".strip() + f" for {shown}"
    if detail:
        message += f": {detail}"
    request_id = response.headers.get(REQUEST_ID_HEADER)
    if request_id:
        message += f" (request id {request_id})"
    # A server may echo the credential back ("invalid key ..."): never let it into the text.
    message = redact(message)
    cls = status_error_class(status)
    if cls is RateLimitError:
        return RateLimitError(message, response=response, body=body, retry_after=retry_after)
    return cls(message, response=response, body=body)


def _connection_error(
    exc: httpx.TransportError, request: httpx.Request, shown: str, *, ambiguous: bool
) -> APIConnectionError:
    what = type(exc).__name__
    note = " (the request may have been processed)" if ambiguous else ""
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(
            f"{shown} timed out ({what}){note}", request=request, ambiguous=ambiguous
        )
    return APIConnectionError(f"{shown} failed: {what}{note}", request=request, ambiguous=ambiguous)
