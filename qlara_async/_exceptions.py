"""The errors qlara_async raises.

::

    QlaraError
     ├── ValidationError            bad input found before any request (also a ValueError)
     └── APIError                   .method, .url, .attempts
          ├── APIConnectionError    no HTTP response (.ambiguous: the request may have been processed)
          │    └── APITimeoutError
          ├── APIResponseValidationError   a 2xx whose body is not what the API documents
          └── APIStatusError        .status_code, .request_id (X-Request-Id), .body
               ├── BadRequestError            400  .field_errors (dict from a JSend "fail" body)
               ├── AuthenticationError        401
               ├── PermissionDeniedError      403
               ├── NotFoundError              404
               ├── ConflictError              409
               ├── UnprocessableEntityError   422
               ├── RateLimitError             429  .retry_after (seconds)
               └── InternalServerError        5xx

Messages never carry credentials: the request's headers are not part of any message or repr,
and the request attached to an error is the httpx request, whose repr shows only method and URL.

Errors pickle (Celery, arq and multiprocessing send exceptions between processes): the pickle
keeps the message and the plain attributes (status, request id, body, attempts ...) and drops
``request`` and ``response``, whose headers hold the credential.

The public classes say ``__module__ = "qlara_async"``, so a traceback reads
``qlara_async.AuthenticationError``, not the private module that defines it.
"""

from __future__ import annotations

from typing import Any

import httpx

from ._constants import REQUEST_ID_HEADER

__all__ = [
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ConflictError",
    "InternalServerError",
    "NotFoundError",
    "PermissionDeniedError",
    "QlaraError",
    "RateLimitError",
    "UnprocessableEntityError",
    "ValidationError",
]


class QlaraError(Exception):
    """Base class of every error the library raises on purpose."""

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuilt without calling __init__ (keyword-only in most subclasses), and without the
        # httpx request and response: their headers carry the credential.
        state = {k: v for k, v in self.__dict__.items() if k not in _UNPICKLED}
        return (_restore, (type(self), self.args, state))


_UNPICKLED = frozenset({"request", "response"})


def _restore(cls: type[QlaraError], args: tuple[Any, ...], state: dict[str, Any]) -> QlaraError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    error.__dict__.setdefault("request", None)
    if issubclass(cls, APIStatusError):
        error.__dict__.setdefault("response", None)
    return error


class ValidationError(QlaraError, ValueError):
    """Input that the API would refuse, caught before any request leaves.

    ``field`` names the offending field as spelled on the wire (camelCase, dotted for nested
    fields, e.g. ``"body.image.url"``), or ``None`` when the rule spans several fields.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class APIError(QlaraError):
    """A request was made and did not succeed.

    ``method`` and ``url`` name the request (the URL without its query, and with a path that
    carries a secret shown masked); ``request`` is the last ``httpx.Request`` (``None`` after
    unpickling, or when no request was built).
    """

    request: httpx.Request | None
    message_id: str | None = None
    """For a send: the ``messageId`` every attempt carried. After an ambiguous failure, send
    again with ``message_id=`` set to it, so the platform sees one message, not two."""

    def __init__(
        self,
        message: str,
        *,
        request: httpx.Request | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
        self.method = method if method is not None else (request.method if request else None)
        self.url = url
        self.attempts = 1
        """How many HTTP attempts were made before this error was raised."""


class APIConnectionError(APIError):
    """No HTTP response arrived (connection refused, reset, dropped, or timed out).

    ``ambiguous`` is true when the request may have reached the server and been processed
    (the connection died or timed out after the request was written). A send retried after an
    ambiguous failure carries the same ``messageId``, so a server that de-duplicates by it
    processes the message once.
    """

    def __init__(
        self,
        message: str = "Connection error.",
        *,
        request: httpx.Request | None = None,
        ambiguous: bool = False,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, request=request, method=method, url=url)
        self.ambiguous = ambiguous


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(
        self,
        message: str = "Request timed out.",
        *,
        request: httpx.Request | None = None,
        ambiguous: bool = False,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, request=request, ambiguous=ambiguous, method=method, url=url)


class APIResponseValidationError(APIError):
    """A 2xx response whose body is not what the API documents (or is larger than the client
    accepts). The request was processed: a send that raised this may have been accepted."""


class APIStatusError(APIError):
    """The API answered with a status that is not a success (4xx, 5xx, or a 3xx redirect,
    which the client never follows: it would carry the credential elsewhere).

    ``response`` is the ``httpx.Response`` (``None`` after unpickling, or for a
    ``RateLimitError`` raised without a request because the client is still in a cooldown).
    """

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None = None,
        body: Any = None,
        status_code: int | None = None,
        request_id: str | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        request = response.request if response is not None and _has_request(response) else None
        super().__init__(message, request=request, method=method, url=url)
        self.response = response
        if response is not None:
            self.status_code = response.status_code
            request_id = request_id or response.headers.get(REQUEST_ID_HEADER)
        elif status_code is not None:
            self.status_code = status_code
        self.request_id: str | None = request_id
        self.body = body


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises when the response was built without one
    except RuntimeError:
        return False
    return True


class BadRequestError(APIStatusError):
    """400: the request was malformed or failed the channel's validation."""

    status_code = 400

    @property
    def field_errors(self) -> dict[str, str]:
        """Per-field messages from a JSend ``{"status": "fail", "data": {...}}`` body."""
        return jsend_field_errors(self.body)


class AuthenticationError(APIStatusError):
    """401: missing or invalid credentials."""

    status_code = 401


class PermissionDeniedError(APIStatusError):
    """403: the key lacks permission, or the IP is not whitelisted."""

    status_code = 403


class NotFoundError(APIStatusError):
    """404: the resource or path does not exist."""

    status_code = 404


class ConflictError(APIStatusError):
    """409: the resource already exists (e.g. a webhook is already configured)."""

    status_code = 409


class UnprocessableEntityError(APIStatusError):
    """422: well-formed but semantically invalid (e.g. an unapproved template)."""

    status_code = 422


class RateLimitError(APIStatusError):
    """429: the key's rate limit was exceeded. ``retry_after`` is in seconds, if the API said."""

    status_code = 429

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response | None = None,
        body: Any = None,
        retry_after: float | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message, response=response, body=body, method=method, url=url)
        self.retry_after = retry_after


class InternalServerError(APIStatusError):
    """5xx: the server or an upstream provider failed."""


_STATUS_ERRORS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def jsend_field_errors(body: Any) -> dict[str, str]:
    """The ``data`` of a channel's JSend validation failure, as field -> message; else ``{}``."""
    if isinstance(body, dict) and body.get("status") == "fail":
        data = body.get("data")
        if isinstance(data, dict):
            return {str(k): str(v) for k, v in data.items()}
    return {}


def status_error_class(status_code: int) -> type[APIStatusError]:
    """The error class for an HTTP status (4xx without a class of its own: ``APIStatusError``)."""
    if status_code >= 500:
        return InternalServerError
    return _STATUS_ERRORS.get(status_code, APIStatusError)


# Tracebacks and reprs name the public path (httpx does the same for its names).
for _cls in (
    QlaraError,
    ValidationError,
    APIError,
    APIConnectionError,
    APITimeoutError,
    APIResponseValidationError,
    APIStatusError,
    BadRequestError,
    AuthenticationError,
    PermissionDeniedError,
    NotFoundError,
    ConflictError,
    UnprocessableEntityError,
    RateLimitError,
    InternalServerError,
):
    _cls.__module__ = "qlara_async"
del _cls
