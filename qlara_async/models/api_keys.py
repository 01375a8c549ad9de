"""API keys of the account (``/partner-gateway/v1/authentication``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from ._base import InputModel, Model

__all__ = ["ApiKey", "ApiKeyCreate", "ApiKeyCreated"]


class ApiKeyCreate(InputModel, kw_only=True):
    """The body of ``POST /partner-gateway/v1/authentication``."""

    username: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    """Username the key acts as."""
    operations: list[Annotated[str, msgspec.Meta(min_length=1)]] | None = None
    """Operations the key may perform."""


class ApiKey(Model, kw_only=True):
    """An API key as listed or found (the secret itself is shown only at creation)."""

    id: int | str | None = None
    """The key's id (``delete`` takes it)."""
    username: str | None = None
    operations: list[str] | None = None
    creation_date: str | None = None
    """When the key was made (ISO 8601, as the API gave it)."""

    def __repr__(self) -> str:
        return f"ApiKey(id={self.id!r}, username={self.username!r})"


class ApiKeyCreated(ApiKey, kw_only=True):
    """A new key: the only time the API returns the full ``api_key``."""

    api_key: str | None = None
    """The secret: store it now, the API never shows it again. Kept out of ``repr``."""

    def __repr__(self) -> str:
        return f"ApiKeyCreated(id={self.id!r}, username={self.username!r}, api_key=<secret>)"
