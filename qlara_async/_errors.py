"""Turning what the server answered (or did not) into the library's errors: the message, the
decoded and scrubbed body, the request id; never a credential, never an unbounded text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import msgspec

from ._config import RetryPolicy
from ._constants import MAX_ERROR_DETAIL, REQUEST_ID_HEADER
from ._exceptions import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    RateLimitError,
    jsend_field_errors,
    status_error_class,
)
from ._redaction import redact_value

if TYPE_CHECKING:
    from collections.abc import Callable


class Where:
    """A request as errors and logs name it: method and URL, never the query."""

    __slots__ = ("method", "url")

    def __init__(self, method: str, url: str) -> None:
        self.method = method
        self.url = url

    def __str__(self) -> str:
        return f"{self.method} {self.url}"


__all__ = [
    "AttemptLost",
    "Unbuildable",
    "clip",
    "connection_error",
    "cooldown_error",
    "decode_error_body",
    "status_error",
    "Where",
]

_json_decode = msgspec.json.Decoder().decode


def decode_error_body(content: bytes | None, redact: Callable[[str], str]) -> Any:
    if not content:
        return None
    # Decoded first, then scrubbed: an echoed credential hides behind JSON escapes (``\/``,
    # ``\u0041``) in the raw text. ``error.response`` keeps the raw bytes.
    try:
        return redact_value(_json_decode(content), redact)
    except msgspec.DecodeError:
        return redact(content.decode("utf-8", errors="replace"))


def clip(text: str, limit: int = MAX_ERROR_DETAIL) -> str:
    """At most ``limit`` characters of ``text``, saying how much was cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit} more characters)"


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
        return body.strip()
    return ""


def _identity(text: str) -> str:
    return text


def _shown_location(value: str) -> str:
    """A redirect's target as a message may show it: no query, no credentials."""
    try:
        return str(httpx.URL(value).copy_with(query=None, userinfo=b""))
    except (httpx.InvalidURL, ValueError, TypeError):
        return "a Location that is not a URL"


def status_error(
    response: httpx.Response,
    body: Any,
    where: Where,
    *,
    retry_after: float | None = None,
    redact: Callable[[str], str] = _identity,
) -> APIStatusError:
    status = response.status_code
    detail = clip(_error_detail(body))
    reason = response.reason_phrase or ""
    message = f"{status} {reason}".strip() + f" for {where}"
    if 300 <= status < 400:
        location = _shown_location(response.headers.get("location", ""))
        message += f": a redirect (to {location}), which the client does not follow"
    elif detail:
        message += f": {detail}"
    request_id = response.headers.get(REQUEST_ID_HEADER)
    if request_id:
        request_id = redact(request_id)
        message += f" (request id {clip(request_id, 100)})"
    # A server may echo the credential back ("invalid key ..."): never let it into the text.
    message = redact(message)
    cls = status_error_class(status)
    if cls is RateLimitError:
        error: APIStatusError = RateLimitError(
            message,
            response=response,
            body=body,
            retry_after=retry_after,
            method=where.method,
            url=where.url,
        )
    else:
        error = cls(message, response=response, body=body, method=where.method, url=where.url)
    error.request_id = request_id
    return error


def connection_error(
    cause: BaseException,
    where: Where,
    *,
    attempts: int,
    ambiguous: bool,
    timeout: bool,
    redact: Callable[[str], str],
) -> APIConnectionError:
    """No response: the message names the URL, the cause (scrubbed) and the attempts made."""
    what = type(cause).__name__
    text = str(cause)
    detail = f"{what}: {clip(redact(text), 200)}" if text and text != what else what
    tries = f"{attempts} attempt" + ("s" if attempts != 1 else "")
    note = " (the request may have been processed)" if ambiguous else ""
    cls = APITimeoutError if timeout else APIConnectionError
    verb = "timed out" if timeout else "failed"
    error = cls(
        f"{where} {verb} after {tries}: {detail}{note}",
        request=None,
        ambiguous=ambiguous,
        method=where.method,
        url=where.url,
    )
    error.attempts = attempts
    return error


def cooldown_error(
    where: Where, remaining: float, policy: RetryPolicy, attempts: int
) -> RateLimitError:
    """Not sent: a 429 cooldown outlasts what this call may wait."""
    error = RateLimitError(
        f"{where} not sent: the client is in a 429 cooldown for {remaining:.1f}s more, longer"
        f" than max_retry_after={policy.max_retry_after:g}s",
        retry_after=remaining,
        method=where.method,
        url=where.url,
    )
    error.attempts = attempts
    return error


class Unbuildable(Exception):
    """The request cannot be built from its parts (internal: turned into ``ValidationError``)."""


class AttemptLost(Exception):
    """An attempt that got no usable response (internal: turned into ``APIConnectionError``).

    ``sent``: the request may have reached the server; ``ambiguous``: it may have been
    processed (the whole request was written). Every backend raises this from its exchange.
    """

    def __init__(
        self,
        cause: BaseException,
        *,
        sent: bool,
        ambiguous: bool,
        reason: str,
        timeout: bool = False,
    ) -> None:
        super().__init__(reason)
        self.cause = cause
        self.sent = sent
        self.ambiguous = ambiguous
        self.reason = reason
        self.timeout = timeout or isinstance(cause, httpx.TimeoutException)

    def forget(self) -> BaseException:
        """The cause, for its name and message only: the frames and exceptions under this one
        are dropped (they hold what was sent and received: the credential header, a proxy's
        ``Proxy-Authorization``, an echoed key), since this exception becomes the
        ``__context__`` of the error raised while handling it (``from None`` only hides it)."""
        self.__traceback__ = self.__cause__ = self.__context__ = None
        cause = self.cause
        cause.__traceback__ = cause.__cause__ = cause.__context__ = None
        return cause
