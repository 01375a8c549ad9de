"""The template areas' request bodies, as the simulator reads api-reference.md ("RCS Templates",
"WhatsApp Templates"), and the rules a schema alone cannot say (one media source, the object a
suggestion type needs, exclusive headers, button fields). Every refusal is a platform 400 naming
the wire field (``'body.card.media.fileUrl' ...``)."""

from __future__ import annotations

from typing import Annotated, Any, Final, Literal, TypeVar

import msgspec
from msgspec import UNSET, UnsetType

from ._api import BadRequest, Strict, field_errors

__all__ = [
    "RCS_BODIES",
    "RcsTemplateCreate",
    "WhatsAppTemplateCreate",
    "WhatsAppTemplatePatch",
    "check_rcs_body",
    "check_whatsapp",
    "decode_part",
    "without_nulls",
]

T = TypeVar("T")

Text = Annotated[str, msgspec.Meta(min_length=1)]


def bad(name: str, words: str) -> BadRequest:
    """A platform 400 whose message names the wire field."""
    return BadRequest(f"'{name}' {words}")


_decoders: dict[type[Any], msgspec.json.Decoder[Any]] = {}


def decode_part(raw: msgspec.Raw, schema: type[T], prefix: str) -> T:
    """Decode a nested part of a body (kept raw at first because its schema depends on another
    field) strictly into ``schema``; a 400 names the field under ``prefix``."""
    decoder = _decoders.get(schema)
    if decoder is None:
        decoder = _decoders[schema] = msgspec.json.Decoder(schema)
    try:
        return decoder.decode(raw)  # type: ignore[no-any-return]
    except msgspec.ValidationError as exc:
        name, message = next(iter(field_errors(exc).items()))
        whole = name == "body" and " - at `$" not in str(exc)  # the part itself is wrong
        full = prefix if whole else f"{prefix}.{name}"
        raise BadRequest(message.replace(f"'{name}'", f"'{full}'", 1)) from None


# ----------------------------------------------------------------------------- RCS


class UrlAction(Strict, kw_only=True):
    url: Text


class DialAction(Strict, kw_only=True):
    phone_number: Text


class LocationCoordinates(Strict, kw_only=True):
    latitude: float | Text
    longitude: float | Text
    label: Text


class LocationQuery(Strict, kw_only=True):
    query: Text


class CalendarAction(Strict, kw_only=True):
    title: Text
    description: Text
    start_time: Text
    end_time: Text


SUGGESTION_OBJECTS: Final = ("url", "dial", "locationCoordinates", "locationQuery", "calendar")


class Suggestion(Strict, kw_only=True):
    """ "Suggestion Types": ``type`` and ``text``, plus the object named by the type."""

    type: Literal["reply", "url", "dial", "locationCoordinates", "locationQuery", "calendar"]
    text: Text
    url: UrlAction | None = None
    dial: DialAction | None = None
    location_coordinates: LocationCoordinates | None = None
    location_query: LocationQuery | None = None
    calendar: CalendarAction | None = None


class Media(Strict, kw_only=True):
    """ "Media Object": exactly one of ``fileUrl`` and ``mediaKey``."""

    height: Literal["SHORT", "MEDIUM", "TALL", "UNSPECIFIED"] | None = None
    file_url: Text | None = None
    media_key: Text | None = None
    thumbnail_url: Text | None = None


class Card(Strict, kw_only=True):
    title: str | None = None
    description: str | None = None
    media: Media
    suggestions: list[Suggestion] | None = None


class FallbackSms(Strict, kw_only=True):
    sender: Text
    text: Text


class _Common(Strict, kw_only=True):
    suggestions: list[Suggestion] | None = None
    fallback_sms: FallbackSms | None = None
    fallback_whatsapp: dict[str, Any] | None = msgspec.field(default=None, name="fallbackWhatsApp")


class TextBody(_Common, kw_only=True):
    """ "TEXT Template Body"."""

    text: Text
    ttl_seconds: Annotated[int, msgspec.Meta(gt=0)] | None = None


class CardBody(_Common, kw_only=True):
    """ "CARD Template Body"."""

    card_orientation: Literal["HORIZONTAL", "VERTICAL", "UNSPECIFIED"]
    thumbnail_alignment: Literal["LEFT", "RIGHT", "UNSPECIFIED"] | None = None
    card: Card


class CarouselBody(_Common, kw_only=True):
    """ "CAROUSEL Template Body" (at least one card)."""

    card_width: Literal["SMALL", "MEDIUM", "UNSPECIFIED"]
    cards: Annotated[list[Card], msgspec.Meta(min_length=1)]


RCS_BODIES: Final[dict[str, type[_Common]]] = {
    "TEXT": TextBody,
    "CARD": CardBody,
    "CAROUSEL": CarouselBody,
}


class RcsTemplateCreate(Strict, kw_only=True):
    """``POST``/``PUT /message-server/rcs/templates``: "Template Creation Fields"."""

    name: Text
    description: str | None = None
    type: Literal["TEXT", "CARD", "CAROUSEL"]
    body: msgspec.Raw


def _check_suggestions(suggestions: list[Suggestion] | None, where: str) -> None:
    for i, s in enumerate(suggestions or []):
        here = f"{where}[{i}]"
        given = {
            "url": s.url,
            "dial": s.dial,
            "locationCoordinates": s.location_coordinates,
            "locationQuery": s.location_query,
            "calendar": s.calendar,
        }
        for name, value in given.items():
            if name == s.type and value is None:
                raise bad(f"{here}.{name}", f"can't be blank for a '{s.type}' suggestion")
            if name != s.type and value is not None:
                raise bad(f"{here}.{name}", f"is not allowed on a '{s.type}' suggestion")


def _check_card(card: Card, where: str) -> None:
    media = card.media
    if (media.file_url is None) == (media.media_key is None):
        raise BadRequest(
            f"'{where}.media.fileUrl': exactly one of 'fileUrl' and 'mediaKey' is required"
        )
    _check_suggestions(card.suggestions, f"{where}.suggestions")


def check_rcs_body(body: _Common) -> None:
    """The rules of the body tables beyond the schema."""
    _check_suggestions(body.suggestions, "body.suggestions")
    if isinstance(body, CardBody):
        _check_card(body.card, "body.card")
    if isinstance(body, CarouselBody):
        for i, card in enumerate(body.cards):
            _check_card(card, f"body.cards[{i}]")
    # "Fallback Chain": fallbackSms is required if fallbackWhatsApp is present.
    if body.fallback_whatsapp is not None and body.fallback_sms is None:
        raise bad("body.fallbackSms", "is required when 'body.fallbackWhatsApp' is present")


# ----------------------------------------------------------------------------- WhatsApp

SnakeName = Annotated[str, msgspec.Meta(pattern="^[a-z0-9_]+$", min_length=1, max_length=512)]
Lang = Annotated[str, msgspec.Meta(pattern="^[a-z]{2,3}([_-][A-Za-z]{2,4})?$")]
Category = Literal["MARKETING", "UTILITY", "AUTHENTICATION"]
HeaderFormat = Literal["IMAGE", "VIDEO", "DOCUMENT"]


class Button(Strict, kw_only=True):
    """ "Button Types"."""

    type: Literal["URL", "PHONE_NUMBER", "QUICK_REPLY"]
    text: Text
    url: Text | None = None
    phone_number: Text | None = None


PlaceholderFields = dict[str, dict[str, str]]


class WhatsAppTemplateCreate(Strict, kw_only=True):
    """``POST /message-server/whatsapp/templates?phoneNumberId=``: "Template Creation Fields"."""

    name: SnakeName
    lang: Lang
    category: Category
    body: Text
    header_text: Text | None = None
    header_format: HeaderFormat | None = None
    header_media_url: Text | None = None
    footer: Text | None = None
    buttons: list[Button] | None = None
    placeholder_fields: PlaceholderFields | None = None
    track_button_links: bool | None = None


class WhatsAppTemplatePatch(Strict, kw_only=True):
    """``PATCH /message-server/whatsapp/templates/{id}``: any creation field; ``null`` clears an
    optional one."""

    name: SnakeName | UnsetType = UNSET
    lang: Lang | UnsetType = UNSET
    category: Category | UnsetType = UNSET
    body: Text | UnsetType = UNSET
    header_text: Text | UnsetType | None = UNSET
    header_format: HeaderFormat | UnsetType | None = UNSET
    header_media_url: Text | UnsetType | None = UNSET
    footer: Text | UnsetType | None = UNSET
    buttons: list[Button] | UnsetType | None = UNSET
    placeholder_fields: PlaceholderFields | UnsetType | None = UNSET
    track_button_links: bool | UnsetType | None = UNSET


def without_nulls(value: Any) -> Any:
    """``value`` (decoded JSON) with every ``null`` member of an object left out."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def check_whatsapp(fields: dict[str, Any]) -> None:
    """The rules on a whole template (wire names): exclusive headers, each button's field."""
    if fields.get("headerText") is not None and fields.get("headerFormat") is not None:
        raise bad("headerText", "and 'headerFormat' exclude each other")
    for i, button in enumerate(fields.get("buttons") or []):
        kind = button["type"]
        for name, owner in (("url", "URL"), ("phoneNumber", "PHONE_NUMBER")):
            if kind == owner and not button.get(name):
                raise bad(f"buttons[{i}].{name}", f"can't be blank for a {owner} button")
            if kind != owner and button.get(name) is not None:
                raise bad(f"buttons[{i}].{name}", f"is only for {owner} buttons")
