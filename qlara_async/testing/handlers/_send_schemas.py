"""The send APIs' strict request schemas: unknown fields are rejected to catch misspellings.

Top-level fields the reference marks required are optional here and checked by hand, so that a
missing one is answered in the platform's words (``'destination' can't be blank``) rather than
msgspec's. Nested required fields (``template.id``) are required in the schema.
"""

from __future__ import annotations

from typing import Any

from ._api import Strict

__all__ = [
    "FallbackRcs",
    "FallbackSms",
    "LegacyMessage",
    "LegacySendRequest",
    "RcsBody",
    "RcsSendRequest",
    "SmsSendRequest",
    "WhatsAppSendRequest",
    "WhatsAppTemplate",
]


class SmsSendRequest(Strict):
    """``POST /message-server/sms/send``."""

    destination: str | None = None
    sender: str | None = None
    body: str | None = None
    campaign_id: str | None = None
    message_id: str | None = None
    udh_data: str | None = None
    simulation: bool = False
    enable_notification: bool = True
    placeholders: dict[str, str] | None = None
    scheduled_date: str | None = None
    skip_rcs_override: bool = False


class RcsBody(Strict):
    """An inline RCS body; its content varies by type and is not checked further yet."""

    type: str
    body: dict[str, Any]


class RcsSendRequest(Strict):
    """``POST /message-server/rcs/send``."""

    destination: str | None = None
    agent_id: int | None = None
    body: RcsBody | None = None
    template_id: int | None = None
    campaign_id: str | None = None
    message_id: str | None = None
    simulation: bool = False
    enable_notification: bool = True
    max_sms_parts: int | None = None
    placeholders: dict[str, str] | None = None
    scheduled_date: str | None = None


class WhatsAppTemplate(Strict):
    """A WhatsApp template reference."""

    id: int
    media_url: str | None = None


class FallbackRcs(Strict):
    """RCS fallback of a WhatsApp send."""

    agent_id: int
    template_id: int | None = None
    type: str | None = None
    body: dict[str, Any] | None = None


class FallbackSms(Strict):
    """SMS fallback of a WhatsApp send."""

    sender: str
    text: str


class WhatsAppSendRequest(Strict):
    """``POST /message-server/whatsapp/send``."""

    destination: str | None = None
    phone_number_id: int | None = None
    template: WhatsAppTemplate | None = None
    body: dict[str, Any] | None = None
    campaign_id: str | None = None
    message_id: str | None = None
    simulation: bool = False
    enable_notification: bool = True
    placeholders: dict[str, str] | None = None
    scheduled_date: str | None = None
    fallback_rcs: FallbackRcs | None = None
    fallback_sms: FallbackSms | None = None


class LegacyMessage(Strict):
    """One message object of a legacy send."""

    destinations: list[str] | None = None
    ids: list[str] | None = None
    sender: str | None = None
    body: str | None = None
    hex_body: bool = False
    udh_data: str | None = None
    scheduling: str | None = None


class LegacySendRequest(Strict):
    """``POST /services/sms/send``."""

    global_id: str | None = None
    enable_concatenated: bool = True
    enable_unicode: bool = True
    enable_delivery: bool = True
    simulation: bool = False
    skip_rcs_override: bool = False
    messages: list[LegacyMessage] | None = None
