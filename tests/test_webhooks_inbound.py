"""From an INBOUND callback to a reply through the inbox, and from its ``mediaKey`` to a download
URL: in process and over real HTTP against the simulator, which delivers the callback too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from qlara_async import AsyncQlara, ManualClock, ValidationError
from qlara_async.testing import Simulator, run_in_thread
from qlara_async.webhooks import (
    InboundEvent,
    WebhookEvent,
    WebhookReceiver,
    find_conversation,
    media_url,
    parse_event,
    reply_to,
)

from .test_webhooks_events import SMS_DELIVERY, WA_INBOUND_MEDIA


@asynccontextmanager
async def client_for(sim: Simulator, mode: str) -> AsyncIterator[AsyncQlara]:
    if mode == "asgi":
        http = httpx.AsyncClient(
            transport=httpx.ASGITransport(sim), base_url="http://127.0.0.1/api"
        )
        async with (
            http,
            AsyncQlara("test-key", base_url="http://127.0.0.1/api", http_client=http) as c,
        ):
            yield c
    else:
        with run_in_thread(sim) as url:
            async with AsyncQlara("test-key", base_url=url) as c:
                yield c


@pytest.mark.parametrize("mode", ["asgi", "http"])
@pytest.mark.anyio
async def test_inbound_callback_to_reply_and_media(mode: str) -> None:
    clock = ManualClock()
    sim = Simulator(clock=clock, callbacks=True)
    events: list[WebhookEvent] = []
    receiver = WebhookReceiver(events.append)
    async with client_for(sim, mode) as client:
        await client.webhooks.configure("http://127.0.0.1/hooks")
        sim.callbacks.inbound("+393471488489", text="Vorrei informazioni")
        sim.callbacks.inbound("+393471488489", media_key="b394ab72/efd4987c/39b4879f")
        sim.seed("conversations", 3)  # other customers' chats around it
        async with httpx.AsyncClient(transport=httpx.ASGITransport(receiver)) as hook:
            assert await sim.callbacks.pump(hook) == 2
        text = next(e for e in events if isinstance(e, InboundEvent) and e.text)
        media = next(e for e in events if isinstance(e, InboundEvent) and e.media_key)

        accepted = await reply_to(client, text, text="Certo, ecco i dettagli")
        assert accepted.status == "ACCEPTED"
        chat = await find_conversation(client, text)
        assert chat is not None and chat.contact["phone"] == "+393471488489"
        replies = [m async for m in client.inbox.messages(chat.chat_id or chat.id)]  # type: ignore[arg-type]
        assert [m.direction for m in replies] == ["INBOUND", "INBOUND", "OUTBOUND"]
        assert replies[-1].text == "Certo, ecco i dettagli"

        url = await media_url(client, media, expire_minutes=30)
        assert "b394ab72/efd4987c/39b4879f" in url


@pytest.mark.anyio
async def test_inbound_helpers_refuse_what_they_cannot_act_on() -> None:
    sim = Simulator()
    async with client_for(sim, "asgi") as client:
        stranger = parse_event(WA_INBOUND_MEDIA)
        assert isinstance(stranger, InboundEvent)
        with pytest.raises(ValidationError) as info:
            await reply_to(client, stranger, text="hi")
        assert info.value.field == "source"
        delivery = parse_event(SMS_DELIVERY)
        with pytest.raises(ValidationError):
            await media_url(client, delivery)  # type: ignore[arg-type]
        text_only = parse_event(WA_INBOUND_MEDIA.replace(b'"mediaKey"', b'"text"'))
        assert isinstance(text_only, InboundEvent)
        with pytest.raises(ValidationError) as info:
            await media_url(client, text_only)
        assert info.value.field == "mediaKey"
