"""``client.whatsapp``: send WhatsApp messages, look up the sending phone numbers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from functools import cached_property
from typing import Any

from .._resource import Resource, keywords, path_param
from ..models import (
    FallbackRcs,
    FallbackSms,
    PhoneNumber,
    ScheduledDate,
    SendResult,
    WhatsAppBody,
    WhatsAppMessage,
    WhatsAppTemplate,
    decode_phone_number,
    decode_phone_numbers,
)
from .templates import WhatsAppTemplatesResource

__all__ = ["PhoneNumbersResource", "WhatsAppResource"]

_PHONE_NUMBERS_PATH = "/message-server/whatsapp/phone-numbers"


class PhoneNumbersResource(Resource):
    """The account's WhatsApp Business numbers: ``list()`` and ``get(id)``."""

    async def list(self) -> AsyncIterator[PhoneNumber]:
        """Iterate over the numbers (``GET /message-server/whatsapp/phone-numbers``).

        The endpoint is not paginated in the docs: one request returns every number.
        """
        numbers = await self._api.get(
            _PHONE_NUMBERS_PATH, cast=list[PhoneNumber], decoder=decode_phone_numbers, empty=list
        )
        for number in numbers:
            yield number

    async def get(self, id: int) -> PhoneNumber:
        """One number's details (``GET /message-server/whatsapp/phone-numbers/{id}``)."""
        path = f"{_PHONE_NUMBERS_PATH}/{path_param('id', id)}"
        return await self._api.get(path, cast=PhoneNumber, decoder=decode_phone_number)


class WhatsAppResource(Resource):
    """WhatsApp: ``send`` and ``phone_numbers``."""

    @cached_property
    def phone_numbers(self) -> PhoneNumbersResource:
        """The account's WhatsApp Business numbers."""
        return PhoneNumbersResource(self._api)

    @cached_property
    def templates(self) -> WhatsAppTemplatesResource:
        """WhatsApp templates (Meta-approved messages)."""
        return WhatsAppTemplatesResource(self._api)

    async def send(
        self,
        *,
        destination: str,
        phone_number_id: int,
        template: WhatsAppTemplate | dict[str, Any] | None = None,
        body: WhatsAppBody | dict[str, Any] | None = None,
        campaign_id: str | None = None,
        message_id: str | None = None,
        simulation: bool | None = None,
        enable_notification: bool | None = None,
        placeholders: dict[str, str] | None = None,
        scheduled_date: ScheduledDate | None = None,
        fallback_rcs: FallbackRcs | dict[str, Any] | None = None,
        fallback_sms: FallbackSms | dict[str, Any] | None = None,
    ) -> SendResult:
        """Send one WhatsApp message (``POST /message-server/whatsapp/send``).

        Give exactly one of ``template`` (e.g. ``{"id": 42}``; any time) and ``body`` (e.g.
        ``{"text": {"body": "..."}}``; within 24 hours of the user's last message).
        ``fallback_rcs`` needs ``fallback_sms``. Raises ``ValidationError`` (nothing sent) for a
        message the API would refuse.
        """
        # The keywords are the Struct's fields: built from them, not written out again.
        message = WhatsAppMessage(**keywords(locals()))
        return await self._api.send(message)
