"""``client.api_keys``: paths, bodies, paging, and the key value kept out of logs and errors."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from qlara_async import APIConnectionError, NotFoundError, ValidationError

from ._fakes import make_client

pytestmark = pytest.mark.anyio

PATH = "/api/partner-gateway/v1/authentication"


async def test_create_sends_the_documented_body_and_keeps_the_secret_out_of_repr() -> None:
    """``POST .../authentication`` with ``username`` and ``operations``; ``api_key`` decoded."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201, json={"id": 9, "username": "bot", "operations": ["SEND"], "apiKey": "sk-new-1"}
        )

    client, _, _ = make_client(handler)
    async with client:
        key = await client.api_keys.create(username="bot", operations=["SEND"])
    assert (seen[0].method, seen[0].url.path) == ("POST", PATH)
    assert json.loads(seen[0].content) == {"username": "bot", "operations": ["SEND"]}
    assert key.api_key == "sk-new-1" and key.id == 9
    assert "sk-new-1" not in repr(key)


async def test_create_is_not_retried_once_it_may_have_arrived() -> None:
    """A create whose answer was lost raises ambiguous instead of making a second key."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ReadTimeout("lost")

    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(APIConnectionError) as info:
            await client.api_keys.create(username="bot")
    assert len(seen) == 1 and info.value.ambiguous


async def test_find_masks_the_value_in_errors_and_httpx_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The key looked up is a secret: not in the error, not in httpx's INFO line."""
    secret = "sk-live-LOOKUP-77"

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == f"{PATH}/{secret}"
        return httpx.Response(404, json={"status": 404, "message": "no such key"})

    caplog.set_level(logging.DEBUG)
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(NotFoundError) as info:
            await client.api_keys.find(secret)
    assert secret not in str(info.value) and "{value}" in str(info.value)
    assert caplog.records
    assert all(secret not in r.getMessage() for r in caplog.records)


async def test_list_pages_and_delete() -> None:
    """``list`` pages with offset/limit 100; ``delete`` answers None on 204."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "DELETE":
            return httpx.Response(204)
        offset = int(request.url.params["offset"])
        ids = range(offset, min(offset + 100, 150))
        return httpx.Response(
            200,
            json={
                "data": [{"id": i} for i in ids],
                "pagination": {"offset": offset, "limit": 100, "total": 150},
            },
        )

    client, _, _ = make_client(handler)
    async with client:
        keys = [k.id async for k in client.api_keys.list()]
        assert await client.api_keys.delete(3) is None
    assert keys == list(range(150))
    assert [r.url.params["limit"] for r in seen[:2]] == ["100", "100"]
    assert (seen[-1].method, seen[-1].url.path) == ("DELETE", f"{PATH}/3")


@pytest.mark.parametrize(
    "kwargs",
    [{"username": ""}, {"operations": [""]}, {"operations": "SEND"}, {"username": 5}],
)
async def test_bad_create_input_is_refused_before_any_request(kwargs: dict[str, object]) -> None:
    """Types and lengths are checked against the Struct's own rules."""
    seen: list[httpx.Request] = []
    client, _, _ = make_client(lambda r: seen.append(r) or httpx.Response(201, json={}))
    async with client:
        with pytest.raises(ValidationError):
            await client.api_keys.create(**kwargs)  # type: ignore[arg-type]
    assert seen == []


@pytest.mark.e2e
async def test_api_keys_end_to_end_against_the_simulator() -> None:
    """Over real HTTP: create shows the key once, find and list do not, delete then find 404."""
    from qlara_async import AsyncQlara
    from qlara_async.testing import Simulator, run_in_thread

    sim = Simulator(None, api_keys=("k",))
    sim.seed("api_keys", 230, key="k")
    with run_in_thread(sim) as url:
        async with AsyncQlara(api_key="k", base_url=url) as client:
            created = await client.api_keys.create(username="bot", operations=["SEND"])
            assert created.api_key and created.id is not None
            found = await client.api_keys.find(created.api_key)
            assert found.id == created.id and not getattr(found, "api_key", None)
            paginator = client.api_keys.list()
            ids = [k.id async for k in paginator]
            await client.api_keys.delete(created.id)
            with pytest.raises(NotFoundError):
                await client.api_keys.find(created.api_key)
    assert len(ids) == len(set(ids)) == 231 and paginator.requests == 3
