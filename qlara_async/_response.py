"""``RawResponse``: a call's result together with the HTTP response it came from."""

from __future__ import annotations

from typing import Generic, TypeVar

import httpx

from ._constants import REQUEST_ID_HEADER

__all__ = ["RawResponse"]

T = TypeVar("T")


class RawResponse(Generic[T]):
    """What ``client.with_raw_response(method, ...)`` returns.

    ``parsed`` is what the method returns; ``status_code``, ``headers`` and ``request_id`` are
    those of the last HTTP response (the one that succeeded); ``attempts`` counts the responses
    received on the way (429s and 5xx that were retried included).
    """

    __slots__ = ("attempts", "http_response", "parsed")

    def __init__(self, parsed: T, http_response: httpx.Response, *, attempts: int = 1) -> None:
        self.parsed = parsed
        self.http_response = http_response
        self.attempts = attempts

    @property
    def status_code(self) -> int:
        """The HTTP status of the response."""
        return self.http_response.status_code

    @property
    def headers(self) -> httpx.Headers:
        """The response's headers."""
        return self.http_response.headers

    @property
    def request_id(self) -> str | None:
        """``X-Request-Id``: quote it to support."""
        value: str | None = self.http_response.headers.get(REQUEST_ID_HEADER)
        return value

    def __repr__(self) -> str:
        return f"<RawResponse [{self.status_code}] {type(self.parsed).__name__}>"
