"""``client.rcs``: send RCS messages."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from .._resource import Resource, keywords
from ..models import RcsBody, RcsMessage, ScheduledDate, SendResult
from .templates import RcsTemplatesResource

__all__ = ["RcsResource"]


class RcsResource(Resource):
    """RCS: ``send`` and ``templates``."""

    @cached_property
    def templates(self) -> RcsTemplatesResource:
        """RCS templates."""
        return RcsTemplatesResource(self._api)

    async def send(
        self,
        *,
        destination: str,
        agent_id: int,
        body: RcsBody | dict[str, Any] | None = None,
        template_id: int | None = None,
        campaign_id: str | None = None,
        message_id: str | None = None,
        simulation: bool | None = None,
        enable_notification: bool | None = None,
        max_sms_parts: int | None = None,
        placeholders: dict[str, str] | None = None,
        scheduled_date: ScheduledDate | None = None,
    ) -> SendResult:
        """Send one RCS message (``POST /message-server/rcs/send``).

        Give exactly one of ``body`` (an ``RcsTextBody``, ``RcsCardBody``, ``RcsCarouselBody``
        or a dict such as ``{"type": "TEXT", "body": {"text": "..."}}``) and ``template_id``.
        ``max_sms_parts`` turns on SMS fallback. Raises ``ValidationError`` (nothing sent) for a
        message the API would refuse.
        """
        # The keywords are the Struct's fields: built from them, not written out again.
        message = RcsMessage(**keywords(locals()))
        return await self._api.send(message)
