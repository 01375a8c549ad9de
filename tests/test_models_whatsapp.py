"""WhatsApp models, phone numbers and media download URLs."""

from __future__ import annotations

import json
from typing import Any

import httpx
import msgspec
import pytest

from qlara_async.models import (
    FallbackRcs,
    FallbackSms,
    RcsCard,
    RcsText,
    WhatsAppAudio,
    WhatsAppBody,
    WhatsAppDocument,
    WhatsAppImage,
    WhatsAppLocation,
    WhatsAppMessage,
    WhatsAppReaction,
    WhatsAppSticker,
    WhatsAppText,
    WhatsAppVideo,
    decode_download_url,
    decode_phone_number,
    prepare_message,
    validate_message,
)

BASE: dict[str, Any] = {"destination": "+393401234567", "phone_number_id": 5}

BODY_KINDS: list[Any] = [
    pytest.param({"text": {"body": "hi"}}, WhatsAppText, id="text"),
    pytest.param({"image": {"url": "u", "caption": "c"}}, WhatsAppImage, id="image"),
    pytest.param({"video": {"key": "k", "caption": "c"}}, WhatsAppVideo, id="video"),
    pytest.param({"audio": {"url": "u"}}, WhatsAppAudio, id="audio"),
    pytest.param({"document": {"key": "k", "filename": "f.pdf"}}, WhatsAppDocument, id="document"),
    pytest.param({"sticker": {"url": "u.webp"}}, WhatsAppSticker, id="sticker"),
    pytest.param(
        {"location": {"latitude": "1", "longitude": "2"}}, WhatsAppLocation, id="location"
    ),
    pytest.param({"reaction": {"messageId": "m", "emoji": "x"}}, WhatsAppReaction, id="reaction"),
]


@pytest.mark.parametrize(("body", "cls"), BODY_KINDS)
def test_body_kind_dict_becomes_struct(body: dict[str, Any], cls: type):
    """Each free-form kind given as a dict is converted to its Struct and encodes unchanged."""
    normalised = validate_message(WhatsAppMessage(**BASE, body=body))
    assert isinstance(normalised, WhatsAppMessage)
    assert isinstance(normalised.body, WhatsAppBody)
    (kind,) = body
    assert isinstance(getattr(normalised.body, kind), cls)
    assert json.loads(prepare_message(normalised).content)["body"] == body


def test_reply_message_id_goes_with_any_kind():
    """``replyMessageId`` sits next to the content kind."""
    body = WhatsAppBody(text=WhatsAppText(body="ok"), reply_message_id="wamid.1")
    wire = json.loads(prepare_message(WhatsAppMessage(**BASE, body=body)).content)
    assert wire["body"] == {"text": {"body": "ok"}, "replyMessageId": "wamid.1"}


@pytest.mark.parametrize(
    ("fallback", "content_cls", "wire"),
    [
        pytest.param(
            {"agentId": 1, "type": "TEXT", "body": {"text": "hi"}},
            RcsText,
            {"agentId": 1, "type": "TEXT", "body": {"text": "hi"}},
            id="dict-text",
        ),
        pytest.param(
            FallbackRcs(agent_id=1, type="CARD", body=RcsCard(title="t")),
            RcsCard,
            {"agentId": 1, "type": "CARD", "body": {"title": "t"}},
            id="struct-card",
        ),
        pytest.param(
            FallbackRcs(agent_id=1, type="CARD", body={"mediaUrl": "m"}),
            RcsCard,
            {"agentId": 1, "type": "CARD", "body": {"mediaUrl": "m"}},
            id="struct-with-dict-body",
        ),
    ],
)
def test_fallback_rcs_inline_body(fallback: Any, content_cls: type, wire: dict[str, Any]):
    """An inline fallbackRcs body is converted to the content Struct its ``type`` names."""
    message = WhatsAppMessage(
        **BASE,
        template={"id": 1},
        fallback_rcs=fallback,
        fallback_sms=FallbackSms(sender="MyBrand", text="t"),
    )
    prepared = prepare_message(message)
    assert isinstance(prepared.message, WhatsAppMessage)
    assert isinstance(prepared.message.fallback_rcs, FallbackRcs)
    assert isinstance(prepared.message.fallback_rcs.body, content_cls)
    assert json.loads(prepared.content)["fallbackRcs"] == wire


def test_tracked_link_is_a_placeholder():
    """Tracked links are sent as ordinary placeholders (``shortLinkT1``)."""
    message = WhatsAppMessage(
        **BASE, template={"id": 1}, placeholders={"shortLinkT1": "https://example.com/l"}
    )
    wire = json.loads(prepare_message(message).content)
    assert wire["placeholders"] == {"shortLinkT1": "https://example.com/l"}


NUMBER = {"id": 5, "phoneNumber": "+393209998877", "displayName": "My Business"}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(NUMBER, id="bare-object"),
        pytest.param({"data": NUMBER}, id="data-object"),
        pytest.param({"data": [NUMBER]}, id="data-one-element-array"),
    ],
)
def test_decode_phone_number_shapes(body: Any):
    """The single-number response decodes bare or inside ``data``."""
    number = decode_phone_number(json.dumps(body).encode())
    assert (number.id, number.display_name, number.onboarding_scope) == (5, "My Business", None)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({"data": []}, id="empty-array"),
        pytest.param({"data": [NUMBER, NUMBER]}, id="two-numbers"),
        pytest.param({"displayName": "x"}, id="no-id"),
    ],
)
def test_decode_phone_number_rejects_other_shapes(body: Any):
    """A body that holds no single number is a decoding error."""
    with pytest.raises(msgspec.ValidationError):
        decode_phone_number(json.dumps(body).encode())


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"url": "https://cdn.test/f?sig=1", "expiresAt": "x"}', id="json-object"),
        pytest.param(b'"https://cdn.test/f?sig=1"', id="json-string"),
        pytest.param(b"https://cdn.test/f?sig=1\n", id="plain-text"),
    ],
)
def test_decode_download_url_shapes(body: bytes):
    """The undocumented download response is read as an object, a JSON string or plain text."""
    assert decode_download_url(body) == "https://cdn.test/f?sig=1"


def test_decode_download_url_rejects_binary():
    """A body that is not text is a decoding error, not a UnicodeDecodeError."""
    with pytest.raises(msgspec.DecodeError):
        decode_download_url(b"\xff\xfe")


class _Answer:
    def __init__(self, response: httpx.Response) -> None:
        self.response = response
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.raw_path.decode())
        return self.response


async def _run(response: httpx.Response, call: Any) -> tuple[Any, list[str]]:
    from qlara_async import AsyncQlara

    answer = _Answer(response)
    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with (
        http,
        AsyncQlara(
            api_key="k", base_url="https://api.test/api", http_client=http, rate_limit=None
        ) as client,
    ):
        return await call(client), answer.paths


@pytest.mark.anyio
async def test_phone_numbers_list_empty_answer():
    """An empty list answer iterates over nothing."""

    async def call(client: Any) -> Any:
        return [n async for n in client.whatsapp.phone_numbers.list()]

    numbers, _ = await _run(httpx.Response(204), call)
    assert numbers == []


@pytest.mark.anyio
async def test_phone_number_get_empty_answer_is_an_error():
    """A number lookup answered with no body raises instead of returning None."""
    from qlara_async._transport import APIResponseValidationError

    async def call(client: Any) -> Any:
        return await client.whatsapp.phone_numbers.get(5)

    with pytest.raises(APIResponseValidationError):
        await _run(httpx.Response(204), call)


@pytest.mark.anyio
async def test_download_url_quotes_the_key_but_keeps_slashes():
    """Characters unsafe in a path are quoted; the key's ``/`` separators are not."""

    async def call(client: Any) -> Any:
        return await client.files.download_url("a b/c?d")

    url, paths = await _run(httpx.Response(200, content=b'"https://cdn.test/x"'), call)
    assert url == "https://cdn.test/x"
    assert paths == ["/api/files/a%20b/c%3Fd?expireMinutes=180"]


def test_phone_numbers_is_cached():
    """``client.whatsapp.phone_numbers`` is one object per client."""
    from qlara_async import AsyncQlara

    client = AsyncQlara(api_key="k", base_url="https://api.test/api", rate_limit=None)
    assert client.whatsapp.phone_numbers is client.whatsapp.phone_numbers
