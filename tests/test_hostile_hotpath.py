"""Hostile review of the request hot path (the limiter's fast path, AnyioClock.now).

Each test states what a caller may rely on; each failed on the first hot-path commits (a fast
path without a scheduling point, a clock read that missed trio guest mode) and holds since.
"""

from __future__ import annotations

import asyncio

import anyio
import httpx
import pytest
import trio

from qlara_async import AsyncQlara, SmsMessage
from qlara_async._clock import AnyioClock

MESSAGE = SmsMessage(destination="+393201234567", sender="Brand", body="Ciao")
SEND_OK = b'{"messageId":"m","results":{"sms":{"accepted":true}}}'


def _client(sent: list[httpx.Request]) -> AsyncQlara:
    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, content=SEND_OK, headers={"content-type": "application/json"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    return AsyncQlara(api_key="k", base_url="https://api.test/api", http_client=http)


@pytest.mark.anyio
async def test_send_in_a_cancelled_scope_sends_nothing() -> None:
    """A send started inside an already-cancelled scope must raise the cancellation with
    nothing sent. With no checkpoint before the wire, a transport that does not yield
    (MockTransport, respx, a cache) sends the message anyway and returns normally."""
    sent: list[httpx.Request] = []
    async with _client(sent) as client:
        with anyio.CancelScope() as scope:
            scope.cancel()
            await client.send(MESSAGE)
        assert sent == [], "a message left from a cancelled scope"


@pytest.mark.anyio
async def test_a_loop_of_sends_lets_other_tasks_run() -> None:
    """Every library send is a scheduling point: another ready task runs between sends. Without
    one, a task sending in a loop over a non-yielding transport hogs the event loop."""
    sent: list[httpx.Request] = []
    seen_at: list[int] = []
    async with _client(sent) as client:

        async def hog() -> None:
            for _ in range(50):
                await client.send(MESSAGE)

        async def other() -> None:
            seen_at.append(len(sent))

        async with anyio.create_task_group() as tg:
            tg.start_soon(hog)
            tg.start_soon(other)
    assert seen_at and seen_at[0] < 50, f"the other task first ran after {seen_at} sends"


def test_anyio_clock_follows_trio_in_guest_mode_on_asyncio() -> None:
    """Under trio (here in guest mode on an asyncio host loop) AnyioClock must read trio's
    clock, the one anyio sleeps and deadlines use; it reads the asyncio host loop's instead."""
    readings: dict[str, float] = {}

    async def trio_main() -> None:
        readings["clock"] = AnyioClock().now()
        readings["anyio"] = anyio.current_time()

    async def host() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        trio.lowlevel.start_guest_run(
            trio_main,
            run_sync_soon_threadsafe=loop.call_soon_threadsafe,
            done_callback=lambda outcome: done.set_result(outcome),
            host_uses_signal_set_wakeup_fd=False,
        )
        (await done).unwrap()

    asyncio.run(host())
    # trio's clock has a random offset of hours from asyncio's: the same clock reads within 1 s.
    assert abs(readings["clock"] - readings["anyio"]) < 1.0, readings
