"""RCS templates (``/message-server/rcs/templates``) and WhatsApp templates
(``/message-server/whatsapp/templates``). The rules of the docs' tables sit on these Structs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import UNSET, UnsetType

from ._base import InputModel, Model

__all__ = [
    "RcsTemplate",
    "RcsTemplateCard",
    "RcsTemplateCardBody",
    "RcsTemplateCarouselBody",
    "RcsTemplateMedia",
    "RcsTemplateSuggestion",
    "RcsTemplateTextBody",
    "TemplateFallbackSms",
    "WhatsAppButton",
    "WhatsAppTemplateFields",
    "WhatsAppTemplateInfo",
]

Text = Annotated[str, msgspec.Meta(min_length=1)]
SuggestionType = Literal["reply", "url", "dial", "locationCoordinates", "locationQuery", "calendar"]
Height = Literal["SHORT", "MEDIUM", "TALL", "UNSPECIFIED"]


class TemplateFallbackSms(InputModel, kw_only=True):
    """``fallbackSms``: ``{"sender": ..., "text": ...}``."""

    sender: Text
    text: Text


class RcsTemplateSuggestion(InputModel, kw_only=True):
    """A button: ``type`` plus the object its type needs (``url: {url}``, ``dial:
    {phoneNumber}``, ``locationCoordinates``, ``locationQuery``, ``calendar``)."""

    type: SuggestionType
    text: Text
    url: dict[str, Any] | None = None
    dial: dict[str, Any] | None = None
    location_coordinates: dict[str, Any] | None = None
    location_query: dict[str, Any] | None = None
    calendar: dict[str, Any] | None = None


class RcsTemplateMedia(InputModel, kw_only=True):
    """Card media: exactly one of ``file_url`` and ``media_key``."""

    height: Height | None = None
    file_url: str | None = None
    media_key: str | None = None
    thumbnail_url: str | None = None


class RcsTemplateCard(InputModel, kw_only=True):
    title: str | None = None
    description: str | None = None
    media: RcsTemplateMedia
    suggestions: list[RcsTemplateSuggestion] | None = None


class _Fallbacks(InputModel, kw_only=True):
    suggestions: list[RcsTemplateSuggestion] | None = None
    fallback_sms: TemplateFallbackSms | None = None
    fallback_whatsapp: dict[str, Any] | None = msgspec.field(default=None, name="fallbackWhatsApp")


class RcsTemplateTextBody(_Fallbacks, kw_only=True):
    """A ``TEXT`` template's body; ``text`` may hold ``{variableName}`` placeholders."""

    text: Text
    ttl_seconds: Annotated[int, msgspec.Meta(gt=0)] | None = None


class RcsTemplateCardBody(_Fallbacks, kw_only=True):
    """A ``CARD`` template's body."""

    card_orientation: Literal["HORIZONTAL", "VERTICAL", "UNSPECIFIED"]
    thumbnail_alignment: Literal["LEFT", "RIGHT", "UNSPECIFIED"] | None = None
    card: RcsTemplateCard


class RcsTemplateCarouselBody(_Fallbacks, kw_only=True):
    """A ``CAROUSEL`` template's body (at least one card)."""

    card_width: Literal["SMALL", "MEDIUM", "UNSPECIFIED"]
    cards: Annotated[list[RcsTemplateCard], msgspec.Meta(min_length=1)]


RCS_TEMPLATE_BODIES: dict[str, type[msgspec.Struct]] = {
    "TEXT": RcsTemplateTextBody,
    "CARD": RcsTemplateCardBody,
    "CAROUSEL": RcsTemplateCarouselBody,
}


class RcsTemplate(Model, kw_only=True):
    """An RCS template as the API returns it; ``body`` kept as the API gave it."""

    id: int | str | None = None
    name: str | None = None
    description: str | None = None
    type: str | None = None
    enabled: bool | int | None = None
    body: Any = None


class WhatsAppButton(InputModel, kw_only=True):
    """A template button: ``url`` for ``URL``, ``phone_number`` for ``PHONE_NUMBER``."""

    type: Literal["URL", "PHONE_NUMBER", "QUICK_REPLY"]
    text: Text
    url: str | None = None
    phone_number: str | None = None


SnakeName = Annotated[str, msgspec.Meta(pattern="^[a-z0-9_]+$", min_length=1, max_length=512)]


class WhatsAppTemplateFields(InputModel, kw_only=True, omit_defaults=True):
    """The body of create (``name``, ``lang``, ``category`` and ``body`` required) and of a
    ``PATCH`` update (only the fields given)."""

    name: SnakeName | UnsetType = UNSET
    """snake_case: lowercase letters, digits and underscores only."""
    lang: Annotated[str, msgspec.Meta(min_length=2, max_length=16)] | UnsetType = UNSET
    category: Literal["MARKETING", "UTILITY", "AUTHENTICATION"] | UnsetType = UNSET
    body: Text | UnsetType = UNSET
    header_text: str | UnsetType | None = UNSET
    header_format: Literal["IMAGE", "VIDEO", "DOCUMENT"] | UnsetType | None = UNSET
    header_media_url: str | UnsetType | None = UNSET
    footer: str | UnsetType | None = UNSET
    buttons: list[WhatsAppButton] | UnsetType | None = UNSET
    placeholder_fields: dict[str, Any] | UnsetType | None = UNSET
    track_button_links: bool | UnsetType | None = UNSET


class WhatsAppTemplateInfo(Model, kw_only=True):
    """A WhatsApp template as the API returns it; ``status`` a ``WhatsAppTemplateStatus``."""

    id: int | str | None = None
    name: str | None = None
    lang: str | None = None
    category: str | None = None
    status: str | None = None
    body: str | None = None
    header_text: str | None = None
    header_format: str | None = None
    footer: str | None = None
    buttons: list[Any] | None = None
    phone_number_id: int | None = None
