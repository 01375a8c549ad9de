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
    """Check a path parameter up front and percent-encode it for the URL path.

    An empty value would silently turn ``/contacts/{id}`` into the collection ``/contacts/``,
    and ``.`` or ``..`` would leave the endpoint (``files.download_url("a/../../x")``): each is
    refused, in every ``/``-separated segment when ``safe="/"`` keeps the separators (media keys).
    """
    if isinstance(value, bool) or value is None or not isinstance(value, (str, int)):
        raise ValidationError(
            f"Expected a non-empty string or int for `{name}`, got {type(value).__name__}",
            field=name,
        )
    text = str(value)
    segments = text.split("/") if "/" in safe else [text]
    for segment in segments:
        if not segment.strip() or segment in (".", ".."):
            raise ValidationError(
                f"Expected a non-empty value for `{name}` without empty, '.' or '..' segments,"
                f" got {_shown(text)}",
                field=name,
            )
    return quote(text, safe=safe)


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else text[:80] + "...")
