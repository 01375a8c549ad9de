"""``WebhookReceiver``: a plain ASGI app for the platform's callbacks.

The platform POSTs each event to the one configured URL, signs nothing, and may deliver an event
more than once or retry it when the answer is not a 2xx (api-reference.md "Configure Webhook", the
FAQ's "What should I do if I miss a webhook?"). So the receiver:

1. checks the secret ``token`` query parameter of the callback URL (constant-time compare): 401;
2. takes ``POST`` only: 405 with ``Allow: POST``;
3. reads at most ``max_body_size`` bytes: 413 past it (a ``Content-Length`` that says so is refused
   before reading anything); a body not complete ``body_timeout`` seconds after the request
   arrived gets 408 (uvicorn has no body timeout of its own: a stalled sender would hold the
   request forever);
4. parses the event (:func:`~qlara_async.webhooks.parse_event`): 400 with the reason;
5. de-duplicates by the event's identity (channel, event type, message id or source, status,
   event time, the time in UTC) over the last ``window`` events, each remembered as a 16-byte
   digest (so the window's memory is bounded in bytes, whatever the ids or payloads): a duplicate is answered 200 and not handed on;
   while one delivery of an event is in the handler, a second one waits for it (so concurrent
   duplicates reach the handler once);
6. awaits ``handler(event)``: 200. If the handler raises, the receiver logs it (type and event
   identity: no token, no body, no phone number) and answers 503 so the platform retries; the
   event is not marked seen, so the retry reaches the handler.

Nothing in a payload can produce a 5xx: only a failing handler does, on purpose.
"""

from __future__ import annotations

import hashlib
import hmac
import inspect
import logging
import math
from collections import OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl

import anyio
import msgspec

from .._exceptions import ValidationError
from ._events import WebhookEvent, WebhookPayloadError, parse_event

__all__ = ["ReceiverStats", "WebhookReceiver"]

logger = logging.getLogger("qlara_async.webhooks")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Handler = Callable[[WebhookEvent], "Awaitable[object] | object"]
Identity = tuple[str, str, str | None, str | None, str | None]

DEFAULT_MAX_BODY: Final = 1024 * 1024
"""1 MiB: a callback is a few hundred bytes."""
DEFAULT_WINDOW: Final = 100_000
"""Events remembered for de-duplication (about 15 MB: a fixed-size digest per event)."""
DEFAULT_BODY_TIMEOUT: Final = 5.0
"""Seconds to receive a whole body: a callback is a few hundred bytes."""


@dataclass(slots=True)
class ReceiverStats:
    """What the receiver has answered so far."""

    received: int = 0
    """Requests, whatever became of them."""
    handled: int = 0
    """Events the handler completed."""
    duplicates: int = 0
    unauthorized: int = 0
    invalid: int = 0
    """400, 405 and 413 answers."""
    handler_errors: int = 0


_encode: Final = msgspec.json.Encoder().encode


class WebhookReceiver:
    """An ASGI application receiving the platform's callbacks; add it as a *route* in FastAPI
    or Starlette (``app.router.add_route("/webhooks/qlara", receiver)``), or run it under
    uvicorn. Not ``app.mount(...)``: a mount answers the platform's POST to the exact path with
    a 307 redirect to ``.../`` that carries the token in its ``Location`` header.

    :param handler: called with each distinct event, once; a plain function or a coroutine
        function. Its exception makes the platform deliver the event again.
    :param token: when given, a request must carry it as the ``token`` query parameter of the
        callback URL (``https://example.com/hooks?token=...``), or gets 401. **Warning**: with
        ``token=None`` anyone who can reach the URL can forge events (the platform signs
        nothing); leave it out only on loopback (``qlara webhooks listen``) or behind your own
        authentication.
    :param max_body_size: bytes; a larger body gets 413.
    :param window: how many recent event identities are remembered for de-duplication.
    :param body_timeout: seconds for the whole body to arrive; a slower one gets 408.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        token: str | None = None,
        max_body_size: int = DEFAULT_MAX_BODY,
        window: int = DEFAULT_WINDOW,
        body_timeout: float = DEFAULT_BODY_TIMEOUT,
    ) -> None:
        if not callable(handler):
            raise TypeError("handler must be callable")
        if token is not None and (not isinstance(token, str) or not token):
            raise ValidationError("token must be a non-empty string", field="token")
        self._handler = handler
        self._token = token.encode() if token is not None else None
        self.max_body_size = _positive_int("max_body_size", max_body_size)
        self.window = _positive_int("window", window)
        self.body_timeout = _positive_seconds("body_timeout", body_timeout)
        self.stats = ReceiverStats()
        # Digests, not identities: an identity may hold a long message id or, for an unknown
        # event, its whole payload (up to max_body_size each).
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._in_flight: dict[bytes, anyio.Event] = {}

    def __repr__(self) -> str:
        # The token is a secret: say whether there is one, never what it is.
        guarded = "token" if self._token is not None else "no token"
        return f"<WebhookReceiver {guarded}, window={self.window}>"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point (``http`` and ``lifespan``)."""
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        self.stats.received += 1
        if not self._authorized(scope.get("query_string", b"")):
            self.stats.unauthorized += 1
            await _reply(send, 401, "missing or wrong token")
            return
        if scope["method"] != "POST":
            self.stats.invalid += 1
            await _reply(send, 405, "only POST", [(b"allow", b"POST")])
            return
        body: bytes | None = b""
        with anyio.move_on_after(self.body_timeout) as reading:
            body = await self._read(scope, receive)
        if reading.cancelled_caught:
            self.stats.invalid += 1
            await _reply(send, 408, f"body not received within {self.body_timeout:g} s")
            return
        if body is None:
            self.stats.invalid += 1
            await _reply(send, 413, f"body larger than {self.max_body_size} bytes")
            return
        try:
            event = parse_event(body)
        except WebhookPayloadError as exc:
            self.stats.invalid += 1
            await _reply(send, 400, exc.reason)
            return
        status, message = await self._dispatch(event)
        await _reply(send, status, message)

    def _authorized(self, query: bytes) -> bool:
        if self._token is None:
            return True
        given = [
            v.encode()
            for k, v in parse_qsl(query.decode("latin-1"), keep_blank_values=True)
            if k == "token"
        ]
        # Exactly one token, compared in constant time (a repeated parameter is refused rather
        # than guessed at).
        return len(given) == 1 and hmac.compare_digest(given[0], self._token)

    async def _read(self, scope: Scope, receive: Receive) -> bytes | None:
        for name, value in scope.get("headers", ()):
            if name.lower() == b"content-length":
                try:
                    if int(value) > self.max_body_size:
                        return None
                except ValueError:
                    pass
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_size:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _dispatch(self, event: WebhookEvent) -> tuple[int, str]:
        identity = event.identity
        key = _digest(identity)
        while True:
            if key in self._seen:
                self._seen.move_to_end(key)
                self.stats.duplicates += 1
                return 200, "duplicate"
            busy = self._in_flight.get(key)
            if busy is None:
                break
            # The same event is in the handler right now: its outcome decides ours.
            await busy.wait()
        done = self._in_flight[key] = anyio.Event()
        try:
            result = self._handler(event)
            if inspect.isawaitable(result):
                await result
        except Exception as exc:
            self.stats.handler_errors += 1
            logger.error(
                "webhook handler raised %s for %s %s event %s; answered 503 so the platform"
                " retries",
                type(exc).__name__,
                identity[0],
                identity[1],
                event.message_id,
            )
            logger.debug("webhook handler traceback", exc_info=True)
            return 503, "handler failed; retry later"
        finally:
            del self._in_flight[key]
            done.set()
        self._seen[key] = None
        if len(self._seen) > self.window:
            self._seen.popitem(last=False)
        self.stats.handled += 1
        logger.info("webhook %s %s event %s handled", identity[0], identity[1], event.message_id)
        return 200, "ok"


def _digest(identity: Identity) -> bytes:
    # 16 bytes whatever the identity holds; collisions are out of reach (2**-64 per pair).
    return hashlib.blake2b(_encode(identity), digest_size=16).digest()


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValidationError(f"{name} must be a positive integer, got {value!r}", field=name)
    return value


def _positive_seconds(name: str, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValidationError(
            f"{name} must be a positive number of seconds, got {value!r}", field=name
        )
    return float(value)


async def _reply(
    send: Send, status: int, message: str, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    key = "status" if status < 400 else "error"
    body = _encode({key: message})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
