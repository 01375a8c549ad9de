"""Helpers shared by the send-area resources."""

from __future__ import annotations

from typing import TypeVar

from .._transport import APIResponseValidationError

_T = TypeVar("_T")


def require_body(result: _T | None, what: str) -> _T:
    """The decoded body of a response the API documents as non-empty."""
    if result is None:
        raise APIResponseValidationError(f"{what}: empty response body")
    return result
