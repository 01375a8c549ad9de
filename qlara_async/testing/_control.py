"""The simulator seen from outside its process: a stats endpoint and a JSON-lines arrival log.

``GET /api/_simulator/stats`` answers the live counters (no key needed, never rate-limited, not
counted as an arrival), so a test or a load run in another process can check what the simulator
saw: ``{"arrivals": 2000, "processed": 2000, "duplicates": 0, "rate_limited": 0, ...}``.

:class:`ArrivalLog` wraps the simulator's ASGI app and writes one JSON object per request to a
file, as it is answered::

    {"t": 12.503, "method": "POST", "path": "/api/message-server/sms/send", "status": 200,
     "message_id": "3f1c..."}

``message_id`` is the body's ``messageId`` (sends only), so "every message once, no 429" is a
count over the file. With ``bodies=True`` each line also carries the request body (``body``),
to check what a client really sent (placeholders included).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import IO, TYPE_CHECKING, Any, Final

import msgspec

if TYPE_CHECKING:
    from ._app import Simulator

__all__ = ["STATS_PATH", "ArrivalLog", "send_stats", "stats_payload"]

STATS_PATH: Final = "/api/_simulator/stats"

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_encode = msgspec.json.Encoder().encode


def stats_payload(sim: Simulator) -> bytes:
    """The simulator's counters as the stats endpoint's JSON body."""
    s = sim.stats
    ids = {m.message_id for m in sim.processed}
    return _encode(
        {
            "arrivals": s.arrivals,
            "processed": s.processed,
            "unique_messages": len(ids),
            "duplicates": s.duplicates,
            "rate_limited": s.rate_limited,
            "unauthorized": s.unauthorized,
            "bad_requests": s.bad_requests,
            "simulated": s.simulated,
            "faults": dict(s.faults),
        }
    )


async def send_stats(sim: Simulator, send: Send) -> None:
    """Answer the stats endpoint (an ASGI response of :func:`stats_payload`)."""
    body = stats_payload(sim)
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class ArrivalLog:
    """An ASGI wrapper that logs every request to ``file`` as one JSON line.

    ``file`` is a path (opened for appending, line-buffered) or an open text file. Lines are
    written as each response starts (or when the connection is closed unanswered, with
    ``status: null``), so a reader sees them while the simulator runs.
    """

    def __init__(self, app: Simulator, file: str | IO[str], *, bodies: bool = False) -> None:
        self.app = app
        self.bodies = bodies
        self._own = isinstance(file, str)
        self._file: IO[str] = (
            open(file, "a", encoding="utf-8", buffering=1)  # noqa: SIM115 (closed by close())
            if isinstance(file, str)
            else file
        )
        self._lock = threading.Lock()
        self._start = time.monotonic()

    def close(self) -> None:
        """Close the log file (if this wrapper opened it)."""
        if self._own:
            self._file.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request to the simulator and log it."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = bool(message.get("more_body", False))
        body = b"".join(chunks)
        status: list[int] = []

        async def replay() -> Message:
            return {"type": "http.request", "body": body, "more_body": False}

        async def watch(message: Message) -> None:
            if message["type"] == "http.response.start":
                status.append(int(message["status"]))
            await send(message)

        try:
            await self.app(scope, replay, watch)
        finally:
            if scope.get("path") != STATS_PATH:
                self._write(scope, body, status[0] if status else None)

    def _write(self, scope: Scope, body: bytes, status: int | None) -> None:
        record: dict[str, Any] = {
            "t": round(time.monotonic() - self._start, 6),
            "method": scope["method"],
            "path": scope["path"],
            "status": status,
            "message_id": None,
        }
        parsed: Any = None
        if body[:1] == b"{":
            try:
                parsed = msgspec.json.decode(body)
            except msgspec.DecodeError:
                parsed = None
        if isinstance(parsed, dict):
            mid = parsed.get("messageId")
            record["message_id"] = mid if isinstance(mid, str) else None
            if self.bodies:
                record["body"] = parsed
        line = _encode(record).decode() + "\n"
        with self._lock:
            if not self._file.closed:
                self._file.write(line)
