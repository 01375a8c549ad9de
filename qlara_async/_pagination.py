"""``AsyncPaginator``: one iterator over the API's three pagination styles.

* ``offset`` (every partner-gateway collection): ``offset`` + ``limit`` (at most 100), answered
  as ``{"data": [...], "pagination": {"offset", "limit", "total"}}``.
* ``page_limit`` (RCS templates): ``page`` (0-based) + ``limit``.
* ``page_size`` (WhatsApp templates): ``page`` (0-based) + ``size``.

``async for item in paginator`` fetches pages lazily, one request per page, and stops at the
reported ``total``, or at the first short or empty page when the API reports none.
``paginator.pages()`` goes page by page (items, total, position). ``page_size`` defaults to
the largest page the API allows, so 1,250 contacts take 13 requests rather than 63.

**A collection that changes while it is read.** Every page is a fresh query: offset paging
reads "items ``offset`` to ``offset + limit`` *now*". An item created before the current
position shifts the rest by one (the item at the page boundary is seen twice); an item deleted
before it shifts them back (one item is skipped). Nothing is cached between pages. For an exact
snapshot of a large collection, request an export instead (``client.exports``).

The envelope of the template lists is not documented; the decoder accepts ``data`` or
``content`` for the items and ``pagination.total``, ``total``, ``totalElements``,
``page.totalElements`` (Spring) or ``totalPages`` for the size, and a bare JSON array as one
final page.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Generic, Literal, TypeVar

import httpx
import msgspec

from ._exceptions import APIResponseValidationError, ValidationError

__all__ = [
    "AsyncPaginator",
    "Envelope",
    "Page",
    "PageStyle",
    "check_page_size",
    "envelope_type",
]

T = TypeVar("T")

PageStyle = Literal["offset", "page_limit", "page_size"]

DEFAULT_MAX_PAGES = 100_000
"""Ten million items at the largest page size: far beyond any account, and a bound on a server
that answers full pages for ever."""

MAX_PAGE_SIZE: dict[PageStyle, int] = {"offset": 100, "page_limit": 100, "page_size": 100}
"""The largest page each style allows (the reference's "max 100"; the template lists do not
say, and 100 is what the platform's other collections take)."""


class _Pagination(msgspec.Struct, rename="camel"):
    offset: int | None = None
    limit: int | None = None
    total: int | None = None


class _PageInfo(msgspec.Struct, rename="camel"):
    # Spring's ``"page": {"size", "number", "totalElements", "totalPages"}``.
    size: int | None = None
    number: int | None = None
    total_elements: int | None = None
    total_pages: int | None = None


class Envelope(msgspec.Struct, Generic[T], rename="camel"):
    """One page as the API answers it (every known spelling; unknown fields ignored)."""

    data: list[T] | None = None
    content: list[T] | None = None
    pagination: _Pagination | None = None
    total: int | None = None
    total_elements: int | None = None
    total_pages: int | None = None
    page: int | _PageInfo | None = None

    def items(self) -> list[T]:
        if self.data is not None:
            return self.data
        return self.content if self.content is not None else []

    def total_items(self, page_size: int) -> int | None:
        if self.pagination is not None and self.pagination.total is not None:
            return self.pagination.total
        if self.total is not None:
            return self.total
        if self.total_elements is not None:
            return self.total_elements
        info = self.page if isinstance(self.page, _PageInfo) else None
        if info is not None and info.total_elements is not None:
            return info.total_elements
        pages = self.total_pages if info is None else info.total_pages
        if pages is not None:
            return pages * page_size
        return None


def envelope_type(item: type[T]) -> Any:
    """The type to decode one page of ``item`` into (an envelope, or a bare array)."""
    return Envelope[item] | list[item]  # type: ignore[valid-type]


class Page(Generic[T]):
    """One page of a collection: its ``items``, the collection's ``total`` (``None`` when the
    API does not say), where the page starts (``offset`` items before it; ``number`` for
    page-numbered styles), and the HTTP ``response`` it came in (status, headers, and
    ``X-Request-Id`` as ``request_id``), as ``with_raw_response`` gives for other calls."""

    __slots__ = ("items", "number", "offset", "response", "total")

    def __init__(
        self,
        items: list[T],
        *,
        total: int | None,
        offset: int,
        number: int,
        response: httpx.Response | None = None,
    ) -> None:
        self.items = items
        self.total = total
        self.offset = offset
        self.number = number
        self.response = response

    @property
    def request_id(self) -> str | None:
        """The page's ``X-Request-Id``, for support."""
        if self.response is None:
            return None
        value: str | None = self.response.headers.get("x-request-id")
        return value

    def __repr__(self) -> str:
        return (
            f"<Page {self.number} offset={self.offset} items={len(self.items)} total={self.total}>"
        )


Fetch = Callable[[Mapping[str, object]], Awaitable[Any]]
"""Fetches one page given its query parameters; answers an ``Envelope`` or a list, or a
``(answer, httpx.Response)`` pair."""


def check_page_size(page_size: object, style: PageStyle) -> int:
    """``page_size``, checked against the style's maximum (``ValidationError`` otherwise)."""
    top = MAX_PAGE_SIZE[style]
    if isinstance(page_size, bool) or not isinstance(page_size, int) or not 1 <= page_size <= top:
        raise ValidationError(
            f"page_size must be an int from 1 to {top}, got {page_size!r}", field="page_size"
        )
    return page_size


class AsyncPaginator(Generic[T]):
    """Iterate over a collection, fetching pages on demand (see the module docstring).

    ::

        async for contact in client.contacts.list(search="Rossi"):
            ...
        async for page in client.contacts.list().pages():
            print(page.number, len(page.items), page.total)
    """

    def __init__(
        self,
        fetch: Fetch,
        *,
        style: PageStyle,
        page_size: int | None = None,
        limit: int | None = None,
        max_pages: int = DEFAULT_MAX_PAGES,
    ) -> None:
        self._fetch = fetch
        self.max_pages = max_pages
        """A server that never stops answering full pages ends here, with an error."""
        self.style: PageStyle = style
        self.page_size = check_page_size(
            MAX_PAGE_SIZE[style] if page_size is None else page_size, style
        )
        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 0
        ):
            raise ValidationError(f"limit must be an int >= 0, got {limit!r}", field="limit")
        self.limit = limit
        """Stop after this many items (``None``: the whole collection)."""
        self.requests = 0
        """Pages fetched so far."""

    def _query(self, number: int) -> dict[str, object]:
        size = self.page_size
        if self.style == "offset":
            return {"offset": number * size, "limit": size}
        if self.style == "page_limit":
            return {"page": number, "limit": size}
        return {"page": number, "size": size}

    def pages(self) -> AsyncIterator[Page[T]]:
        """The collection page by page."""
        return _Pages(self)

    def __aiter__(self) -> AsyncIterator[T]:
        return _Items(_Pages(self))


# Plain iterator classes, not async generators: a caller that breaks out of ``async for``
# leaves nothing to finalise (an abandoned async generator warns under trio, and may run its
# cleanup on another task).


class _Pages(Generic[T]):
    __slots__ = ("_done", "_number", "_paginator", "_previous", "_remaining")

    def __init__(self, paginator: AsyncPaginator[T]) -> None:
        self._paginator = paginator
        self._number = 0
        self._done = False
        self._previous: list[T] | None = None
        self._remaining: float = math.inf if paginator.limit is None else paginator.limit

    def __aiter__(self) -> _Pages[T]:
        return self

    async def __anext__(self) -> Page[T]:
        if self._done or self._remaining <= 0:
            raise StopAsyncIteration
        paginator = self._paginator
        size = paginator.page_size
        number = self._number
        if number >= paginator.max_pages:
            raise APIResponseValidationError(
                f"the collection goes on past max_pages={paginator.max_pages} pages of {size}"
            )
        answer = await paginator._fetch(paginator._query(number))
        paginator.requests += 1
        response = None
        if isinstance(answer, tuple):
            answer, response = answer
        if isinstance(answer, list):
            items: list[T] = answer
            total: int | None = None
            last = True  # a bare array is the whole answer
        else:
            items = answer.items()
            total = answer.total_items(size)
            last = len(items) < size or (total is not None and (number + 1) * size >= total)
        if len(items) > size and not isinstance(answer, list):
            raise APIResponseValidationError(
                f"page {number} holds {len(items)} items, more than the {size} asked for"
            )
        if items and items == self._previous:
            # A server that ignores the page parameter would be read for ever.
            raise APIResponseValidationError(
                f"page {number} repeats the page before it: the server ignores paging"
            )
        self._previous = items
        if len(items) > self._remaining:
            items = items[: int(self._remaining)]
        self._remaining -= len(items)
        self._done = last or not items
        self._number += 1
        return Page(items, total=total, offset=number * size, number=number, response=response)


class _Items(Generic[T]):
    __slots__ = ("_buffer", "_pages", "_pos")

    def __init__(self, pages: _Pages[T]) -> None:
        self._pages = pages
        self._buffer: list[T] = []
        self._pos = 0

    def __aiter__(self) -> _Items[T]:
        return self

    async def __anext__(self) -> T:
        while self._pos >= len(self._buffer):
            self._buffer = (await self._pages.__anext__()).items
            self._pos = 0
        item = self._buffer[self._pos]
        self._pos += 1
        return item
