"""The errors qlara_async raises.

::

    QlaraError
     ├── ValidationError            bad input found before any request (also a ValueError)
     └── APIError
          ├── APIConnectionError    no HTTP response (.ambiguous: the request may have been processed)
          │    └── APITimeoutError
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
"""

from __future__ import annotations

from typing import Any

import httpx

from ._constants import REQUEST_ID_HEADER

__all__ = [
    "APIConnectionError",
    "APIError",
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
    """A request was made and did not succeed."""

    request: httpx.Request | None

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.request = request
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
    ) -> None:
        super().__init__(message, request=request)
        self.ambiguous = ambiguous


class APITimeoutError(APIConnectionError):
    """The request timed out."""

    def __init__(
        self,
        message: str = "Request timed out.",
        *,
        request: httpx.Request | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message, request=request, ambiguous=ambiguous)


class APIStatusError(APIError):
    """The API answered with a 4xx or 5xx status."""

    status_code: int

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        body: Any,
    ) -> None:
        super().__init__(message, request=response.request if _has_request(response) else None)
        self.response = response
        self.status_code = response.status_code
        self.request_id: str | None = response.headers.get(REQUEST_ID_HEADER)
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
        response: httpx.Response,
        body: Any,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, response=response, body=body)
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
