"""``AsyncPaginator`` over the three documented pagination styles (offset/limit, page+limit,
page+size): every item exactly once, the fewest requests, pages on demand."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from qlara_async import ValidationError
from qlara_async._pagination import AsyncPaginator

from ._fakes import make_client

pytestmark = pytest.mark.anyio

N = 1250


class Item(msgspec.Struct):
    id: int


def _collection(style: str, n: int = N, *, bare_last: bool = False):
    """A mock collection of ``n`` items answering in ``style``; records every request."""
    seen: list[httpx.URL] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        q = request.url.params
        if style == "offset":
            offset, size = int(q["offset"]), int(q["limit"])
            assert "page" not in q and "size" not in q
            items = [{"id": i} for i in range(offset, min(offset + size, n))]
            return httpx.Response(
                200,
                json={"data": items, "pagination": {"offset": offset, "limit": size, "total": n}},
            )
        page = int(q["page"])
        if style == "page_limit":
            size = int(q["limit"])
            assert "size" not in q and "offset" not in q
            start = page * size
            items = [{"id": i} for i in range(start, min(start + size, n))]
            return httpx.Response(200, json={"data": items, "total": n})
        size = int(q["size"])
        assert "limit" not in q and "offset" not in q
        start = page * size
        items = [{"id": i} for i in range(start, min(start + size, n))]
        body: dict[str, Any] = {"content": items, "totalElements": n, "number": page}
        return httpx.Response(200, json=body)

    return handler, seen


@pytest.mark.parametrize("style", ["offset", "page_limit", "page_size"])
async def test_every_item_exactly_once_in_the_fewest_requests(style: Any) -> None:
    """1,250 items at the maximum page size of 100: 13 requests, each item once, in order."""
    handler, seen = _collection(style)
    client, _, _ = make_client(handler)
    async with client:
        paginator = client._api.paginate("/things", item=Item, style=style)
        ids = [item.id async for item in paginator]
    print(f"\n{style}: {N} items in {len(seen)} requests")
    assert ids == list(range(N))
    assert len(seen) == 13 == paginator.requests


@pytest.mark.parametrize("style", ["offset", "page_limit", "page_size"])
async def test_pages_report_totals_and_positions(style: Any) -> None:
    """``pages()`` yields each page with the collection's total and its position."""
    handler, _ = _collection(style, n=45)
    client, _, _ = make_client(handler)
    async with client:
        pages = [
            p
            async for p in client._api.paginate("/t", item=Item, style=style, page_size=20).pages()
        ]
    assert [len(p.items) for p in pages] == [20, 20, 5]
    assert [p.total for p in pages] == [45, 45, 45]
    assert [(p.number, p.offset) for p in pages] == [(0, 0), (1, 20), (2, 40)]


async def test_pages_are_fetched_on_demand() -> None:
    """Nothing is fetched until iteration; breaking early fetches no further page."""
    handler, seen = _collection("offset")
    client, _, _ = make_client(handler)
    async with client:
        paginator = client._api.paginate("/t", item=Item)
        assert seen == []
        async for item in paginator:
            if item.id == 150:
                break
    assert len(seen) == 2


async def test_limit_stops_early() -> None:
    """``limit`` caps the items read (and so the pages fetched)."""
    handler, seen = _collection("offset")
    client, _, _ = make_client(handler)
    async with client:
        ids = [i.id async for i in client._api.paginate("/t", item=Item, limit=130)]
    assert ids == list(range(130)) and len(seen) == 2


async def test_no_total_stops_at_a_short_page() -> None:
    """Without a total the iteration ends at the first short page."""
    n = 250

    def handler(request: httpx.Request) -> httpx.Response:
        offset, size = int(request.url.params["offset"]), int(request.url.params["limit"])
        return httpx.Response(
            200, json={"data": [{"id": i} for i in range(offset, min(offset + size, n))]}
        )

    client, _, _ = make_client(handler)
    async with client:
        ids = [i.id async for i in client._api.paginate("/t", item=Item)]
    assert ids == list(range(n))


async def test_a_bare_array_is_one_final_page() -> None:
    """A collection answered as a plain JSON array is read in one request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=[{"id": 1}, {"id": 2}])

    client, _, _ = make_client(handler)
    async with client:
        ids = [i.id async for i in client._api.paginate("/t", item=Item)]
    assert ids == [1, 2] and len(seen) == 1


@pytest.mark.parametrize("size", [0, 101, -1, "20", True, 2.5])
def test_bad_page_sizes_are_refused_before_any_request(size: Any) -> None:
    """``page_size`` outside 1..100 is a ValidationError when the paginator is made."""
    with pytest.raises(ValidationError) as info:
        AsyncPaginator(lambda q: None, style="offset", page_size=size)  # type: ignore[arg-type,return-value]
    assert info.value.field == "page_size"


async def test_each_page_carries_its_response() -> None:
    """``pages()`` gives each page's HTTP response and request id (raw responses for lists)."""
    n = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal n
        n += 1
        return httpx.Response(
            200,
            json={"data": [{"id": n}], "pagination": {"total": 2}},
            headers={"X-Request-Id": f"rq-{n}"},
        )

    client, _, _ = make_client(handler)
    async with client:
        pages = [p async for p in client._api.paginate("/t", item=Item, page_size=1).pages()]
    assert [p.request_id for p in pages] == ["rq-1", "rq-2"]
    assert all(p.response is not None and p.response.status_code == 200 for p in pages)
