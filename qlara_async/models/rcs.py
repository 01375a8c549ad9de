"""Request models of the RCS send API: the message and its inline TEXT / CARD / CAROUSEL bodies.

An inline body is a tagged union on ``type`` (msgspec tagged unions): ``RcsTextBody``,
``RcsCardBody`` and ``RcsCarouselBody`` encode as ``{"type": "TEXT", "body": {...}}`` and so on,
and a dict spelled as in the docs is converted to the right one by its ``type``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from ._base import InputModel, NonEmptyStr, ScheduledDate

__all__ = [
    "RcsBody",
    "RcsCard",
    "RcsCardBody",
    "RcsCarousel",
    "RcsCarouselBody",
    "RcsMessage",
    "RcsSuggestion",
    "RcsText",
    "RcsTextBody",
]


class RcsSuggestion(InputModel, kw_only=True):
    """A button under a text or card, e.g. ``RcsSuggestion(type="URL", text="Open", value=url)``."""

    type: NonEmptyStr
    """The suggestion kind as the API spells it (the send examples use ``"URL"``)."""
    text: NonEmptyStr
    """The button label."""
    value: str | None = None
    """What the button carries: the URL for ``URL``."""


class RcsText(InputModel, kw_only=True):
    """Content of a TEXT body."""

    text: NonEmptyStr
    """The message text; supports ``{name}`` placeholders."""
    suggestions: list[RcsSuggestion] | None = None
    """Buttons under the text."""


class RcsCard(InputModel, kw_only=True):
    """Content of a CARD body, and one card of a carousel."""

    title: str | None = None
    """Card title."""
    description: str | None = None
    """Card text."""
    media_url: str | None = None
    """Public URL of the card's image or video."""
    suggestions: list[RcsSuggestion] | None = None
    """Buttons on the card."""


class RcsCarousel(InputModel, kw_only=True):
    """Content of a CAROUSEL body."""

    cards: Annotated[list[RcsCard], msgspec.Meta(min_length=1)]
    """The cards, at least one."""
    suggestions: list[RcsSuggestion] | None = None
    """Buttons under the carousel."""


class RcsTextBody(InputModel, kw_only=True, tag_field="type", tag="TEXT"):
    """An inline TEXT body: ``{"type": "TEXT", "body": {"text": ...}}``."""

    body: RcsText
    """The text content."""


class RcsCardBody(InputModel, kw_only=True, tag_field="type", tag="CARD"):
    """An inline CARD body: ``{"type": "CARD", "body": {"title": ..., "mediaUrl": ...}}``."""

    body: RcsCard
    """The card content."""


class RcsCarouselBody(InputModel, kw_only=True, tag_field="type", tag="CAROUSEL"):
    """An inline CAROUSEL body: ``{"type": "CAROUSEL", "body": {"cards": [...]}}``."""

    body: RcsCarousel
    """The carousel content."""


RcsBody = RcsTextBody | RcsCardBody | RcsCarouselBody
"""Any inline RCS body."""


class RcsMessage(InputModel, kw_only=True):
    """One RCS message for ``POST /message-server/rcs/send``.

    Exactly one of ``body`` (inline content) and ``template_id`` is required. ``max_sms_parts``
    turns on SMS fallback. ``message_id`` is set by the client before the first attempt when
    left out.
    """

    destination: str
    """Recipient in international format, e.g. ``+393401234567``."""
    agent_id: int
    """The sending RCS agent's id."""
    body: RcsBody | dict[str, Any] | None = None
    """Inline content (a ``RcsTextBody`` / ``RcsCardBody`` / ``RcsCarouselBody`` or a dict)."""
    template_id: int | None = None
    """An RCS template's id, instead of ``body``."""
    campaign_id: str | None = None
    """Groups messages for reporting; at most 255 characters."""
    message_id: str | None = None
    """Your id for the message; the client generates a UUID when omitted."""
    simulation: bool | None = None
    """Validate without sending (API default ``False``)."""
    enable_notification: bool | None = None
    """Delivery and read callbacks (API default ``True``)."""
    max_sms_parts: int | None = None
    """Largest SMS fallback, in parts; no SMS fallback when omitted."""
    placeholders: dict[str, str] | None = None
    """Values for ``{name}`` placeholders."""
    scheduled_date: ScheduledDate | None = None
    """When to send: an aware ``datetime`` or the API's string."""
