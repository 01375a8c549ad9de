"""``client.campaigns``: create, cost, confirm, follow (workflow 3 of the overview)."""

from __future__ import annotations

import builtins
from collections.abc import Iterable
from typing import Any

from msgspec import UNSET, UnsetType

from .._exceptions import ValidationError
from .._pagination import AsyncPaginator
from .._resource import Resource, as_list, path_param
from ..models import checked
from ..models.campaigns import (
    Campaign,
    CampaignFields,
    CampaignPrice,
    CampaignStats,
    decode_stats,
)
from ..models.enums import CampaignStatus, SendingMode

__all__ = ["CampaignsResource"]

_PATH = "/partner-gateway/v1/campaigns"


class CampaignsResource(Resource):
    """Campaigns: list, create, get, update, delete, cost, price, confirm, stats."""

    def list(
        self,
        *,
        status: CampaignStatus | int | None = None,
        channel: SendingMode | str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[Campaign]:
        """Campaigns with their delivery counters, page by page (filters: status, channel,
        date range, sent as ``status``, ``channel``, ``from``, ``to``)."""
        if status is not None and (
            isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 4
        ):
            raise ValidationError(
                f"status must be a CampaignStatus (0 to 4), got {status!r}", field="status"
            )
        params = {
            "status": int(status) if status is not None else None,
            "channel": channel.value if isinstance(channel, SendingMode) else channel,
            "from": date_from,
            "to": date_to,
        }
        return self._api.paginate(_PATH, item=Campaign, params=params, page_size=page_size)

    async def create(
        self,
        *,
        name: str,
        sending_mode: SendingMode | str,
        destination_type: int,
        description: str | None = None,
        contact_list_ids: Iterable[int] | None = None,
        destinations: Iterable[str] | None = None,
        sms_sender: str | None = None,
        sms_body: str | None = None,
        rcs_agent_id: str | None = None,
        rcs_template_id: int | None = None,
        whatsapp_phone_number_id: int | None = None,
        whatsapp_template_id: int | None = None,
        scheduled_date: str | None = None,
        ready_to_send: bool | None = None,
        placeholder_fields: str | None = None,
    ) -> Campaign:
        """Create a campaign (a draft until ``confirm``). Not retried once it may have arrived.

        ``destination_type`` 1 sends to ``contact_list_ids``, 2 to ``destinations``;
        ``sms_body`` uses the campaign syntax ``{{placeholder}}``, kept as written.
        """
        fields = _fields(locals(), none_is_unset=True)
        _check_destinations(fields)
        _check_channels(fields)
        body = checked(CampaignFields(**fields))
        return await self._api.post(_PATH, body=body, cast=Campaign)

    async def get(self, id: int | str) -> Campaign:
        """One campaign, with its full delivery counters."""
        return await self._api.get(f"{_PATH}/{path_param('id', id)}", cast=Campaign)

    async def update(
        self,
        id: int | str,
        *,
        name: str | UnsetType = UNSET,
        description: str | UnsetType | None = UNSET,
        sending_mode: SendingMode | str | UnsetType = UNSET,
        destination_type: int | UnsetType = UNSET,
        contact_list_ids: Iterable[int] | UnsetType = UNSET,
        destinations: Iterable[str] | UnsetType = UNSET,
        sms_sender: str | UnsetType = UNSET,
        sms_body: str | UnsetType = UNSET,
        rcs_agent_id: str | UnsetType = UNSET,
        rcs_template_id: int | UnsetType = UNSET,
        whatsapp_phone_number_id: int | UnsetType = UNSET,
        whatsapp_template_id: int | UnsetType = UNSET,
        scheduled_date: str | UnsetType = UNSET,
        ready_to_send: bool | UnsetType = UNSET,
        placeholder_fields: str | UnsetType = UNSET,
    ) -> Campaign:
        """Change a campaign (``PUT``; every field optional, those left out are not sent)."""
        fields = _fields(locals(), none_is_unset=False)
        if "destination_type" in fields:
            _check_destinations(fields)
        body = checked(CampaignFields(**fields))
        return await self._api.put(f"{_PATH}/{path_param('id', id)}", body=body, cast=Campaign)

    async def delete(self, id: int | str) -> None:
        """Delete a campaign."""
        await self._api.delete(f"{_PATH}/{path_param('id', id)}")

    async def calculate_cost(self, id: int | str) -> CampaignPrice:
        """Compute the campaign's total price from its recipients and channel rates."""
        return await self._api.post(
            f"{_PATH}/{path_param('id', id)}/calculateGoal", cast=CampaignPrice, idempotent=True
        )

    async def price(self, id: int | str) -> CampaignPrice:
        """The campaign's price."""
        return await self._api.get(f"{_PATH}/{path_param('id', id)}/price", cast=CampaignPrice)

    async def confirm(self, id: int | str) -> Campaign:
        """Send the campaign now, or at its ``scheduled_date`` (``PUT .../confirm``)."""
        return await self._api.put(f"{_PATH}/{path_param('id', id)}/confirm", cast=Campaign)

    async def stats(
        self,
        *,
        date_from: str | None = None,
        date_to: str | None = None,
        channel: SendingMode | str | None = None,
    ) -> builtins.list[CampaignStats]:
        """Aggregated statistics per time bucket (``GET .../campaigns/stats``)."""
        params = {
            "from": date_from,
            "to": date_to,
            "channel": channel.value if isinstance(channel, SendingMode) else channel,
        }
        return await self._api.get(
            f"{_PATH}/stats",
            cast=builtins.list[CampaignStats],
            params=params,
            decoder=decode_stats,
            empty=list,
        )


def _fields(values: dict[str, Any], *, none_is_unset: bool) -> dict[str, Any]:
    # Create: None leaves a field out. Update: only UNSET does; None sends null.
    out: dict[str, Any] = {}
    for name, value in values.items():
        if name in ("self", "id") or value is UNSET or (value is None and none_is_unset):
            continue
        if isinstance(value, SendingMode):
            value = value.value
        elif name in ("contact_list_ids", "destinations"):
            value = as_list(name, value)
        out[name] = value
    return out


def _check_destinations(fields: dict[str, Any]) -> None:
    kind = fields.get("destination_type")
    if kind == 1 and not fields.get("contact_list_ids"):
        raise ValidationError(
            "destination_type 1 (contact lists) needs contact_list_ids", field="contactListIds"
        )
    if kind == 2 and not fields.get("destinations"):
        raise ValidationError(
            "destination_type 2 (numbers) needs destinations", field="destinations"
        )
    if kind == 1 and fields.get("destinations"):
        raise ValidationError(
            "destinations go with destination_type 2, not 1", field="destinations"
        )
    if kind == 2 and fields.get("contact_list_ids"):
        raise ValidationError(
            "contact_list_ids go with destination_type 1, not 2", field="contactListIds"
        )


def _check_channels(fields: dict[str, Any]) -> None:
    mode = str(fields.get("sending_mode", ""))
    if "RCS" in mode and "rcs_agent_id" not in fields:
        raise ValidationError(f"sending_mode {mode} needs rcs_agent_id", field="rcsAgentId")
    if "WHATSAPP" in mode and "whatsapp_phone_number_id" not in fields:
        raise ValidationError(
            f"sending_mode {mode} needs whatsapp_phone_number_id", field="whatsappPhoneNumberId"
        )
    if "rcs_agent_id" in fields and not isinstance(fields["rcs_agent_id"], str):
        # The campaign API spells the agent id as a string, unlike the send API's int.
        raise ValidationError("rcs_agent_id must be a string (e.g. '10')", field="rcsAgentId")
