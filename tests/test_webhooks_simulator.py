"""The simulator's callbacks (``qlara_async.testing._callbacks``), on a manual clock: the docs'
payloads, their timing, the webhook URL with its token, duplicates, reordering, lost attempts
and retries. The receiver is reached in process (``pump(http)`` with an ASGI transport) and
over real HTTP on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from qlara_async import ManualClock
from qlara_async.testing import CallbackOptions, Simulator, run_in_thread
from qlara_async.webhooks import (
    DeliveryEvent,
    DeliveryStatusCode,
    InboundEvent,
    ReadEvent,
    WebhookEvent,
    WebhookReceiver,
)

KEY = {"X-Api-Key": "test-key"}
TOKEN = "tok-123"


class Hooks:
    """A receiver that records what reached its handler, and can refuse the first N calls."""

    def __init__(self, fail_first: int = 0) -> None:
        self.events: list[WebhookEvent] = []
        self.fail_first = fail_first
        self.app = WebhookReceiver(self.handle, token=TOKEN)

    def handle(self, event: WebhookEvent) -> None:
        if self.fail_first > 0:
            self.fail_first -= 1
            raise RuntimeError("not now")
        self.events.append(event)


@asynccontextmanager
async def api(sim: Simulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sim), base_url="http://sim/api", headers=KEY
    ) as http:
        yield http


def hook_client(hooks: Hooks) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(hooks.app))


async def configure(http: httpx.AsyncClient, url: str = "http://127.0.0.1/hook") -> None:
    r = await http.post(
        "/partner-gateway/v1/webhooks/delivery-status", json={"callbackUrl": f"{url}?token={TOKEN}"}
    )
    assert r.status_code == 201, r.text


async def send(
    http: httpx.AsyncClient, channel: str, mid: str, dest: str = "+393401234567"
) -> None:
    bodies: dict[str, dict[str, Any]] = {
        "sms": {"destination": dest, "sender": "Brand", "body": "Ciao"},
        "rcs": {
            "destination": dest,
            "agentId": 10,
            "body": {"type": "TEXT", "body": {"text": "Ciao"}},
        },
        "whatsapp": {"destination": dest, "phoneNumberId": 5, "body": {"text": {"body": "Ciao"}}},
    }
    r = await http.post(
        f"/message-server/{channel}/send", json={**bodies[channel], "messageId": mid}
    )
    assert r.status_code == 200, r.text


@pytest.mark.anyio
async def test_delivery_then_read_after_their_delays() -> None:
    clock = ManualClock()
    sim = Simulator(clock=clock, callbacks=CallbackOptions(delay=2.0, read_after=3.0))
    hooks = Hooks()
    async with api(sim) as http, hook_client(hooks) as hook:
        await configure(http)
        await send(http, "sms", "m-sms")
        await send(http, "rcs", "m-rcs", dest="+393400000001")
        await send(http, "whatsapp", "m-wa")
        assert await sim.callbacks.pump(hook) == 0  # nothing is due yet
        clock.advance(2.0)
        assert await sim.callbacks.pump(hook) == 3
        clock.advance(3.0)
        assert await sim.callbacks.pump(hook) == 2
    kinds = [(type(e).__name__, e.channel.value, e.message_id) for e in hooks.events]  # type: ignore[union-attr]
    # Callbacks due together go out concurrently: the platform promises no order either.
    assert sorted(kinds[:3]) == [
        ("DeliveryEvent", "RCS", "m-rcs"),
        ("DeliveryEvent", "SMS", "m-sms"),
        ("DeliveryEvent", "WHATSAPP", "m-wa"),
    ]
    assert sorted(kinds[3:]) == [("ReadEvent", "RCS", "m-rcs"), ("ReadEvent", "WHATSAPP", "m-wa")]
    by_id = {e.message_id: e for e in hooks.events[:3]}
    sms, rcs = by_id["m-sms"], by_id["m-rcs"]
    assert isinstance(sms, DeliveryEvent) and sms.price == 0.035 and sms.total_parts == 1
    assert sms.timestamp is not None and sms.timestamp.timestamp() == clock.wall() - 3.0
    assert isinstance(rcs, DeliveryEvent) and rcs.destination == "+393400000001"
    assert rcs.status_code is DeliveryStatusCode.DELIVERED
    assert isinstance(hooks.events[3], ReadEvent)
    assert sim.callbacks.delivered == 5 and sim.callbacks.stats.by_type == {
        "DELIVERY": 3,
        "READ": 2,
    }


@pytest.mark.anyio
async def test_undelivered_destinations_and_no_read() -> None:
    clock = ManualClock()
    options = CallbackOptions(delay=0.0, undelivered=["+393409999999"])
    sim = Simulator(clock=clock, callbacks=options)
    hooks = Hooks()
    async with api(sim) as http, hook_client(hooks) as hook:
        await configure(http)
        await send(http, "rcs", "m1", dest="+393409999999")
        clock.advance(10)
        await sim.callbacks.pump(hook)
    [event] = hooks.events
    assert isinstance(event, DeliveryEvent)
    assert event.status_code is DeliveryStatusCode.NOT_DELIVERED
    assert event.description == "undeliverable"


@pytest.mark.anyio
async def test_disabled_by_default_and_dropped_without_a_webhook() -> None:
    plain = Simulator()
    assert not plain.callbacks.enabled
    async with api(plain) as http:
        await send(http, "sms", "x")
    assert plain.callbacks.pending == 0

    clock = ManualClock()
    sim = Simulator(clock=clock, callbacks=True)
    hooks = Hooks()
    async with api(sim) as http, hook_client(hooks) as hook:
        await send(http, "sms", "x")
        clock.advance(5)
        assert await sim.callbacks.pump(hook) == 0
    assert sim.callbacks.stats.no_webhook == 1 and hooks.events == []


@pytest.mark.anyio
async def test_refused_and_lost_attempts_are_retried_with_backoff_then_given_up() -> None:
    clock = ManualClock()
    sim = Simulator(
        clock=clock, callbacks=CallbackOptions(delay=0, retry_delay=1.0, max_attempts=3)
    )
    hooks = Hooks(fail_first=2)  # the handler fails twice: 503, 503, then 200
    async with api(sim) as http, hook_client(hooks) as hook:
        await configure(http)
        await send(http, "sms", "m1")
        assert await sim.callbacks.pump(hook) == 0
        assert sim.callbacks.next_due() == clock.now() + 1.0
        clock.advance(1.0)
        assert await sim.callbacks.pump(hook) == 0
        assert sim.callbacks.next_due() == clock.now() + 2.0  # doubled
        clock.advance(2.0)
        assert await sim.callbacks.pump(hook) == 1
    assert len(hooks.events) == 1 and sim.callbacks.stats.failed_attempts == 2

    lossy = Simulator(
        clock=clock, callbacks=CallbackOptions(delay=0, failure_rate=1.0, max_attempts=2)
    )
    hooks2 = Hooks()
    async with api(lossy) as http, hook_client(hooks2) as hook:
        await configure(http)
        await send(http, "sms", "m1")
        await lossy.callbacks.pump(hook)
        clock.advance(100)
        await lossy.callbacks.pump(hook)
    assert lossy.callbacks.stats.given_up == 1 and hooks2.events == []
    assert lossy.callbacks.pending == 0


@pytest.mark.anyio
async def test_duplicates_and_reordering_over_real_http() -> None:
    clock = ManualClock()
    options = CallbackOptions(delay=0, read_after=0, duplicate_rate=1.0, reorder=True, seed=3)
    sim = Simulator(clock=clock, callbacks=options)
    hooks = Hooks()
    with run_in_thread(hooks.app, base_path="") as hook_url:
        async with api(sim) as http:
            await configure(http, hook_url + "/hook")
            for i in range(20):
                await send(http, "whatsapp", f"m{i}")
            delivered = await sim.callbacks.pump()
    assert delivered == 40
    assert sim.callbacks.stats.duplicates == 40
    assert hooks.app.stats.duplicates == 40  # every duplicate POST was recognised
    assert len(hooks.events) == 40
    order = [(type(e).__name__, e.message_id) for e in hooks.events]
    # Reordered: some READ reached the receiver before its own DELIVERY.
    assert any(
        order.index(("ReadEvent", f"m{i}")) < order.index(("DeliveryEvent", f"m{i}"))
        for i in range(20)
    )


@pytest.mark.anyio
async def test_inbound_callbacks_and_the_inbox() -> None:
    clock = ManualClock()
    sim = Simulator(clock=clock, callbacks=True)
    hooks = Hooks()
    async with api(sim) as http, hook_client(hooks) as hook:
        await configure(http)
        sim.callbacks.inbound("+393471488489", text="Ciao!", message_id="wamid.1")
        sim.callbacks.inbound("+393471488489", media_key="b394ab72/efd4987c/39b4")
        sim.callbacks.inbound("+393470000000", channel="RCS", text="Hi")
        assert await sim.callbacks.pump(hook) == 3
        chats = (await http.get("/partner-gateway/v1/inbox/conversations")).json()["data"]
    by_kind = {(e.channel.value, e.media_key is None): e for e in hooks.events}  # type: ignore[union-attr]
    text, media, rcs = by_kind["WHATSAPP", True], by_kind["WHATSAPP", False], by_kind["RCS", True]
    assert isinstance(text, InboundEvent) and text.text == "Ciao!" and text.message_id == "wamid.1"
    assert isinstance(media, InboundEvent) and media.media_key == "b394ab72/efd4987c/39b4"
    assert media.message_id is None and media.message_type == "IMAGE"
    assert isinstance(rcs, InboundEvent) and rcs.channel.value == "RCS"
    phones = sorted((c["channel"], c["contact"]["phone"], c["unreadCount"]) for c in chats)
    assert phones == [("RCS", "+393470000000", 1), ("WHATSAPP", "+393471488489", 2)]
    with pytest.raises(ValueError):
        sim.callbacks.inbound("+39", channel="SMS", text="x")
    with pytest.raises(ValueError):
        sim.callbacks.inbound("+39")


def test_options_are_checked() -> None:
    for bad in ({"delay": -1}, {"duplicate_rate": 2}, {"max_attempts": 0}):
        with pytest.raises(ValueError):
            CallbackOptions(**bad)  # type: ignore[arg-type]
