"""``client.campaigns``: the documented rules before any request, ``{{placeholder}}`` kept,
the create/cost/confirm/stats workflow."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from qlara_async import ValidationError
from qlara_async.models.enums import CampaignStatus, SendingMode

from ._fakes import make_client

pytestmark = pytest.mark.anyio

GW = "/api/partner-gateway/v1/campaigns"


def _platform():
    seen: list[tuple[str, str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        seen.append((request.method, request.url.path, body))
        path = request.url.path
        if path.endswith("/calculateGoal"):
            return httpx.Response(200, json={"totalPrice": 3.5})
        if path.endswith("/stats"):
            return httpx.Response(
                200, json=[{"timeBucket": "2025-10-01", "sendingMode": "SMS", "totalSent": 2}]
            )
        if path.endswith("/confirm"):
            return httpx.Response(200, json={"id": 1, "status": 1})
        return httpx.Response(201, json={"id": 1, "status": 0, **(body or {})})

    return handler, seen


async def test_the_campaign_workflow() -> None:
    """Overview workflow 3: create (draft), cost, confirm (scheduled), stats."""
    handler, seen = _platform()
    client, _, _ = make_client(handler)
    async with client:
        campaign = await client.campaigns.create(
            name="Promo",
            sending_mode=SendingMode.RCS_SMS,
            destination_type=2,
            destinations=["+393201234567"],
            sms_sender="MyBrand",
            sms_body="Ciao {{nome}}",
            rcs_agent_id="10",
        )
        cost = await client.campaigns.calculate_cost(campaign.id)
        confirmed = await client.campaigns.confirm(campaign.id)
        stats = await client.campaigns.stats(date_from="2025-10-01")
    assert campaign.status == CampaignStatus.DRAFT
    assert seen[0][2] == {
        "name": "Promo",
        "sendingMode": "RCS_SMS",
        "destinationType": 2,
        "destinations": ["+393201234567"],
        "smsSender": "MyBrand",
        "smsBody": "Ciao {{nome}}",  # the campaign syntax, untouched
        "rcsAgentId": "10",
    }
    assert cost.amount == 3.5
    assert confirmed.status == CampaignStatus.SCHEDULED
    assert [(m, p) for m, p, _ in seen[1:3]] == [
        ("POST", f"{GW}/1/calculateGoal"),
        ("PUT", f"{GW}/1/confirm"),
    ]
    assert stats[0].total_sent == 2 and seen[3][1] == f"{GW}/stats"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "x" * 51}, "name"),
        ({"description": "x" * 351}, "description"),
        ({"destination_type": 1}, "contactListIds"),
        ({"destination_type": 2, "destinations": None}, "destinations"),
        ({"destination_type": 3}, "destinationType"),
        ({"destinations": ["3201234567"]}, "destinations[0]"),
        ({"sending_mode": "EMAIL"}, "sendingMode"),
        ({"sending_mode": "RCS", "rcs_agent_id": 10}, "rcsAgentId"),
        ({"sending_mode": "WHATSAPP"}, "whatsappPhoneNumberId"),
    ],
)
async def test_documented_rules_are_checked_before_any_request(
    kwargs: dict[str, Any], field: str
) -> None:
    """Name at most 50, description 350, destination type and its ids, modes, the agent id."""
    handler, seen = _platform()
    base: dict[str, Any] = {
        "name": "Promo",
        "sending_mode": "SMS",
        "destination_type": 2,
        "destinations": ["+393201234567"],
    }
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(ValidationError) as info:
            await client.campaigns.create(**{**base, **kwargs})
    assert info.value.field == field and seen == []


async def test_update_sends_only_the_fields_given() -> None:
    """``PUT`` with just what changed."""
    handler, seen = _platform()
    client, _, _ = make_client(handler)
    async with client:
        await client.campaigns.update(1, name="Renamed", ready_to_send=True)
    assert seen[0][:3] == ("PUT", f"{GW}/1", {"name": "Renamed", "readyToSend": True})
