"""Acting on an INBOUND event: reply through the inbox, fetch its media.

The callback names the customer (``source``) and the channel, not the inbox conversation, so
:func:`find_conversation` looks the conversation up (most recent first) by contact phone and
channel; :func:`reply_to` answers on it with ``client.inbox.reply``; :func:`media_url` turns the
event's ``mediaKey`` into a pre-signed URL with ``client.files.download_url``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._exceptions import APIResponseValidationError, ValidationError
from ..models.inbox import Conversation, ReplyAccepted
from ._events import InboundEvent

if TYPE_CHECKING:
    from .._client import AsyncQlara

__all__ = ["find_conversation", "media_url", "reply_to"]


def _inbound(event: object) -> InboundEvent:
    if not isinstance(event, InboundEvent):
        raise ValidationError(
            f"event must be an InboundEvent, got {type(event).__name__}", field="event"
        )
    return event


def _phone(contact: Any) -> str | None:
    if isinstance(contact, dict):
        phone = contact.get("phone")
        return phone if isinstance(phone, str) else None
    return None


async def find_conversation(
    client: AsyncQlara, event: InboundEvent, *, max_pages: int = 20
) -> Conversation | None:
    """The inbox conversation ``event`` belongs to (same channel, contact phone == its
    ``source``), most recently active first; ``None`` if there is none."""
    event = _inbound(event)
    if event.source is None:
        raise ValidationError("the inbound event has no source", field="source")
    pages = client.inbox.conversations(order_by="-lastMessageDate")
    seen = 0
    async for conversation in pages:
        seen += 1
        if conversation.channel == event.channel.value and _phone(conversation.contact) == (
            event.source
        ):
            return conversation
        if seen >= max_pages * 100:
            break
    return None


async def reply_to(
    client: AsyncQlara,
    event: InboundEvent,
    *,
    text: str | None = None,
    media_key: str | None = None,
) -> ReplyAccepted:
    """Answer an inbound message in its conversation (``client.inbox.reply``).

    Raises :class:`~qlara_async.ValidationError` naming ``source`` when no conversation with the
    sender exists on the event's channel.
    """
    conversation = await find_conversation(client, event)
    if conversation is None:
        raise ValidationError(
            f"no {event.channel.value} inbox conversation with the event's sender",
            field="source",
        )
    chat_id = conversation.chat_id if conversation.chat_id is not None else conversation.id
    if chat_id is None:
        # The server listed the conversation without an id to reply to.
        raise APIResponseValidationError(
            f"the {event.channel.value} inbox conversation with the event's sender has no"
            " id or chatId to reply to"
        )
    return await client.inbox.reply(chat_id, text=text, media_key=media_key)


async def media_url(client: AsyncQlara, event: InboundEvent, *, expire_minutes: int = 180) -> str:
    """A pre-signed download URL for the media of an inbound ``IMAGE``/``AUDIO``/``VIDEO``
    message; raises :class:`~qlara_async.ValidationError` naming ``mediaKey`` when it has none."""
    event = _inbound(event)
    if not event.media_key:
        raise ValidationError("the inbound event carries no mediaKey", field="mediaKey")
    return await client.files.download_url(event.media_key, expire_minutes=expire_minutes)
