"""``client.sms``: the Universal send, the Legacy multi-recipient send, and the credit check."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._resource import Resource, keywords
from ..models import (
    Credit,
    LegacySmsMessage,
    LegacySmsRequest,
    LegacySmsResult,
    ScheduledDate,
    SendResult,
    SmsMessage,
    prepare_legacy_sms,
)

__all__ = ["SmsResource"]

_LEGACY_SEND_PATH = "/services/sms/send"
_CREDIT_PATH = "/services/sms/credit"


class SmsResource(Resource):
    """SMS: ``send`` (Universal API), ``send_legacy`` (Legacy API), ``credit``."""

    async def send(
        self,
        *,
        destination: str,
        sender: str,
        body: str,
        campaign_id: str | None = None,
        message_id: str | None = None,
        udh_data: str | None = None,
        simulation: bool | None = None,
        enable_notification: bool | None = None,
        placeholders: dict[str, str] | None = None,
        scheduled_date: ScheduledDate | None = None,
        skip_rcs_override: bool | None = None,
    ) -> SendResult:
        """Send one SMS (``POST /message-server/sms/send``).

        Arguments are the fields of ``SmsMessage``; ``None`` leaves a field out so the API's
        default applies. Raises ``ValidationError`` (nothing sent) for a message the API would
        refuse.
        """
        # The keywords are the Struct's fields: built from them, not written out again.
        message = SmsMessage(**keywords(locals()))
        return await self._api.send(message)

    async def send_legacy(
        self,
        *,
        messages: Sequence[LegacySmsMessage | dict[str, Any]],
        global_id: str | None = None,
        enable_concatenated: bool | None = None,
        enable_unicode: bool | None = None,
        enable_delivery: bool | None = None,
        simulation: bool | None = None,
        skip_rcs_override: bool | None = None,
    ) -> LegacySmsResult:
        """Send texts to many recipients at once (``POST /services/sms/send``).

        ``messages`` holds ``LegacySmsMessage`` objects or dicts spelled as in the docs. When
        ``global_id`` is omitted one is generated before the first attempt, so every retry of
        this request names the same sending session instead of the server minting a new one
        per attempt.
        """
        prepared = prepare_legacy_sms(
            LegacySmsRequest(
                messages=list(messages),
                global_id=global_id,
                enable_concatenated=enable_concatenated,
                enable_unicode=enable_unicode,
                enable_delivery=enable_delivery,
                simulation=simulation,
                skip_rcs_override=skip_rcs_override,
            )
        )
        # The globalId set before the first attempt makes a retry name the same session.
        return await self._api.post(
            _LEGACY_SEND_PATH, body=prepared.request, cast=LegacySmsResult, idempotent=True
        )

    async def credit(self) -> Credit:
        """The SMS credit left on the account (``GET /services/sms/credit``)."""
        return await self._api.get(_CREDIT_PATH, cast=Credit)
