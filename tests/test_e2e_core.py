"""The core request path end to end: real HTTP on loopback, the simulator's server, no mocks.

A scripted ASGI app answers each request with the next scripted status (or closes the connection
without answering), so the retry schedule, the bytes on the wire and the error mapping are checked
against a real socket, a real httpx connection pool and the real limiter.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from qlara_async import (
    AsyncQlara,
    BadRequestError,
    ManualClock,
    NotFoundError,
    RateLimit,
    UnprocessableEntityError,
)
from qlara_async.testing import SimulatedDisconnect, Simulator, run_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

SEND_OK = {
    "messageId": "set-by-client",
    "simulation": False,
    "results": {"sms": {"accepted": True, "unicode": False, "parts": 1, "reasons": []}},
}


class ScriptedApp:
    """An ASGI app that answers request n with ``script[n]`` and records every request body.

    A script item is a status code, ``(status, headers)``, or ``"drop"`` (close unanswered).
    """

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":  # pragma: no cover - the loopback server sends none
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies.append(body)
        self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
        item = self.script[min(len(self.bodies) - 1, len(self.script) - 1)]
        if item == "drop":
            raise SimulatedDisconnect("drop")
        status, headers = item if isinstance(item, tuple) else (item, {})
        payload = json.dumps(SEND_OK if status == 200 else {"status": status}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")]
                + [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": payload})


@pytest.fixture
def anyio_backend() -> str:
    """The loopback server runs in its own thread; the client side needs only one backend here."""
    return "asyncio"


async def test_retry_schedule_over_real_http(http_backend: str) -> None:
    """503, 500, 429 (Retry-After 1), 502, 200: four retries on the documented schedule, and five
    identical bodies on the wire with one messageId."""
    app = ScriptedApp(503, 500, (429, {"Retry-After": "1"}), 502, 200)
    clock = ManualClock()
    with run_in_thread(app) as url:
        async with AsyncQlara(
            api_key="k",
            base_url=url,
            clock=clock,
            random=lambda: 0.5,
            rate_limit=None,
            http_backend=http_backend,
        ) as client:
            result = await client.sms.send(
                destination="+393201234567", sender="MyBrand", body="Ciao"
            )
    assert result.accepted
    assert len(app.bodies) == 5
    assert len(set(app.bodies)) == 1
    assert json.loads(app.bodies[0])["messageId"]
    # 1 s, 2 s (+250 ms jitter each), the 429's 1 s pause, then the fourth retry's 8 s.
    assert clock.sleeps[:2] == [1.25, 2.25]
    assert clock.sleeps[-1] == 8.25
    assert sum(clock.sleeps[2:-1]) == pytest.approx(1.0, abs=0.05)
    assert all(h["x-api-key"] == "k" for h in app.headers)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(400, BadRequestError, id="400"),
        pytest.param(404, NotFoundError, id="404"),
        pytest.param(422, UnprocessableEntityError, id="422"),
    ],
)
async def test_final_status_one_request_over_real_http(
    status: int, error: type[Exception], http_backend: str
) -> None:
    """A final 4xx reaches the server exactly once."""
    app = ScriptedApp(status)
    with run_in_thread(app) as url:
        async with AsyncQlara(
            api_key="k", base_url=url, clock=ManualClock(), http_backend=http_backend
        ) as client:
            with pytest.raises(error):
                await client.sms.send(destination="+393201234567", sender="MyBrand", body="Ciao")
    assert len(app.bodies) == 1


class DropFirstAnswer:
    """Lets the simulator process the first request, then closes the connection unanswered."""

    def __init__(self, app: Simulator) -> None:
        self.app = app
        self.calls = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.calls += 1
        if self.calls > 1:
            await self.app(scope, receive, send)
            return

        async def swallow(message: Any) -> None:
            return None

        await self.app(scope, receive, swallow)
        raise SimulatedDisconnect("drop")


async def test_dropped_connection_retried_and_processed_once(http_backend: str) -> None:
    """The answer is lost after processing; the retry carries the same messageId and the
    simulator's de-duplication processes the message once."""
    sim = Simulator(api_keys=("k",))
    with run_in_thread(DropFirstAnswer(sim)) as url:  # type: ignore[arg-type]
        async with AsyncQlara(
            api_key="k",
            base_url=url,
            clock=ManualClock(),
            rate_limit=RateLimit.PRODUCTION,
            http_backend=http_backend,
        ) as client:
            result = await client.sms.send(
                destination="+393201234567", sender="MyBrand", body="Ciao"
            )
    assert result.accepted
    assert sim.stats.arrivals == 2
    assert sim.stats.processed == 1
    assert sim.stats.duplicates == 1
    assert [p.message_id for p in sim.processed] == [result.message_id]
