"""The base of every resource class, and the typed verbs it calls.

A resource (``client.sms``, ``client.contacts`` ...) holds a ``Requester``: the transport bound
to the client's options and any per-call overrides (``client.with_options(...)``). An endpoint is
then a Struct for its body and response plus a short method::

    async def get(self, id: int) -> Contact:
        return await self._api.get(f"{_PATH}/{path_param('id', id)}", cast=Contact)

Nothing here imports the client: the client assembles a ``Requester`` and hands it down.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar
from urllib.parse import quote

import msgspec

from ._config import CallOptions, RetryPolicy
from ._exceptions import APIResponseValidationError, ValidationError
from ._pagination import AsyncPaginator, PageStyle, envelope_type
from ._send import Sender
from ._transport import Transport, capture_responses
from ._uploads import Upload
from .models import MAX_ID, Message, SendResult, encode_body

__all__ = ["Requester", "Resource", "as_list", "keywords", "path_param", "query_value"]

T = TypeVar("T")

_NoneType = type(None)
_DECODERS: dict[Any, Any] = {}


def _decoder(cast: Any) -> Any:
    """The decoder for ``cast``, built once per type (msgspec perf tips)."""
    try:
        return _DECODERS[cast]
    except KeyError:
        decode = _DECODERS[cast] = msgspec.json.Decoder(cast).decode
        return decode


class Requester:
    """The typed verbs, bound to one transport and one set of call options."""

    __slots__ = ("options", "sender", "transport")

    def __init__(self, transport: Transport, options: CallOptions | None = None) -> None:
        self.transport = transport
        self.sender = Sender(transport)
        self.options = options or CallOptions()

    def with_options(self, options: CallOptions) -> Requester:
        """The same transport with other call options."""
        return Requester(self.transport, options)

    @property
    def retry_policy(self) -> RetryPolicy:
        """The retry policy calls made through this requester use."""
        return self.options.retry_policy or self.transport.retry_policy

    async def send(self, message: Message) -> SendResult:
        """Send one message through the send pipeline with these options."""
        return await self.sender.send(
            message, retry_policy=self.options.retry_policy, timeout=self.options.timeout
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        cast: type[T],
        body: object = None,
        params: Mapping[str, object] | None = None,
        files: Any = None,
        data: Mapping[str, Any] | None = None,
        retry: bool = True,
        display_path: str | None = None,
        decoder: Callable[[bytes], T] | None = None,
        empty: Callable[[], T] | None = None,
    ) -> T:
        """One call: ``body`` (a Struct, dict or list) encoded once as JSON, ``params`` in the
        API's spelling, the answer decoded into ``cast`` (``type(None)`` for no body), or by
        ``decoder`` for an answer whose shape the docs leave open; ``empty`` makes the value of
        an empty answer (``204``), which is otherwise an ``APIResponseValidationError``.

        ``retry=False`` is for calls that are not idempotent (a create): they are retried only
        when the request surely did not arrive, and an ambiguous failure raises
        ``APIConnectionError(ambiguous=True)``.
        """
        content = encode_body(body) if body is not None else None
        query = _query(params) if params else None
        result = await self.transport.request(
            method,
            path,
            content=content,
            params=query,
            files=files,
            data=data,
            decoder=decoder
            if decoder is not None
            else None
            if cast is _NoneType
            else _decoder(cast),
            retry=retry,
            retry_policy=self.options.retry_policy,
            display_path=display_path,
            timeout=self.options.timeout,
        )
        if cast is _NoneType:
            return None  # type: ignore[return-value]
        if result is None:
            if empty is not None:
                return empty()
            raise APIResponseValidationError(
                f"{method} {display_path or path}: empty response body where the API documents one"
            )
        return result  # type: ignore[no-any-return]

    async def get(
        self,
        path: str,
        *,
        cast: type[T],
        params: Mapping[str, object] | None = None,
        display_path: str | None = None,
        decoder: Callable[[bytes], T] | None = None,
        empty: Callable[[], T] | None = None,
    ) -> T:
        """``GET``: idempotent, retried on transient failures."""
        return await self.request(
            "GET",
            path,
            cast=cast,
            params=params,
            display_path=display_path,
            decoder=decoder,
            empty=empty,
        )

    async def post(
        self,
        path: str,
        *,
        cast: type[T],
        body: object = None,
        params: Mapping[str, object] | None = None,
        files: Any = None,
        data: Mapping[str, Any] | None = None,
        idempotent: bool = False,
    ) -> T:
        """``POST``: a create unless ``idempotent``, so not re-sent when it may have arrived."""
        return await self.request(
            "POST",
            path,
            cast=cast,
            body=body,
            params=params,
            files=files,
            data=data,
            retry=idempotent,
        )

    async def put(self, path: str, *, cast: type[T], body: object = None) -> T:
        """``PUT``: idempotent (the same body twice leaves the same state)."""
        return await self.request("PUT", path, cast=cast, body=body)

    async def patch(self, path: str, *, cast: type[T], body: object = None) -> T:
        """``PATCH``: the API's patches set fields (or flags), so a repeat is harmless."""
        return await self.request("PATCH", path, cast=cast, body=body)

    async def delete(
        self,
        path: str,
        *,
        cast: type[T] = _NoneType,  # type: ignore[assignment]
        body: object = None,
        display_path: str | None = None,
    ) -> T:
        """``DELETE``: idempotent (a repeat finds nothing left to delete)."""
        return await self.request("DELETE", path, cast=cast, body=body, display_path=display_path)

    async def upload(
        self,
        path: str,
        upload: Upload,
        *,
        cast: type[T],
        data: Mapping[str, object] | None = None,
        idempotent: bool = False,
    ) -> T:
        """``POST`` a multipart body: ``upload``'s file plus the form fields in ``data``
        (``None`` values left out); every attempt rebuilds it from the same source."""
        form = {
            k: str(query_value(_checked_query(k, v)))
            for k, v in (data or {}).items()
            if v is not None
        }
        with upload:
            return await self.request(
                "POST", path, cast=cast, files=upload.files, data=form, retry=idempotent
            )

    def paginate(
        self,
        path: str,
        *,
        item: type[T],
        style: PageStyle = "offset",
        params: Mapping[str, object] | None = None,
        page_size: int | None = None,
        limit: int | None = None,
    ) -> AsyncPaginator[T]:
        """A lazy iterator over the collection at ``path`` (nothing is fetched until it is
        iterated; ``page_size`` and ``limit`` are checked now)."""
        cast = envelope_type(item)
        fixed = _query(params) if params else {}  # checked now, before any page is fetched

        async def fetch(query: Mapping[str, object]) -> Any:
            with capture_responses() as responses:
                answer = await self.get(path, cast=cast, params={**fixed, **query}, empty=list)
            return answer, responses[-1] if responses else None

        return AsyncPaginator(fetch, style=style, page_size=page_size, limit=limit)


class Resource:
    """One area of the API (``client.sms``, ``client.contacts`` ...)."""

    def __init__(self, api: Requester) -> None:
        self._api = api

    def __repr__(self) -> str:
        return f"<{type(self).__name__}>"


def keywords(values: Mapping[str, Any]) -> dict[str, Any]:
    """A method's keyword arguments (its ``locals()`` at the top), ``self`` left out: a method
    whose keywords are a Struct's fields builds it from them instead of naming each again."""
    return {k: v for k, v in values.items() if k != "self"}


def as_list(name: str, value: Iterable[T] | None) -> list[T] | None:
    """A sequence argument as a list (``None`` stays ``None``); a lone string is refused, since
    ``list("SEND")`` would quietly become four one-letter items."""
    if value is None:
        return None
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Iterable):
        raise ValidationError(
            f"{name} must be a list, got {type(value).__name__}", field=_camel(name)
        )
    return list(value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def query_value(value: object) -> Any:
    """A query value as the API spells it: booleans lowercase, sequences comma-joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(query_value(v)) for v in value)
    return value


def _query(params: Mapping[str, object]) -> dict[str, Any]:
    # None means "left out": the API applies its default.
    return {k: query_value(_checked_query(k, v)) for k, v in params.items() if v is not None}


def _checked_query(name: str, value: object) -> object:
    """A query value the API can read: text, a whole number, a flag, or a list of them.
    Anything else (an object, bytes, a float, NaN) would go out as its Python repr."""
    items = value if isinstance(value, (list, tuple)) else (value,)
    for item in items:
        if isinstance(item, str):
            if any(c < " " or c == "\x7f" for c in item):
                raise ValidationError(f"{name} holds control characters", field=name)
        elif isinstance(item, int):  # bools included
            if not isinstance(item, bool) and abs(item) > MAX_ID:
                raise ValidationError(f"{name} is out of range", field=name)
        else:
            raise ValidationError(
                f"{name} must be text, a whole number or a bool, got {type(item).__name__}",
                field=name,
            )
    return value


MAX_PATH_PARAM = 1024
"""Longest path parameter accepted (ids and media keys are far shorter; URLs have limits)."""


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
    if isinstance(value, int):
        # Ids are positive and fit the API's 64-bit integers (10**5000 is not an id, and
        # would not even turn into text).
        if not 0 < value <= MAX_ID:
            raise ValidationError(f"`{name}` must be an id from 1 to {MAX_ID}", field=name)
        return str(value)
    if any(c < " " or c == "\x7f" for c in value):
        raise ValidationError(f"`{name}` holds control characters", field=name)
    text = value
    if len(text) > MAX_PATH_PARAM:
        raise ValidationError(
            f"`{name}` is {len(text)} characters long; at most {MAX_PATH_PARAM}", field=name
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            f"`{name}` is not valid Unicode text (it holds a lone surrogate)", field=name
        ) from None
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
