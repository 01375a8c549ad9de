"""``client.inbox`` and ``client.media``: paths, parameters, the reply body, uploads."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qlara_async import APIConnectionError, ValidationError

from ._fakes import make_client, recording_handler

pytestmark = pytest.mark.anyio

GW = "/api/partner-gateway/v1"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(100)


async def test_conversations_and_messages() -> None:
    """The documented filters, spelled as the docs spell them."""
    handler, seen = recording_handler(
        {"data": [{"id": 1, "unreadCount": 2}], "pagination": {"total": 1}}
    )
    client, _, _ = make_client(handler)
    async with client:
        convs = [
            c
            async for c in client.inbox.conversations(
                channel_ids=[3, 4], order_by="-lastMessageDate", unread_only=True
            )
        ]
        msgs = [m async for m in client.inbox.messages("c-1", id_from=10, id_to=20)]
    assert convs[0].unread_count == 2 and msgs[0].id == 1
    assert seen[0][1] == f"{GW}/inbox/conversations"
    assert seen[0][3] == {
        "channelIds": "3,4",
        "orderBy": "-lastMessageDate",
        "unreadOnly": "true",
        "offset": "0",
        "limit": "100",
    }
    assert seen[1][1] == f"{GW}/inbox/conversations/c-1/messages"
    assert seen[1][3]["idFrom"] == "10" and seen[1][3]["idTo"] == "20"


async def test_reply_and_flags() -> None:
    """Reply is a POST answered 202; read/archive/unarchive are PATCHes answered 204."""
    handler, seen = recording_handler({"status": "QUEUED"}, 202)
    client, _, _ = make_client(handler)
    async with client:
        accepted = await client.inbox.reply("c-1", text="Grazie!")
    handler2, seen2 = recording_handler()
    client2, _, _ = make_client(handler2)
    async with client2:
        await client2.inbox.mark_read("c-1")
        await client2.inbox.archive("c-1")
        await client2.inbox.unarchive("c-1")
    assert accepted.status == "QUEUED"
    assert seen[0][:3] == (
        "POST",
        f"{GW}/inbox/conversations/reply",
        {"chatId": "c-1", "text": "Grazie!"},
    )
    assert [(m, p.rsplit("/", 1)[1]) for m, p, _, _ in seen2] == [
        ("PATCH", "read"),
        ("PATCH", "archive"),
        ("PATCH", "unarchive"),
    ]


async def test_a_reply_is_not_sent_twice() -> None:
    """A reply whose answer was lost raises ambiguous instead of replying again."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("lost")

    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(APIConnectionError) as info:
            await client.inbox.reply("c-1", text="hi")
    assert len(calls) == 1 and info.value.ambiguous


async def test_media_upload_fields_and_type() -> None:
    """Multipart with ``file``, ``name``, ``description``, ``folderId``; PNG by its bytes."""
    handler, seen = recording_handler({"id": 9, "mediaKey": "k/1"}, 201)
    client, _, _ = make_client(handler)
    async with client:
        media = await client.media.upload(
            PNG, name="logo", description="d", folder_id=2, filename="logo.jpg"
        )
        with pytest.raises(ValidationError):
            await client.media.upload(b"%PDF-1.4 not a picture", name="doc")
    body = seen[0][2]
    assert media.id == 9 and seen[0][1] == f"{GW}/media" and len(seen) == 1
    for part in (b'name="name"', b"logo", b'name="folderId"', b"Content-Type: image/png"):
        assert part in body


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.inbox.reply("c-1"), "text"),
        (lambda c: c.inbox.reply("", text="x"), "chatId"),
        (lambda c: c.media.upload(PNG, folder_id="2"), "folderId"),
    ],
)
async def test_bad_input_before_any_request(call: Any, field: str) -> None:
    """Each checked before anything leaves."""
    handler, seen = recording_handler({})
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(ValidationError) as info:
            await call(client)
    assert info.value.field == field and seen == []
