"""The account: subscription, contact usage, credit, connected social profiles
(``/v1/partner-gateway/subscription``, ``/v1/partner-gateway/socials``)."""

from __future__ import annotations

from enum import Enum
from typing import Any

import msgspec

from ._base import Model

__all__ = [
    "ContactUsage",
    "SocialPlatform",
    "SocialProfile",
    "Subscription",
    "SubscriptionCredit",
    "decode_social_profiles",
]


class Subscription(Model, kw_only=True):
    """The active plan (``GET /v1/partner-gateway/subscription``)."""

    plan_code: str | None = None
    """E.g. ``PRO_MONTHLY``."""
    status: str | None = None
    """E.g. ``ACTIVE``."""
    billing_period_start: str | None = None
    billing_period_end: str | None = None
    next_renew: str | None = None
    canceled: bool | None = None
    next_plan: str | None = None


class ContactUsage(Model, kw_only=True):
    """Contacts used against the plan's limit (``.../subscription/contacts``; fields beyond
    these, undocumented, are ignored)."""

    used: int | None = None
    limit: int | None = None
    total: int | None = None


class SubscriptionCredit(Model, kw_only=True):
    """Messaging credit available (``.../subscription/credit``)."""

    credit: float | None = None
    currency: str | None = None


class SocialPlatform(str, Enum):
    """The platforms a social profile may be connected on (case-insensitive on the wire)."""

    FACEBOOK = "facebook"
    INSTAGRAM = "instagram"
    LINKEDIN = "linkedin"
    GOOGLE = "google"
    TIKTOK = "tiktok"


class SocialProfile(Model, kw_only=True):
    """A connected social profile; linked pages and sub-accounts as the API gives them."""

    platform: str | None = None
    id: str | int | None = None
    name: str | None = None
    pages: list[Any] | None = None


class _SocialProfileList(Model, kw_only=True):
    data: list[SocialProfile] = msgspec.field(default_factory=list)


_profiles_decoder = msgspec.json.Decoder(list[SocialProfile] | _SocialProfileList)


def decode_social_profiles(data: bytes) -> list[SocialProfile]:
    """The profiles list: its shape is not documented, so a bare array or ``{"data": [...]}``."""
    value = _profiles_decoder.decode(data)
    return value if isinstance(value, list) else value.data
