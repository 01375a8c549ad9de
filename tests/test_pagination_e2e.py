"""Pagination end to end: 1,250 items over real HTTP from the simulator, in each of the three
styles, each item exactly once, with the number of requests printed."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from qlara_async import AsyncQlara, RateLimit
from qlara_async.testing import Simulator, run_in_thread
from qlara_async.testing.handlers._api import (
    Request,
    paginate_offset,
    paginate_page_limit,
    paginate_page_size,
    route,
)

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

N = 1250
ITEMS = [{"id": i} for i in range(1, N + 1)]


class Item(msgspec.Struct):
    id: int


# Three collections of the test's own, one per style, on the simulator's router.
@route("GET", "/test/paging/offset")
def _offset(request: Request) -> Any:
    return paginate_offset(request, ITEMS)


@route("GET", "/test/paging/page-limit")
def _page_limit(request: Request) -> Any:
    return paginate_page_limit(request, ITEMS)


@route("GET", "/test/paging/page-size")
def _page_size(request: Request) -> Any:
    return paginate_page_size(request, ITEMS)


@pytest.mark.parametrize(
    ("style", "path"),
    [
        ("offset", "/test/paging/offset"),
        ("page_limit", "/test/paging/page-limit"),
        ("page_size", "/test/paging/page-size"),
    ],
)
async def test_1250_items_each_exactly_once(style: Any, path: str) -> None:
    """The library's paginator against the simulator's envelope for that style."""
    sim = Simulator(RateLimit.PRODUCTION, api_keys=("k",))
    with run_in_thread(sim) as url:
        async with AsyncQlara(api_key="k", base_url=url) as client:
            paginator = client._api.paginate(path, item=Item, style=style)
            ids = [item.id async for item in paginator]
    print(f"\n{style}: {len(ids)} items in {paginator.requests} requests")
    assert sorted(ids) == list(range(1, N + 1)) and len(set(ids)) == N
    assert paginator.requests == 13
