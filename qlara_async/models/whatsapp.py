"""Request models of the WhatsApp send API: template reference, free-form bodies, fallbacks."""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import InputModel, Model, NonEmptyStr, PositiveInt, RcsBodyType, ScheduledDate
from .rcs import RcsCard, RcsCarousel, RcsText

__all__ = [
    "PhoneNumber",
    "decode_phone_number",
    "decode_phone_numbers",
    "FallbackRcs",
    "FallbackSms",
    "WhatsAppAudio",
    "WhatsAppBody",
    "WhatsAppDocument",
    "WhatsAppImage",
    "WhatsAppLocation",
    "WhatsAppMessage",
    "WhatsAppReaction",
    "WhatsAppSticker",
    "WhatsAppTemplate",
    "WhatsAppText",
    "WhatsAppVideo",
]


class WhatsAppTemplate(InputModel, kw_only=True):
    """A reference to a Meta-approved template: ``{"id": 42, "mediaUrl": ...}``."""

    id: PositiveInt
    """The template's id."""
    media_url: str | None = None
    """Media for the template's header (image or video), if it has one."""


class WhatsAppText(InputModel, kw_only=True):
    """Free-form text: ``{"body": "..."}``."""

    body: NonEmptyStr
    """The message text."""


class _MediaRef(InputModel, kw_only=True):
    url: str | None = None
    """Public URL of the file. Exactly one of ``url`` and ``key``."""
    key: str | None = None
    """Key of a file on the platform's storage. Exactly one of ``url`` and ``key``."""


class WhatsAppImage(_MediaRef, kw_only=True):
    """An image by ``url`` or ``key``, with an optional caption."""

    caption: str | None = None
    """Shown under the image."""


class WhatsAppVideo(_MediaRef, kw_only=True):
    """A video by ``url`` or ``key``, with an optional caption."""

    caption: str | None = None
    """Shown under the video."""


class WhatsAppAudio(_MediaRef, kw_only=True):
    """An audio message by ``url`` or ``key``."""


class WhatsAppDocument(_MediaRef, kw_only=True):
    """A document (PDF, DOC, ...) by ``url`` or ``key``, with optional filename and caption."""

    filename: str | None = None
    """The name the recipient sees, e.g. ``fattura_marzo.pdf``."""
    caption: str | None = None
    """Shown with the document."""


class WhatsAppSticker(_MediaRef, kw_only=True):
    """A WebP sticker by ``url`` or ``key``."""


class WhatsAppLocation(InputModel, kw_only=True):
    """A place on a map. Coordinates are strings on the wire (``"45.4642"``)."""

    latitude: NonEmptyStr
    """Latitude, e.g. ``"45.4642"``."""
    longitude: NonEmptyStr
    """Longitude, e.g. ``"9.1900"``."""
    name: str | None = None
    """The place's name."""
    address: str | None = None
    """The place's address."""


class WhatsAppReaction(InputModel, kw_only=True):
    """An emoji reaction to an earlier message."""

    message_id: NonEmptyStr
    """The id of the message reacted to."""
    emoji: NonEmptyStr
    """The emoji."""


class WhatsAppBody(InputModel, kw_only=True):
    """Free-form content (inside the 24-hour window): exactly one of the content fields.

    ``reply_message_id`` may go with any of them to send the message as a reply.
    """

    text: WhatsAppText | None = None
    """Plain text."""
    image: WhatsAppImage | None = None
    """An image."""
    video: WhatsAppVideo | None = None
    """A video."""
    audio: WhatsAppAudio | None = None
    """An audio message."""
    document: WhatsAppDocument | None = None
    """A document."""
    sticker: WhatsAppSticker | None = None
    """A sticker."""
    location: WhatsAppLocation | None = None
    """A location."""
    reaction: WhatsAppReaction | None = None
    """A reaction to an earlier message."""
    reply_message_id: str | None = None
    """Send as a reply to this message."""


class FallbackSms(InputModel, kw_only=True):
    """The last step of the fallback chain: an SMS."""

    sender: str
    """Alphanumeric sender (at most 11 characters) or a numeric one."""
    text: NonEmptyStr
    """The SMS text."""


class FallbackRcs(InputModel, kw_only=True):
    """The RCS step of the fallback chain: ``agent_id`` plus ``template_id`` or ``type`` + ``body``.

    ``body`` is the content of the given ``type`` (``RcsText`` for ``"TEXT"``, ``RcsCard`` for
    ``"CARD"``, ``RcsCarousel`` for ``"CAROUSEL"``) or a dict spelled as in the docs.
    A message with ``fallback_rcs`` needs ``fallback_sms`` as well.
    """

    agent_id: int
    """The RCS agent that sends the fallback."""
    template_id: int | None = None
    """An RCS template's id, instead of ``type`` + ``body``."""
    type: RcsBodyType | None = None
    """The kind of ``body``; required with ``body``."""
    body: RcsText | RcsCard | RcsCarousel | dict[str, Any] | None = None
    """Inline content, instead of ``template_id``."""


class WhatsAppMessage(InputModel, kw_only=True):
    """One WhatsApp message for ``POST /message-server/whatsapp/send``.

    Exactly one of ``template`` (any time) and ``body`` (free-form, within 24 hours of the
    user's last message) is required. ``fallback_rcs`` and ``fallback_sms`` configure the
    WhatsApp -> RCS -> SMS chain. Tracked links are placeholders: ``{"shortLinkT1": url}``.
    ``message_id`` is set by the client before the first attempt when left out.
    """

    destination: str
    """Recipient in international format, e.g. ``+393401234567``."""
    phone_number_id: int
    """The sending WhatsApp Business number's id (see ``whatsapp.phone_numbers``)."""
    template: WhatsAppTemplate | dict[str, Any] | None = None
    """A template reference, instead of ``body``."""
    body: WhatsAppBody | dict[str, Any] | None = None
    """Free-form content, instead of ``template``."""
    campaign_id: str | None = None
    """Groups messages for reporting; at most 255 characters."""
    message_id: str | None = None
    """Your id for the message; the client generates a UUID when omitted."""
    simulation: bool | None = None
    """Validate without sending (API default ``False``)."""
    enable_notification: bool | None = None
    """Delivery and read callbacks (API default ``True``)."""
    placeholders: dict[str, str] | None = None
    """Values for ``{name}`` placeholders, and tracked links such as ``shortLinkT1``."""
    scheduled_date: ScheduledDate | None = None
    """When to send: an aware ``datetime`` or the API's string."""
    fallback_rcs: FallbackRcs | dict[str, Any] | None = None
    """Try RCS when WhatsApp cannot deliver (needs ``fallback_sms``)."""
    fallback_sms: FallbackSms | dict[str, Any] | None = None
    """Send an SMS when the channels before it cannot deliver."""


# --- responses


class PhoneNumber(Model, kw_only=True):
    """A WhatsApp Business number; use its ``id`` as ``phone_number_id`` when sending."""

    id: int
    """The number's id."""
    phone_number: str | None = None
    """The number, in international format."""
    display_name: str | None = None
    """The business name shown to recipients."""
    onboarding_scope: str | None = None
    """What the number may do, e.g. ``RECEIVE_AND_SEND``."""


class _PhoneNumberList(Model, kw_only=True):
    data: list[PhoneNumber] = msgspec.field(default_factory=list)


class _PhoneNumberEnvelope(Model, kw_only=True):
    # The single-number response is undocumented: accept the number itself, or the list's
    # ``{"data": ...}`` envelope around one number or a one-element array.
    id: int | None = None
    phone_number: str | None = None
    display_name: str | None = None
    onboarding_scope: str | None = None
    data: PhoneNumber | list[PhoneNumber] | None = None


_phone_numbers_decoder = msgspec.json.Decoder(_PhoneNumberList)


_phone_number_decoder = msgspec.json.Decoder(_PhoneNumberEnvelope)


def decode_phone_numbers(data: bytes) -> list[PhoneNumber]:
    """Decode ``GET /message-server/whatsapp/phone-numbers``: the items of ``data``."""
    return _phone_numbers_decoder.decode(data).data


def decode_phone_number(data: bytes) -> PhoneNumber:
    """Decode ``GET /message-server/whatsapp/phone-numbers/{id}``.

    The docs show only the list's shape, so this accepts the number as a bare object, or wrapped
    as ``{"data": {...}}`` or ``{"data": [{...}]}``.
    """
    env = _phone_number_decoder.decode(data)
    if isinstance(env.data, PhoneNumber):
        return env.data
    if isinstance(env.data, list):
        if len(env.data) != 1:
            raise msgspec.ValidationError(
                f"Expected one phone number in `data`, got {len(env.data)}"
            )
        return env.data[0]
    if env.id is None:
        raise msgspec.ValidationError("Object missing required field `id`")
    return PhoneNumber(
        id=env.id,
        phone_number=env.phone_number,
        display_name=env.display_name,
        onboarding_scope=env.onboarding_scope,
    )
