"""Two-way messaging (``/partner-gateway/v1/inbox``) and the media library (``.../media``)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from ._base import InputModel, Model, PositiveInt

__all__ = ["Conversation", "InboxMessage", "Media", "Reply", "ReplyAccepted"]


class Conversation(Model, kw_only=True):
    """A conversation (chat) with one contact on one channel."""

    id: int | str | None = None
    chat_id: int | str | None = None
    channel: str | None = None
    channel_id: int | str | None = None
    contact: Any = None
    last_message_date: str | None = None
    unread_count: int | None = None
    archived: bool | None = None


class InboxMessage(Model, kw_only=True):
    """One message of a conversation, inbound or outbound."""

    id: int | str | None = None
    direction: str | None = None
    text: str | None = None
    message_type: str | None = None
    media_key: str | None = None
    sent_date: str | None = None
    received_date: str | None = None


class Reply(InputModel, kw_only=True, omit_defaults=True):
    """The body of a reply (``POST .../conversations/reply``): on the conversation's channel."""

    chat_id: Annotated[str, msgspec.Meta(min_length=1)] | PositiveInt
    text: Annotated[str, msgspec.Meta(min_length=1)] | None = None
    media_key: Annotated[str, msgspec.Meta(min_length=1)] | None = None


class ReplyAccepted(Model, kw_only=True):
    """The 202 answer to a reply (queued; its fate arrives by webhook)."""

    id: int | str | None = None
    status: str | None = None
    message_id: str | None = None


class Media(Model, kw_only=True):
    """An item of the media library."""

    id: int | str | None = None
    name: str | None = None
    description: str | None = None
    folder_id: int | None = None
    media_key: str | None = None
    url: str | None = None
    mime_type: str | None = None
    size: int | None = None
    creation_date: str | None = None
