"""Test doubles that implement the library's protocols and record what they were asked."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from qlara_async import AsyncQlara, ManualClock
from qlara_async._limiter import CooldownTooLong


@dataclass
class Release:
    status: int | None
    sent: bool
    headers: dict[str, str] | None


@dataclass
class RecordingLimiter:
    """A ``Limiter`` that admits at once and records every call, pauses included."""

    clock: ManualClock
    acquired: list[bool] = field(default_factory=list)
    pauses: list[float] = field(default_factory=list)
    releases: list[Release] = field(default_factory=list)
    paused_until: float = float("-inf")
    closed: bool = False

    async def acquire(self, *, priority: bool = False, max_pause: float = math.inf) -> _Permit:
        self.acquired.append(priority)
        wait = self.paused_until - self.clock.now()
        if wait > max_pause:
            raise CooldownTooLong(wait)
        if wait > 0:
            await self.clock.sleep(wait)
        return _Permit(self)

    def pause(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.paused_until = max(self.paused_until, self.clock.now() + seconds)

    async def aclose(self) -> None:
        self.closed = True


class _Permit:
    def __init__(self, limiter: RecordingLimiter) -> None:
        self.limiter = limiter

    def release(
        self,
        *,
        status: int | None = None,
        headers: Mapping[str, str] | None = None,
        sent: bool = True,
    ) -> None:
        self.limiter.releases.append(
            Release(status, sent, dict(headers) if headers is not None else None)
        )


Handler = Callable[[httpx.Request], httpx.Response]


def make_client(
    handler: Handler, *, clock: ManualClock | None = None, **kwargs: object
) -> tuple[AsyncQlara, RecordingLimiter, ManualClock]:
    """A client over ``httpx.MockTransport`` with a recording limiter and a manual clock."""
    clock = clock or ManualClock()
    limiter = RecordingLimiter(clock)
    options: dict[str, object] = {
        "api_key": "test-key",
        "base_url": "https://api.test/api",
        "rate_limit": limiter,
        "clock": clock,
        "random": lambda: 0.5,
        "http_client": httpx.AsyncClient(transport=httpx.MockTransport(handler)),
    }
    options.update(kwargs)
    return AsyncQlara(**options), limiter, clock  # type: ignore[arg-type]


SMS_OK = {
    "messageId": "m-1",
    "simulation": False,
    "results": {"sms": {"accepted": True, "unicode": False, "parts": 1, "reasons": []}},
}


Seen = list[tuple[str, str, Any, dict[str, str]]]


def recording_handler(
    answer: Any = None, status: int = 200
) -> tuple[Callable[[httpx.Request], httpx.Response], Seen]:
    """A handler answering ``answer`` as JSON (``None``: 204) and recording each request as
    ``(method, path, body, query)``: the body decoded when it is JSON, raw bytes otherwise."""
    seen: Seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        ctype = request.headers.get("content-type", "")
        body: Any = json.loads(request.content) if ctype == "application/json" else request.content
        seen.append((request.method, request.url.path, body, dict(request.url.params)))
        if answer is None:
            return httpx.Response(204)
        return httpx.Response(status, json=answer)

    return handler, seen
