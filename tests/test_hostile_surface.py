"""Findings of the hostile review of the platform API surface, each pinned (S-numbers as in
the review)."""

from __future__ import annotations

import inspect
import math
import pickle
from typing import Any

import httpx
import msgspec
import pytest

from qlara_async import (
    APIResponseValidationError,
    APITimeoutError,
    ManualClock,
    NotFoundError,
    ValidationError,
)
from qlara_async._pagination import AsyncPaginator

from ._fakes import make_client, recording_handler

pytestmark = pytest.mark.anyio


async def test_s1_exports_wait_minds_its_deadline_inside_a_never_ending_list() -> None:
    """The deadline was checked only after a whole pass over the export list."""
    clock = ManualClock()
    n = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal n
        n += 1
        clock.advance(0.5)  # every page takes half a second
        jobs = [{"id": 1000 * n + i, "status": "PENDING"} for i in range(100)]
        return httpx.Response(200, json={"data": jobs, "pagination": {"total": 10**9}})

    client, _, _ = make_client(handler, clock=clock)
    async with client:
        with pytest.raises(APITimeoutError):
            await client.exports.wait(7, timeout=5.0)
    assert n <= 12


async def test_s2_a_server_that_ignores_paging_is_not_read_for_ever() -> None:
    """The same page again, or more items than asked: an error, not an endless loop."""
    same, _ = recording_handler({"data": [{"id": 1}] * 100, "pagination": {"total": 10**18}})
    client, _, _ = make_client(same)
    async with client:
        with pytest.raises(APIResponseValidationError, match="repeats"):
            [c async for c in client.contacts.list()]
    bigger, _ = recording_handler({"data": [{"id": i} for i in range(150)]})
    client, _, _ = make_client(bigger)
    async with client:
        with pytest.raises(APIResponseValidationError, match="more than"):
            [c async for c in client.contacts.list()]


async def test_s2_max_pages_bounds_a_collection_without_end() -> None:
    """Distinct full pages for ever stop at ``max_pages``."""
    n = 0

    async def fetch(query: Any) -> Any:
        nonlocal n
        n += 1
        return [{"id": 10 * n + i} for i in range(10)], None

    class _Env(msgspec.Struct):
        data: list[Any]

    async def enveloped(query: Any) -> Any:
        items, _ = await fetch(query)
        return _Env(items), None  # not a list: read as a page, not a final array

    def items_of(env: Any) -> Any:
        return env

    paginator: AsyncPaginator[Any] = AsyncPaginator(
        enveloped, style="offset", page_size=10, max_pages=5
    )
    # _Env has no .items(); give it one, as Envelope does.
    _Env.items = lambda self: self.data  # type: ignore[attr-defined]
    _Env.total_items = lambda self, size: None  # type: ignore[attr-defined]
    with pytest.raises(APIResponseValidationError, match="max_pages"):
        [item async for item in paginator]
    assert n == 5


async def test_s3_a_key_looked_up_never_comes_back_in_the_error_body() -> None:
    """The documented error body has ``path``: it held the key being looked up."""
    secret = "qk_TOPSECRET0123456789abcdef"

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            404,
            json={
                "status": 404,
                "error": "Not Found",
                "message": f"no key {secret}",
                "path": f"/api/partner-gateway/v1/authentication/{secret}",
            },
        )

    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(NotFoundError) as info:
            await client.api_keys.find(secret)
    exc = info.value
    for text in (str(exc), repr(exc), repr(exc.body), repr(pickle.dumps(exc))):
        assert secret not in text


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.campaigns.list(status="SENT"), id="campaign-status-str"),
        pytest.param(lambda c: c.campaigns.list(status=math.nan), id="campaign-status-nan"),
        pytest.param(lambda c: c.rcs.templates.list(enabled="yes"), id="enabled-str"),
        pytest.param(lambda c: c.contacts.get(10**5000), id="huge-id"),
        pytest.param(lambda c: c.contacts.get(-5), id="negative-id"),
        pytest.param(lambda c: c.campaigns.confirm(0), id="zero-id"),
        pytest.param(lambda c: c.contacts.get("a\x00b"), id="control-char-id"),
        pytest.param(lambda c: c.contacts.delete([10**5000]), id="huge-id-in-list"),
        pytest.param(lambda c: c.contacts.list(name=object()), id="object-filter"),
        pytest.param(lambda c: c.whatsapp.templates.list(phone_number_id=1.5), id="float-filter"),
        pytest.param(lambda c: c.campaigns.stats(channel=b"SMS"), id="bytes-filter"),
        pytest.param(lambda c: c.contacts.delete({"12": 1}), id="dict-as-ids"),
        pytest.param(lambda c: c.api_keys.create(operations={"SEND": 1}), id="dict-as-list"),
        pytest.param(
            lambda c: c.contact_lists.add_contacts(list_ids=[1], contact_ids=[10**30]),
            id="huge-contact-id",
        ),
        pytest.param(lambda c: c.contacts.confirm_upload(mappings=[math.nan]), id="nan-mapping"),
        pytest.param(
            lambda c: c.webhooks.configure("https://x.test/h", replace="no"), id="replace-str"
        ),
        pytest.param(lambda c: c.exports.wait(None), id="wait-bad-id"),
        pytest.param(lambda c: c.exports.wait(1, timeout=True), id="wait-bool-timeout"),
        pytest.param(lambda c: c.with_raw_response("contacts.get", 1), id="raw-not-callable"),
        pytest.param(lambda c: c.with_raw_response(c.contacts.list), id="raw-collection"),
    ],
)
async def test_s4_to_s8_bad_input_is_a_validation_error_before_any_request(call: Any) -> None:
    """Raw ValueError/TypeError/OverflowError escaped, or the value went out as its repr."""
    handler, seen = recording_handler({"data": [], "pagination": {"total": 0}})
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(ValidationError):
            result = call(client)  # a collection raises here, when it is made
            if inspect.isawaitable(result):
                await result
    assert seen == []


@pytest.mark.parametrize(
    ("call", "answer"),
    [
        (lambda c: c.subscription.get(), {"planCode": "P", "canceled": None, "nextPlan": None}),
        (lambda c: c.api_keys.find("k1"), {"id": 1, "operations": None}),
        (lambda c: c.whatsapp.templates.get(1), {"id": 1, "buttons": None}),
        (lambda c: c.contacts.upload(b"a,b\n1,2\n"), {"columns": None, "rows": None}),
        (lambda c: c.media.get("m-1"), {"id": "m-1"}),
    ],
)
async def test_s10_nulls_and_string_ids_in_answers_decode(call: Any, answer: Any) -> None:
    """A ``null`` in a field with a default, or a string id, failed the whole answer."""
    handler, _ = recording_handler(answer)
    client, _, _ = make_client(handler)
    async with client:
        assert await call(client) is not None


async def test_s10_exports_wait_survives_a_null_flag() -> None:
    """``isAvailableForDownload: null`` failed every poll of ``exports.wait``."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/exports"):
            job = {"id": 7, "status": "COMPLETED", "isAvailableForDownload": None}
            return httpx.Response(200, json={"data": [job], "pagination": {"total": 1}})
        return httpx.Response(200, json={"id": 7, "url": "https://files.test/x"})

    client, _, _ = make_client(handler)
    async with client:
        link = await client.exports.wait(7)
    assert link.link == "https://files.test/x"
