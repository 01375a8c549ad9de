"""The simulator's delivery-status webhook area, in-process and over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from qlara_async._clock import ManualClock
from qlara_async.testing import Simulator

from ._sim_client import assert_platform_error, sim_client

pytestmark = pytest.mark.anyio

PATH = "/partner-gateway/v1/webhooks/delivery-status"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(api_keys=("test-key", "other-key"), clock=ManualClock(100.0))


@pytest.fixture(params=["asgi", pytest.param("http", marks=pytest.mark.e2e)])
async def client(
    sim: Simulator, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    async with sim_client(sim, request.param) as http:
        yield http


async def test_configure_get_update_delete(client: httpx.AsyncClient) -> None:
    """POST 201 {companyId, callbackUrl}; GET shows it; PUT changes it; DELETE 204; then 404."""
    r = await client.post(PATH, json={"callbackUrl": "https://a.example.com/hook"})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"companyId", "callbackUrl"}
    assert body["callbackUrl"] == "https://a.example.com/hook"
    assert isinstance(body["companyId"], int)
    assert (await client.get(PATH)).json() == body
    r = await client.put(PATH, json={"callbackUrl": "https://b.example.com/hook"})
    assert r.json() == {**body, "callbackUrl": "https://b.example.com/hook"}
    r = await client.delete(PATH)
    assert (r.status_code, r.content) == (204, b"")
    assert_platform_error(await client.get(PATH), 404, "webhook")


async def test_second_post_is_409(client: httpx.AsyncClient) -> None:
    """Only one webhook per account: a second POST is 409 and leaves the first in place."""
    await client.post(PATH, json={"callbackUrl": "https://a.example.com/hook"})
    r = await client.post(PATH, json={"callbackUrl": "https://b.example.com/hook"})
    assert_platform_error(r, 409, "already configured")
    assert (await client.get(PATH)).json()["callbackUrl"] == "https://a.example.com/hook"


async def test_none_configured_is_404(client: httpx.AsyncClient) -> None:
    """GET, PUT and DELETE without a webhook are 404."""
    assert_platform_error(await client.get(PATH), 404)
    r = await client.put(PATH, json={"callbackUrl": "https://b.example.com/hook"})
    assert_platform_error(r, 404)
    assert_platform_error(await client.delete(PATH), 404)


async def test_state_is_per_api_key(client: httpx.AsyncClient) -> None:
    """Another key (another account) has no webhook and may configure its own."""
    await client.post(PATH, json={"callbackUrl": "https://a.example.com/hook"})
    other = {"X-Api-Key": "other-key"}
    assert (await client.get(PATH, headers=other)).status_code == 404
    r = await client.post(PATH, json={"callbackUrl": "https://c.example.com/"}, headers=other)
    assert r.status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9000/hook",
        "http://localhost/hook",
        "http://[::1]:9000/hook",
        "https://hooks.example.com/x?a=1",
    ],
)
async def test_https_or_loopback_http_accepted(client: httpx.AsyncClient, url: str) -> None:
    """HTTPS anywhere; plain HTTP only to a loopback receiver (the simulator's decision)."""
    r = await client.post(PATH, json={"callbackUrl": url})
    assert (r.status_code, r.json()["callbackUrl"]) == (201, url)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"callbackUrl": "http://hooks.example.com/x"}, "HTTPS"),
        ({"callbackUrl": "ftp://hooks.example.com/x"}, "HTTPS"),
        ({"callbackUrl": "hooks.example.com/x"}, "callbackUrl"),
        ({"callbackUrl": ""}, "callbackUrl"),
        ({"callbackUrl": "https://" + "a" * 2048 + ".com"}, "2048"),
        ({}, "callbackUrl"),
        ({"callbackUrl": 5}, "callbackUrl"),
        ({"callbackUrl": "https://a.example.com", "url": "x"}, "url"),
    ],
)
async def test_bad_bodies_are_400_naming_the_field(
    client: httpx.AsyncClient, body: object, words: str
) -> None:
    """Strict validation: a 400 in the platform format naming the field, nothing stored."""
    assert_platform_error(await client.post(PATH, json=body), 400, words)
    assert (await client.get(PATH)).status_code == 404
