"""``client.subscription`` and ``client.socials``: paths relative to the base URL, the docs'
response example, and the platform checked before any request."""

from __future__ import annotations

import httpx
import pytest

from qlara_async import ValidationError
from qlara_async.models.account import SocialPlatform

from ._fakes import make_client

pytestmark = pytest.mark.anyio

# api-reference.md, "Get Active Subscription".
SUBSCRIPTION = {
    "planCode": "PRO_MONTHLY",
    "status": "ACTIVE",
    "billingPeriodStart": "2025-03-01T00:00:00+01:00",
    "billingPeriodEnd": "2025-03-31T23:59:59+01:00",
    "nextRenew": "2025-04-01T00:00:00+01:00",
    "canceled": False,
    "nextPlan": None,
}


async def test_subscription_endpoints() -> None:
    """``/api/v1/partner-gateway/subscription`` (+ ``/contacts``, ``/credit``) on the host."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/subscription"):
            return httpx.Response(200, json=SUBSCRIPTION)
        if request.url.path.endswith("/contacts"):
            return httpx.Response(200, json={"used": 120, "limit": 5000})
        return httpx.Response(200, json={"credit": 12.5})

    client, _, _ = make_client(handler)
    async with client:
        sub = await client.subscription.get()
        usage = await client.subscription.contacts()
        credit = await client.subscription.credit()
    assert [r.url.path for r in seen] == [
        "/api/v1/partner-gateway/subscription",
        "/api/v1/partner-gateway/subscription/contacts",
        "/api/v1/partner-gateway/subscription/credit",
    ]
    assert (sub.plan_code, sub.status, sub.canceled, sub.next_plan) == (
        "PRO_MONTHLY",
        "ACTIVE",
        False,
        None,
    )
    assert (usage.used, usage.limit, credit.credit) == (120, 5000, 12.5)


@pytest.mark.parametrize("shape", ["array", "envelope"])
async def test_socials_list_and_get(shape: str) -> None:
    """The list decodes as an array or ``{"data": [...]}``; ``get`` lower-cases the platform."""
    seen: list[httpx.Request] = []
    profiles = [{"platform": "facebook", "id": "1", "name": "Shop", "pages": [{"id": 9}]}]

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path.endswith("/socials"):
            return httpx.Response(200, json=profiles if shape == "array" else {"data": profiles})
        return httpx.Response(200, json=profiles[0])

    client, _, _ = make_client(handler)
    async with client:
        listed = await client.socials.list()
        one = await client.socials.get("FaceBook")
        same = await client.socials.get(SocialPlatform.FACEBOOK)
    assert [p.name for p in listed] == ["Shop"] and one == same
    assert seen[1].url.path == "/api/v1/partner-gateway/socials/facebook"


async def test_unknown_platform_is_refused_before_any_request() -> None:
    """Only the five documented platforms."""
    seen: list[httpx.Request] = []
    client, _, _ = make_client(lambda r: seen.append(r) or httpx.Response(200, json={}))
    async with client:
        with pytest.raises(ValidationError) as info:
            await client.socials.get("myspace")
    assert info.value.field == "platform" and seen == []
