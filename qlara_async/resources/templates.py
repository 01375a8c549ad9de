"""``client.rcs.templates`` and ``client.whatsapp.templates``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec
from msgspec import UNSET, UnsetType

from .._exceptions import ValidationError
from .._pagination import AsyncPaginator
from .._resource import Resource, as_list, path_param
from ..models import checked
from ..models._validation import convert_input
from ..models.templates import (
    RCS_TEMPLATE_BODIES,
    RcsTemplate,
    WhatsAppButton,
    WhatsAppTemplateFields,
    WhatsAppTemplateInfo,
)

__all__ = ["RcsTemplatesResource", "WhatsAppTemplatesResource"]

_RCS = "/message-server/rcs/templates"
_WHATSAPP = "/message-server/whatsapp/templates"


def _rcs_template_body(name: Any, type: Any, body: Any, description: Any) -> dict[str, Any]:
    if not isinstance(name, str) or not name:
        raise ValidationError("name is required (a non-empty string)", field="name")
    if not isinstance(type, str) or type not in RCS_TEMPLATE_BODIES:
        raise ValidationError(f"type must be TEXT, CARD or CAROUSEL, got {type!r}", field="type")
    if description is not None and not isinstance(description, str):
        raise ValidationError("description must be a string", field="description")
    checked_body = convert_input(body, RCS_TEMPLATE_BODIES[type], "body")
    _check_media(checked_body)
    _check_suggestions(checked_body)
    if getattr(checked_body, "fallback_whatsapp", None) is not None and (
        getattr(checked_body, "fallback_sms", None) is None
    ):
        # "Fallback Chain": fallbackSms is required if fallbackWhatsApp is present.
        raise ValidationError(
            "body.fallbackSms is required when body.fallbackWhatsApp is present",
            field="body.fallbackSms",
        )
    out: dict[str, Any] = {"name": name, "type": type, "body": checked_body}
    if description is not None:
        out["description"] = description
    return out


def _check_media(body: msgspec.Struct) -> None:
    cards = [getattr(body, "card", None), *(getattr(body, "cards", None) or [])]
    for i, card in enumerate(c for c in cards if c is not None):
        media = card.media
        if (media.file_url is None) == (media.media_key is None):
            where = "body.card.media" if hasattr(body, "card") else f"body.cards[{i}].media"
            raise ValidationError(
                f"exactly one of {where}.fileUrl and {where}.mediaKey is required",
                field=f"{where}.fileUrl",
            )


# "Suggestion Types": the object each type needs, and its required fields.
_SUGGESTION_FIELDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "url": ("url", ("url",)),
    "dial": ("dial", ("phoneNumber",)),
    "locationCoordinates": ("location_coordinates", ("latitude", "longitude", "label")),
    "locationQuery": ("location_query", ("query",)),
    "calendar": ("calendar", ("title", "description", "startTime", "endTime")),
}


def _check_suggestions(body: msgspec.Struct) -> None:
    groups: list[tuple[str, Any]] = [("body.suggestions", getattr(body, "suggestions", None))]
    card = getattr(body, "card", None)
    if card is not None:
        groups.append(("body.card.suggestions", card.suggestions))
    for i, c in enumerate(getattr(body, "cards", None) or []):
        groups.append((f"body.cards[{i}].suggestions", c.suggestions))
    for where, suggestions in groups:
        for j, suggestion in enumerate(suggestions or []):
            here = f"{where}[{j}]"
            for kind, (attr, required) in _SUGGESTION_FIELDS.items():
                value = getattr(suggestion, attr)
                if kind != suggestion.type:
                    if value is not None:
                        raise ValidationError(
                            f"{here}.{kind} is not allowed on a {suggestion.type!r} suggestion",
                            field=f"{here}.{kind}",
                        )
                    continue
                if value is None:
                    raise ValidationError(
                        f"a {kind!r} suggestion needs {here}.{kind}", field=f"{here}.{kind}"
                    )
                for name in required:
                    if value.get(name) in (None, ""):
                        raise ValidationError(
                            f"a {kind!r} suggestion needs {here}.{kind}.{name}",
                            field=f"{here}.{kind}.{name}",
                        )


class RcsTemplatesResource(Resource):
    """RCS templates: list, create, get, update, delete."""

    def list(
        self,
        *,
        search: str | None = None,
        type: str | None = None,
        enabled: bool | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[RcsTemplate]:
        """Templates page by page (``page`` from 0 and ``limit``); ``enabled`` is sent as the
        docs' ``1``/``0``."""
        if enabled is not None and not isinstance(enabled, bool):
            raise ValidationError(f"enabled must be a bool, got {enabled!r}", field="enabled")
        params = {
            "search": search,
            "type": type,
            "enabled": None if enabled is None else int(enabled),
            "sortBy": sort_by,
            "sortOrder": sort_order,
        }
        return self._api.paginate(
            _RCS, item=RcsTemplate, style="page_limit", params=params, page_size=page_size
        )

    async def create(
        self,
        *,
        name: str,
        type: str,
        body: Mapping[str, Any] | msgspec.Struct,
        description: str | None = None,
    ) -> RcsTemplate:
        """Create a template; ``body`` follows its ``type``'s table in the docs (dicts
        spelled as the docs, or the ``RcsTemplate*Body`` Structs). Not retried once it may
        have arrived."""
        payload = _rcs_template_body(name, type, body, description)
        return await self._api.post(_RCS, body=payload, cast=RcsTemplate)

    async def get(self, id: int | str) -> RcsTemplate:
        """One template."""
        return await self._api.get(f"{_RCS}/{path_param('id', id)}", cast=RcsTemplate)

    async def update(
        self,
        id: int | str,
        *,
        name: str,
        type: str,
        body: Mapping[str, Any] | msgspec.Struct,
        description: str | None = None,
    ) -> RcsTemplate:
        """Replace a template (``PUT``: the whole template, as on create)."""
        payload = _rcs_template_body(name, type, body, description)
        return await self._api.put(f"{_RCS}/{path_param('id', id)}", body=payload, cast=RcsTemplate)

    async def delete(self, id: int | str) -> None:
        """Delete a template."""
        await self._api.delete(f"{_RCS}/{path_param('id', id)}")


class WhatsAppTemplatesResource(Resource):
    """WhatsApp templates: list, create, get, update (partial), delete."""

    def list(
        self,
        *,
        category: str | None = None,
        status: str | None = None,
        phone_number_id: int | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[WhatsAppTemplateInfo]:
        """Templates page by page (``page`` from 0 and ``size``)."""
        params = {"category": category, "status": status, "phoneNumberId": phone_number_id}
        return self._api.paginate(
            _WHATSAPP,
            item=WhatsAppTemplateInfo,
            style="page_size",
            params=params,
            page_size=page_size,
        )

    async def create(
        self,
        *,
        phone_number_id: int,
        name: str,
        lang: str,
        category: str,
        body: str,
        header_text: str | None = None,
        header_format: str | None = None,
        header_media_url: str | None = None,
        footer: str | None = None,
        buttons: Iterable[WhatsAppButton | Mapping[str, Any]] | None = None,
        placeholder_fields: Mapping[str, Any] | None = None,
        track_button_links: bool | None = None,
    ) -> WhatsAppTemplateInfo:
        """Submit a template for Meta's review (``POST ...?phoneNumberId=``). ``name`` is
        snake_case; ``header_text`` and ``header_format`` exclude each other."""
        fields = {k: v for k, v in locals().items() if k not in ("self", "phone_number_id")}
        payload = _whatsapp_fields(fields, none_is_unset=True)
        if isinstance(phone_number_id, bool) or not isinstance(phone_number_id, int):
            raise ValidationError("phone_number_id must be an int", field="phoneNumberId")
        return await self._api.post(
            _WHATSAPP,
            body=payload,
            params={"phoneNumberId": phone_number_id},
            cast=WhatsAppTemplateInfo,
        )

    async def get(self, id: int | str) -> WhatsAppTemplateInfo:
        """One template, with its review ``status``."""
        return await self._api.get(f"{_WHATSAPP}/{path_param('id', id)}", cast=WhatsAppTemplateInfo)

    async def update(
        self,
        id: int | str,
        *,
        name: str | UnsetType = UNSET,
        lang: str | UnsetType = UNSET,
        category: str | UnsetType = UNSET,
        body: str | UnsetType = UNSET,
        header_text: str | UnsetType | None = UNSET,
        header_format: str | UnsetType | None = UNSET,
        header_media_url: str | UnsetType | None = UNSET,
        footer: str | UnsetType | None = UNSET,
        buttons: Iterable[WhatsAppButton | Mapping[str, Any]] | UnsetType | None = UNSET,
        placeholder_fields: Mapping[str, Any] | UnsetType | None = UNSET,
        track_button_links: bool | UnsetType | None = UNSET,
    ) -> WhatsAppTemplateInfo:
        """Change only the fields given (``PATCH``); the template goes back to ``PENDING``
        for Meta's review."""
        fields = {k: v for k, v in locals().items() if k not in ("self", "id")}
        payload = _whatsapp_fields(fields, none_is_unset=False)
        return await self._api.patch(
            f"{_WHATSAPP}/{path_param('id', id)}", body=payload, cast=WhatsAppTemplateInfo
        )

    async def delete(self, id: int | str) -> None:
        """Delete a template."""
        await self._api.delete(f"{_WHATSAPP}/{path_param('id', id)}")


def _whatsapp_fields(values: dict[str, Any], *, none_is_unset: bool) -> WhatsAppTemplateFields:
    given = {
        k: v for k, v in values.items() if v is not UNSET and not (none_is_unset and v is None)
    }
    if "buttons" in given and given["buttons"] is not None:
        given["buttons"] = as_list("buttons", given["buttons"])
    if given.get("header_text") and given.get("header_format"):
        raise ValidationError("headerText and headerFormat exclude each other", field="headerText")
    fields = checked(WhatsAppTemplateFields(**given))
    for i, button in enumerate(fields.buttons or []):
        if button.type == "URL" and not button.url:
            raise ValidationError("a URL button needs url", field=f"buttons[{i}].url")
        if button.type == "PHONE_NUMBER" and not button.phone_number:
            raise ValidationError(
                "a PHONE_NUMBER button needs phoneNumber", field=f"buttons[{i}].phoneNumber"
            )
        # "Button Types": url is for URL buttons only, phoneNumber for PHONE_NUMBER only.
        if button.type != "URL" and button.url is not None:
            raise ValidationError("url is for URL buttons only", field=f"buttons[{i}].url")
        if button.type != "PHONE_NUMBER" and button.phone_number is not None:
            raise ValidationError(
                "phoneNumber is for PHONE_NUMBER buttons only", field=f"buttons[{i}].phoneNumber"
            )
    return fields
