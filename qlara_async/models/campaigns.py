"""Campaigns (``/partner-gateway/v1/campaigns``): bulk sends the platform runs for you."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from ._base import InputModel, Model, PositiveInt

__all__ = ["Campaign", "CampaignFields", "CampaignPrice", "CampaignStats", "decode_stats"]

SendingModeName = Annotated[
    str,
    msgspec.Meta(pattern="^(SMS|RCS|RCS_SMS|WHATSAPP|WHATSAPP_SMS|WHATSAPP_RCS|WHATSAPP_RCS_SMS)$"),
]


class CampaignFields(InputModel, kw_only=True, omit_defaults=True):
    """The body of create and update. Lengths are the docs' (name 50, description 350);
    ``rcs_agent_id`` is a string here (the send API's ``agentId`` is an int); ``sms_body``
    keeps its ``{{placeholder}}`` syntax as written."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=50)] | UnsetType = UNSET
    description: Annotated[str, msgspec.Meta(max_length=350)] | UnsetType | None = UNSET
    sending_mode: SendingModeName | UnsetType = UNSET
    destination_type: Annotated[int, msgspec.Meta(ge=1, le=2)] | UnsetType = UNSET
    """1: contact lists (``contact_list_ids``), 2: numbers (``destinations``)."""
    contact_list_ids: list[PositiveInt] | UnsetType = UNSET
    destinations: list[Annotated[str, msgspec.Meta(pattern=r"^\+[0-9]{6,15}$")]] | UnsetType = UNSET
    sms_sender: Annotated[str, msgspec.Meta(min_length=1, max_length=16)] | UnsetType = UNSET
    sms_body: Annotated[str, msgspec.Meta(min_length=1)] | UnsetType = UNSET
    rcs_agent_id: Annotated[str, msgspec.Meta(min_length=1)] | UnsetType = UNSET
    rcs_template_id: PositiveInt | UnsetType = UNSET
    whatsapp_phone_number_id: PositiveInt | UnsetType = UNSET
    whatsapp_template_id: PositiveInt | UnsetType = UNSET
    scheduled_date: str | UnsetType = UNSET
    ready_to_send: bool | UnsetType = UNSET
    placeholder_fields: str | UnsetType = UNSET


class Campaign(Model, kw_only=True):
    """A campaign with its delivery counters; ``status`` is a ``CampaignStatus`` (0 draft,
    1 scheduled, 2 sending, 3 completed, 4 error)."""

    id: int | str | None = None
    name: str | None = None
    description: str | None = None
    status: int | None = None
    sending_mode: str | None = None
    destination_type: int | None = None
    contact_list_ids: list[int] | None = None
    destinations: list[str] | None = None
    sms_sender: str | None = None
    sms_body: str | None = None
    """As written, ``{{placeholder}}`` syntax included."""
    rcs_agent_id: str | None = None
    """A string in the campaign API (the send API's ``agentId`` is an int)."""
    rcs_template_id: int | None = None
    whatsapp_phone_number_id: int | None = None
    whatsapp_template_id: int | None = None
    scheduled_date: str | None = None
    ready_to_send: bool | None = None
    placeholder_fields: str | None = None
    creation_date: str | None = None
    last_update_date: str | None = None
    total_destinations: int | None = None
    total_sent: int | None = None
    total_success: int | None = None
    total_failed: int | None = None
    total_read: int | None = None
    total_fallback: int | None = None
    rcs_sent: int | None = None
    rcs_success: int | None = None
    rcs_failed: int | None = None
    rcs_read: int | None = None
    sms_sent: int | None = None
    sms_success: int | None = None
    sms_failed: int | None = None
    wa_sent: int | None = None
    wa_success: int | None = None
    wa_failed: int | None = None
    wa_read: int | None = None


class CampaignPrice(Model, kw_only=True):
    """What a campaign costs (``calculateGoal`` and ``price``)."""

    total_price: float | None = None
    price: float | None = None
    currency: str | None = None
    recipients: int | None = None

    @property
    def amount(self) -> float | None:
        """The total, whichever name the API gave it."""
        return self.total_price if self.total_price is not None else self.price


class CampaignStats(Model, kw_only=True):
    """One time bucket of aggregated campaign statistics."""

    time_bucket: str | None = None
    sending_mode: str | None = None
    num_message_campaigns: int | None = None
    total_sent: int | None = None
    total_success: int | None = None
    total_failed: int | None = None
    counters: dict[str, Any] | None = None


class _StatsEnvelope(Model, kw_only=True):
    data: list[CampaignStats] = msgspec.field(default_factory=list)


_stats_decoder = msgspec.json.Decoder(list[CampaignStats] | _StatsEnvelope)


def decode_stats(data: bytes) -> list[CampaignStats]:
    """The stats answer: a bare array of buckets, or ``{"data": [...]}``."""
    value = _stats_decoder.decode(data)
    return value if isinstance(value, list) else value.data
