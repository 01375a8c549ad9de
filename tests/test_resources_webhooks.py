"""``client.webhooks``: the docs' configure example, the 409 workflow, HTTPS only."""

from __future__ import annotations

import json

import httpx
import pytest

from qlara_async import ConflictError, ValidationError

from ._fakes import make_client

pytestmark = pytest.mark.anyio

PATH = "/api/partner-gateway/v1/webhooks/delivery-status"
URL = "https://your-server.example.com/webhooks/delivery-status"


class Platform:
    """One webhook per account, as the docs describe (201, then 409 on a second POST)."""

    def __init__(self, configured: str | None = None) -> None:
        self.url = configured
        self.seen: list[tuple[str, str, object]] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        self.seen.append((request.method, request.url.path, body))
        assert request.url.path == PATH
        if request.method == "POST":
            if self.url is not None:
                return httpx.Response(409, json={"status": 409, "message": "already configured"})
            self.url = body["callbackUrl"]
            return httpx.Response(201, json={"companyId": 1, "callbackUrl": self.url})
        if request.method == "GET":
            if self.url is None:
                return httpx.Response(404, json={"status": 404, "message": "none"})
            return httpx.Response(200, json={"companyId": 1, "callbackUrl": self.url})
        if request.method == "PUT":
            self.url = body["callbackUrl"]
            return httpx.Response(200, json={"companyId": 1, "callbackUrl": self.url})
        self.url = None
        return httpx.Response(204)


async def test_configure_sends_the_docs_example() -> None:
    """api-reference.md "Configure Webhook": the body and the 201 answer."""
    platform = Platform()
    client, _, _ = make_client(platform)
    async with client:
        config = await client.webhooks.configure(URL)
    assert platform.seen == [("POST", PATH, {"callbackUrl": URL})]
    assert (config.company_id, config.callback_url) == (1, URL)


async def test_a_second_configure_raises_conflict_with_the_docs_advice() -> None:
    """409 for another URL: ConflictError naming replace=True, update() and delete()."""
    client, _, _ = make_client(Platform(configured="https://old.example.com/hook"))
    async with client:
        with pytest.raises(ConflictError, match="replace=True"):
            await client.webhooks.configure(URL)


async def test_replace_updates_and_the_same_url_is_no_conflict() -> None:
    """``replace=True`` PUTs the new URL; configuring the URL already set returns it."""
    platform = Platform(configured="https://old.example.com/hook")
    client, _, _ = make_client(platform)
    async with client:
        replaced = await client.webhooks.configure(URL, replace=True)
        again = await client.webhooks.configure(URL)
        await client.webhooks.delete()
    assert replaced.callback_url == URL == again.callback_url
    assert [m for m, _, _ in platform.seen] == ["POST", "GET", "PUT", "POST", "GET", "DELETE"]
    assert platform.url is None


@pytest.mark.parametrize(
    "url",
    ["http://example.com/hook", "ftp://example.com/hook", "not a url", "", 42],
)
async def test_callback_urls_must_be_https(url: object) -> None:
    """The docs: the callback URL must use HTTPS. Checked before any request."""
    platform = Platform()
    client, _, _ = make_client(platform)
    async with client:
        with pytest.raises(ValidationError) as info:
            await client.webhooks.configure(url)  # type: ignore[arg-type]
    assert info.value.field == "callbackUrl" and platform.seen == []


async def test_loopback_http_is_allowed_for_a_local_receiver() -> None:
    """A receiver on this machine (the simulator's callbacks) may use http://."""
    platform = Platform()
    client, _, _ = make_client(platform)
    async with client:
        await client.webhooks.configure("http://127.0.0.1:8080/hook")
    assert platform.url == "http://127.0.0.1:8080/hook"
