"""Delivery status, history and exports (``/partner-gateway/v1/messages``, ``.../exports``)."""

from __future__ import annotations

from ._base import Model

__all__ = ["Export", "ExportLink", "HistoryMessage", "MessageStatus"]


class MessageStatus(Model, kw_only=True):
    """A message's delivery state, from any of the status endpoints. ``delivery_status`` is
    the API's word (``DELIVERED``, a ``WhatsAppStatus`` ...); ``status_code`` the SMS/RCS code
    (``DeliveryStatusCode``: 3 delivered, 6 not delivered) when given."""

    message_id: str | None = None
    customer_message_id: str | None = None
    channel: str | None = None
    delivery_status: str | None = None
    status: str | None = None
    status_code: int | None = None
    description: str | None = None
    destination: str | None = None
    event_date: str | None = None

    @property
    def state(self) -> str | None:
        """``delivery_status``, or ``status`` when the endpoint names it so."""
        return self.delivery_status or self.status


class HistoryMessage(Model, kw_only=True):
    """One sent message in the history (fields not named here are ignored)."""

    id: int | str | None = None
    message_id: str | None = None
    channel: str | None = None
    destination: str | None = None
    status: str | None = None
    sent_date: str | None = None
    campaign_id: str | int | None = None


class Export(Model, kw_only=True):
    """An export job (contacts, delivery reports, message history)."""

    id: int | str | None = None
    type: str | None = None
    status: str | None = None
    """``ExportStatus``: ``PENDING``, ``COMPLETED``, ``EXPIRED``."""
    is_available_for_download: bool | None = None
    creation_date: str | None = None
    expiration_date: str | None = None


class ExportLink(Model, kw_only=True):
    """The download link of a finished export."""

    id: int | str | None = None
    url: str | None = None
    download_url: str | None = None
    expiration_date: str | None = None

    @property
    def link(self) -> str | None:
        """The URL, whichever name the API gave it."""
        return self.download_url or self.url
