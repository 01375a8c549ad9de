"""The base of every resource class: one API area bound to the client's request path."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import quote

from ._exceptions import ValidationError

if TYPE_CHECKING:
    from ._client import AsyncQlara

__all__ = ["Resource", "path_param"]


class Resource:
    """One area of the API (``client.sms``, ``client.contacts`` ...)."""

    def __init__(self, client: AsyncQlara) -> None:
        self._client = client

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def path_param(name: str, value: object, *, safe: str = "") -> str:
    """Check a path parameter up front and quote it for the URL path.

    An empty value would silently turn ``/contacts/{id}`` into the collection ``/contacts/``.
    """
    if isinstance(value, bool) or value is None:
        raise ValidationError(f"Expected a non-empty value for `{name}`, got {value!r}", field=name)
    text = str(value)
    if not text.strip():
        raise ValidationError(f"Expected a non-empty value for `{name}`, got {value!r}", field=name)
    return quote(text, safe=safe)
