"""``client.messages`` (delivery status, history) and ``client.exports`` (export jobs)."""

from __future__ import annotations

import math

from .._clock import Clock
from .._exceptions import APITimeoutError, ValidationError
from .._pagination import AsyncPaginator
from .._resource import Requester, Resource, path_param
from ..models.enums import Channel, ExportStatus
from ..models.messages import Export, ExportLink, HistoryMessage, MessageStatus

__all__ = ["ExportsResource", "MessagesResource"]

_MESSAGES = "/partner-gateway/v1/messages"
_EXPORTS = "/partner-gateway/v1/exports"


def _channel(value: Channel | str | None) -> str | None:
    if value is None:
        return None
    text = value.value if isinstance(value, Channel) else value
    if not isinstance(text, str) or text.upper() not in Channel.__members__:
        raise ValidationError(
            f"channel must be SMS, RCS or WHATSAPP, got {value!r}", field="channel"
        )
    return text.upper()


class MessagesResource(Resource):
    """Delivery status (polling) and the message history."""

    def batch_status(
        self,
        *,
        batch_id: str | None = None,
        channel: Channel | str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[MessageStatus]:
        """Statuses of many messages (``GET .../messages/status``), page by page."""
        params = {
            "batchId": batch_id,
            "channel": _channel(channel),
            "from": date_from,
            "to": date_to,
        }
        return self._api.paginate(
            f"{_MESSAGES}/status", item=MessageStatus, params=params, page_size=page_size
        )

    async def status(
        self, customer_message_id: str, *, channel: Channel | str = Channel.SMS
    ) -> MessageStatus:
        """One message's status by the id you sent it with (``messageId`` of the send)."""
        return await self._api.get(
            f"{_MESSAGES}/status/{path_param('customerMessageId', customer_message_id)}",
            cast=MessageStatus,
            params={"channel": _channel(channel)},
        )

    async def rcs_status(self, message_id: str) -> MessageStatus:
        """An RCS message's status (``GET /partner-gateway/v1/rcs/messages/{id}``)."""
        return await self._api.get(
            f"/partner-gateway/v1/rcs/messages/{path_param('messageId', message_id)}",
            cast=MessageStatus,
        )

    async def whatsapp_status(self, message_id: str) -> MessageStatus:
        """A WhatsApp message's status: ``SENT`` ... ``UNKNOWN`` (``WhatsAppStatus``)."""
        return await self._api.get(
            f"/partner-gateway/v1/whatsapp/messages/{path_param('messageId', message_id)}",
            cast=MessageStatus,
        )

    def history(
        self,
        *,
        channel: Channel | str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        status: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[HistoryMessage]:
        """The sent messages, page by page (``GET .../messages/history``)."""
        params = {"channel": _channel(channel), "from": date_from, "to": date_to, "status": status}
        return self._api.paginate(
            f"{_MESSAGES}/history", item=HistoryMessage, params=params, page_size=page_size
        )

    async def export_history(
        self,
        *,
        channel: Channel | str | None = None,
        date_from: str | None = None,
        date_to: str | None = None,
        status: str | None = None,
    ) -> Export:
        """Start a CSV export of the history (202); follow it with ``client.exports``.
        Not retried once it may have arrived (a retry could start a second export)."""
        params = {"channel": _channel(channel), "from": date_from, "to": date_to, "status": status}
        return await self._api.post(f"{_MESSAGES}/history/export", params=params, cast=Export)


class ExportsResource(Resource):
    """Export jobs: list, request, follow, download link, regenerate."""

    def __init__(self, api: Requester, clock: Clock) -> None:
        super().__init__(api)
        self._clock = clock

    def list(self, *, page_size: int | None = None) -> AsyncPaginator[Export]:
        """Every export job, page by page."""
        return self._api.paginate(_EXPORTS, item=Export, page_size=page_size)

    async def export_contacts(self) -> Export:
        """Start an export of the contacts (an async job)."""
        return await self._api.post(f"{_EXPORTS}/contacts", cast=Export)

    async def export_delivery_reports(
        self, *, date_from: str | None = None, date_to: str | None = None
    ) -> Export:
        """Start an export of delivery reports (an async job)."""
        params = {"from": date_from, "to": date_to}
        return await self._api.post(f"{_EXPORTS}/delivery-reports", params=params, cast=Export)

    async def get(self, export_id: int | str) -> ExportLink:
        """The download link of a finished export (``GET .../exports/{id}``)."""
        return await self._api.get(
            f"{_EXPORTS}/{path_param('exportId', export_id)}", cast=ExportLink
        )

    async def regenerate(self, export_id: int | str) -> ExportLink:
        """A new link for an export whose link expired (``POST .../exports/{id}``)."""
        return await self._api.post(
            f"{_EXPORTS}/{path_param('exportId', export_id)}", cast=ExportLink, idempotent=True
        )

    async def wait(
        self,
        export_id: int | str,
        *,
        timeout: float = 600.0,
        poll_interval: float = 2.0,
        max_poll_interval: float = 30.0,
    ) -> ExportLink:
        """Poll the export list until ``export_id`` is available for download, then return
        its link (regenerated if it expired). Polls every ``poll_interval`` seconds, doubling
        up to ``max_poll_interval``; past ``timeout`` raises ``APITimeoutError``."""
        for name, value in (
            ("timeout", timeout),
            ("poll_interval", poll_interval),
            ("max_poll_interval", max_poll_interval),
        ):
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValidationError(f"{name} must be a number > 0, got {value!r}", field=name)
        path_param("exportId", export_id)  # checked now, not after a timeout's worth of polls
        wanted = str(export_id)
        deadline = self._clock.now() + timeout
        interval = poll_interval
        while True:
            found = False
            # Page by page, minding the deadline: a list that never ends must not hold us.
            async for page in self.list().pages():
                for job in page.items:
                    if str(job.id) != wanted:
                        continue
                    if job.status == ExportStatus.EXPIRED:
                        return await self.regenerate(export_id)
                    if job.is_available_for_download or job.status == ExportStatus.COMPLETED:
                        return await self.get(export_id)
                    found = True
                    break
                if found or self._clock.now() >= deadline:
                    break
            left = deadline - self._clock.now()
            if left <= 0:
                raise APITimeoutError(
                    f"export {wanted} was not ready for download within {timeout:g}s"
                )
            await self._clock.sleep(min(interval, left))
            interval = min(max_poll_interval, interval * 2)
