"""``client.inbox`` (two-way conversations) and ``client.media`` (the media library)."""

from __future__ import annotations

from collections.abc import Iterable

from .._exceptions import ValidationError
from .._pagination import AsyncPaginator
from .._resource import Resource, as_list, path_param
from .._uploads import FileInput, Upload
from ..models import checked
from ..models.inbox import Conversation, InboxMessage, Media, Reply, ReplyAccepted

__all__ = ["InboxResource", "MediaResource"]

_INBOX = "/partner-gateway/v1/inbox/conversations"
_MEDIA = "/partner-gateway/v1/media"
_MEDIA_TYPES = ("image/jpeg", "image/png", "image/gif", "video/mp4")


class InboxResource(Resource):
    """Conversations: list, messages, reply, mark read, archive, unarchive."""

    def conversations(
        self,
        *,
        channel_ids: Iterable[int | str] | None = None,
        date_from: str | None = None,
        order_by: str | None = None,
        unread_only: bool | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[Conversation]:
        """Conversations, page by page. ``channel_ids`` is sent comma-separated; ``order_by``
        takes a field with a ``+``/``-`` prefix, e.g. ``"-lastMessageDate"``."""
        params = {
            "channelIds": as_list("channel_ids", channel_ids),
            "dateFrom": date_from,
            "orderBy": order_by,
            "unreadOnly": unread_only,
        }
        return self._api.paginate(_INBOX, item=Conversation, params=params, page_size=page_size)

    def messages(
        self,
        chat_id: int | str,
        *,
        id_from: int | None = None,
        id_to: int | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[InboxMessage]:
        """A conversation's messages (``idFrom``/``idTo`` bound their ids)."""
        for name, value in (("id_from", id_from), ("id_to", id_to)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise ValidationError(f"{name} must be an int", field=name)
        path = f"{_INBOX}/{path_param('chatId', chat_id)}/messages"
        params = {"idFrom": id_from, "idTo": id_to}
        return self._api.paginate(path, item=InboxMessage, params=params, page_size=page_size)

    async def reply(
        self, chat_id: int | str, *, text: str | None = None, media_key: str | None = None
    ) -> ReplyAccepted:
        """Reply on the conversation's channel (accepted asynchronously: 202). Give ``text``,
        ``media_key`` (from an inbound message or the media library), or both. Not retried
        once it may have arrived (a retry could send the reply twice)."""
        if text is None and media_key is None:
            raise ValidationError("a reply needs text or media_key", field="text")
        body = checked(Reply(chat_id=chat_id, text=text, media_key=media_key))
        return await self._api.post(f"{_INBOX}/reply", body=body, cast=ReplyAccepted)

    async def mark_read(self, chat_id: int | str) -> None:
        """Reset the conversation's unread counter (204)."""
        await self._api.patch(f"{_INBOX}/{path_param('chatId', chat_id)}/read", cast=type(None))

    async def archive(self, chat_id: int | str) -> None:
        """Archive the conversation (no message is deleted; 204)."""
        await self._api.patch(f"{_INBOX}/{path_param('chatId', chat_id)}/archive", cast=type(None))

    async def unarchive(self, chat_id: int | str) -> None:
        """Bring an archived conversation back (204)."""
        await self._api.patch(
            f"{_INBOX}/{path_param('chatId', chat_id)}/unarchive", cast=type(None)
        )


class MediaResource(Resource):
    """The media library: upload, list, get, delete."""

    async def upload(
        self,
        file: FileInput,
        *,
        name: str | None = None,
        description: str | None = None,
        folder_id: int | None = None,
        filename: str | None = None,
    ) -> Media:
        """Upload a JPEG, PNG, GIF or MP4 (multipart; the type is read from the content, so a
        misnamed file is caught before it is sent). Not retried once it may have arrived."""
        if folder_id is not None and (
            isinstance(folder_id, bool) or not isinstance(folder_id, int)
        ):
            raise ValidationError("folder_id must be an int", field="folderId")
        for field, value in (("name", name), ("description", description)):
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{field} must be a string", field=field)
        upload = Upload(file, allowed=_MEDIA_TYPES, filename=filename)
        data = {"name": name, "description": description, "folderId": folder_id}
        return await self._api.upload(_MEDIA, upload, cast=Media, data=data)

    def list(self, *, page_size: int | None = None) -> AsyncPaginator[Media]:
        """The library, page by page."""
        return self._api.paginate(_MEDIA, item=Media, page_size=page_size)

    async def get(self, id: int | str) -> Media:
        """One item."""
        return await self._api.get(f"{_MEDIA}/{path_param('id', id)}", cast=Media)

    async def delete(self, id: int | str) -> None:
        """Delete an item (204)."""
        await self._api.delete(f"{_MEDIA}/{path_param('id', id)}")
