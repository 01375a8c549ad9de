"""The exceptions a handler raises to answer an error; the pipeline turns them into bodies.

Two formats, as the API documents (docs README point 7):

* :class:`Fail`: channel validation (the send APIs), a 400 in JSend form
  ``{"status": "fail", "data": {"destination": "'destination' can't be blank"}}``;
* :class:`PlatformError` and its subclasses: everything else, in the platform form
  ``{"status": 404, "error": "Not Found", "message": ..., "timestamp": ..., "path": ...}``.

Handlers import these through :mod:`qlara_async.testing.handlers._api`.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "REASONS",
    "BadRequest",
    "Conflict",
    "Fail",
    "NotFound",
    "PlatformError",
    "Unprocessable",
]

REASONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}
"""The ``error`` word of a platform error body, by status."""


class Fail(Exception):
    """A channel validation failure: 400 with a JSend ``fail`` body whose ``data`` is ``errors``
    (``{wire field name: message}``)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(errors)
        self.errors = errors


class PlatformError(Exception):
    """An error answered in the platform format with ``status`` and ``message``."""

    status: int = 500

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        self.message = message


class BadRequest(PlatformError):
    """400: a bad body, path id or query parameter (platform format)."""

    status = 400


class NotFound(PlatformError):
    """404: the resource does not exist (or not for this API key)."""

    status = 404


class Conflict(PlatformError):
    """409: the resource already exists (a second webhook configuration)."""

    status = 409


class Unprocessable(PlatformError):
    """422: well-formed but semantically invalid (an unapproved template)."""

    status = 422
