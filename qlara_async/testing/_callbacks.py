"""The simulator's delivery callbacks: the docs' DELIVERY, READ and INBOUND payloads, POSTed to
the webhook URL an account configured (``POST /partner-gateway/v1/webhooks/delivery-status``).

Off unless the simulator is made with ``callbacks=CallbackOptions(...)`` (or ``True``). Then
every accepted send schedules, on the simulator's clock:

* a ``DELIVERY`` ``delay`` (+ up to ``jitter``) seconds later: the SMS shape (``statusCode``,
  ``statusDescription``, ``price``, ``numPart``, ``totalParts``, ``timestamp``) or the RCS/WhatsApp
  one (``destination``, ``statusCode``, ``description``, ``eventDate``); ``statusCode`` 6 for
  the destinations in ``undelivered``, 3 otherwise;
* for RCS and WhatsApp, a ``READ`` ``read_after`` seconds after a delivery (``None``: never);

and :meth:`CallbackDispatcher.inbound` schedules an ``INBOUND`` (text or media) from a customer,
also adding it to the account's inbox so a reply through the inbox finds the conversation.

Delivery: :meth:`CallbackDispatcher.pump` POSTs what is due now (tests on a ``ManualClock``
advance the clock and pump); :meth:`CallbackDispatcher.run` (or ``async with
sim.callbacks.running():``) pumps continuously on the real clock. The URL is used as configured,
its ``token`` query parameter included. Faults, drawn from their own seeded RNG: each POST is
sent twice with probability ``duplicate_rate``; ``reorder`` sends each batch of due callbacks in
random order (a READ may overtake its DELIVERY); an attempt is lost with probability
``failure_rate``. A lost attempt, a non-2xx answer, a connection error or a URL httpx cannot
use is retried after
``retry_delay`` seconds, doubling, up to ``max_attempts`` attempts (the reference: "Failed
deliveries may be retried a limited number of times"). A callback due while no webhook is
configured is dropped. Leaving ``running()`` puts back the callbacks not yet sent and gives the
POSTs in flight at most a second to finish (then puts them back too): a receiver that never
answers cannot hold the exit for ``timeout`` seconds per batch. The dispatcher's URLs (token
included) go through the library's log redaction: httpx logs each POST at INFO.
"""

from __future__ import annotations

import heapq
import itertools
import random
import re
import threading
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import anyio
import httpx
import msgspec

from .._redaction import register_redactor
from ._base import iso_utc

if TYPE_CHECKING:
    from ._app import ProcessedMessage, Simulator

__all__ = ["CallbackDispatcher", "CallbackOptions", "CallbackStats"]

_encode: Final = msgspec.json.Encoder().encode
_TOKEN_QUERY: Final = re.compile(r"([?&]token=)[^&#\s\"']+")
_STOP_GRACE: Final = 1.0
"""Seconds the POSTs in flight get to finish once ``running()`` is left."""
_Item = tuple[float, int, str, bytes, str, int]
_CHANNELS: Final = {"sms": "SMS", "sms_legacy": "SMS", "rcs": "RCS", "whatsapp": "WHATSAPP"}


@dataclass(slots=True)
class CallbackOptions:
    """How the simulator delivers callbacks (see the module docs)."""

    delay: float = 1.0
    jitter: float = 0.0
    read_after: float | None = 1.0
    duplicate_rate: float = 0.0
    reorder: bool = False
    failure_rate: float = 0.0
    retry_delay: float = 1.0
    max_attempts: int = 5
    undelivered: Iterable[str] = ()
    seed: int = 0
    concurrency: int = 16
    timeout: float = 5.0

    def __post_init__(self) -> None:
        for name in ("delay", "jitter", "retry_delay", "timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0")
        for name in ("duplicate_rate", "failure_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1]")
        if self.max_attempts < 1 or self.concurrency < 1:
            raise ValueError("max_attempts and concurrency must be >= 1")
        self.undelivered = frozenset(self.undelivered)


@dataclass(slots=True)
class CallbackStats:
    """Counters of the callbacks so far."""

    scheduled: int = 0
    delivered: int = 0
    """Callbacks answered 2xx (a duplicate POST counts once more)."""
    duplicates: int = 0
    """Extra POSTs of a callback already sent (the ``duplicate_rate`` fault)."""
    failed_attempts: int = 0
    """Attempts lost, refused (non-2xx) or unreachable; each was retried or given up."""
    given_up: int = 0
    no_webhook: int = 0
    """Callbacks dropped because the account had no webhook configured."""
    by_type: dict[str, int] = field(default_factory=dict)
    """Delivered callbacks by ``eventType``."""


class CallbackDispatcher:
    """Schedules and POSTs one simulator's callbacks; reached as ``sim.callbacks``."""

    def __init__(self, sim: Simulator, options: CallbackOptions | None) -> None:
        self._sim = sim
        self.enabled = options is not None
        self.options = options or CallbackOptions()
        self._lock = threading.Lock()
        self.clear()
        # httpx logs every POST's URL at INFO, the webhook's ?token=... included.
        register_redactor(self._redact)

    def _redact(self, text: str) -> str:
        return _TOKEN_QUERY.sub(r"\1***", text) if "token=" in text else text

    def clear(self) -> None:
        """Forget scheduled callbacks and counters; re-seed the fault RNG."""
        with self._lock:
            self.stats = CallbackStats()
            self._queue: list[tuple[float, int, str, bytes, str, int]] = []
            self._seq = itertools.count()
            self._rng = random.Random(self.options.seed)

    @property
    def delivered(self) -> int:
        """Callbacks the receiver answered with a 2xx (the demo's "callbacks received")."""
        return self.stats.delivered

    @property
    def pending(self) -> int:
        """Callbacks scheduled and not yet delivered or given up."""
        return len(self._queue)

    def next_due(self) -> float | None:
        """The simulator-clock time the next callback is due, or ``None``."""
        with self._lock:
            return self._queue[0][0] if self._queue else None

    def _push(self, due: float, key: str, payload: dict[str, Any]) -> None:
        self._requeue(due, key, _encode(payload), payload["eventType"], 0)

    def _requeue(self, due: float, key: str, body: bytes, kind: str, attempt: int) -> None:
        with self._lock:
            heapq.heappush(self._queue, (due, next(self._seq), key, body, kind, attempt))
            self.stats.scheduled += attempt == 0

    # ----------------------------------------------------------------- scheduling

    def on_processed(self, message: ProcessedMessage) -> None:
        """Schedule the callbacks of one processed send (called by the simulator, under its
        lock)."""
        if not self.enabled or not message.accepted:
            return
        opts = self.options
        channel = _CHANNELS.get(message.channel, "SMS")
        with self._lock:
            extra = self._rng.uniform(0.0, opts.jitter) if opts.jitter else 0.0
        due = message.time + opts.delay + extra
        wall = self._sim.clock.wall() + (due - self._sim.clock.now())
        delivered = message.destination not in opts.undelivered
        code = 3 if delivered else 6
        if channel == "SMS":
            payload: dict[str, Any] = {
                "channel": "SMS",
                "eventType": "DELIVERY",
                "messageId": message.message_id,
                "statusCode": code,
                "statusDescription": "Delivered" if delivered else "Not Delivered",
                "price": 0.035,
                "numPart": 1,
                "totalParts": 1,
                "timestamp": iso_utc(wall),
            }
        else:
            payload = {
                "channel": channel,
                "eventType": "DELIVERY",
                "messageId": message.message_id,
                "destination": message.destination,
                "statusCode": code,
                "description": "delivered" if delivered else "undeliverable",
                "eventDate": iso_utc(wall),
            }
        self._push(due, message.key, payload)
        if channel != "SMS" and delivered and opts.read_after is not None:
            read = {
                "channel": channel,
                "eventType": "READ",
                "messageId": message.message_id,
                "destination": message.destination,
                "eventDate": iso_utc(wall + opts.read_after),
            }
            self._push(due + opts.read_after, message.key, read)

    def inbound(
        self,
        source: str,
        *,
        channel: str = "WHATSAPP",
        destination: str = "+393209998877",
        text: str | None = None,
        media_key: str | None = None,
        message_type: str | None = None,
        message_id: str | None = None,
        key: str | None = None,
    ) -> dict[str, Any]:
        """A customer writes to the business: schedule the ``INBOUND`` callback now and add the
        message to the account's inbox (its conversation with ``source`` on ``channel``,
        created if need be). Returns the payload."""
        if channel not in ("WHATSAPP", "RCS"):
            raise ValueError("inbound messages exist on WHATSAPP and RCS only")
        if (text is None) == (media_key is None):
            raise ValueError("give text or media_key")
        sim = self._sim
        account = sim._account(key)
        now, wall = sim.clock.now(), sim.clock.wall()
        kind = message_type or ("TEXT" if text is not None else "IMAGE")
        payload: dict[str, Any] = {"channel": channel, "eventType": "INBOUND"}
        if message_id is not None:
            payload["messageId"] = message_id
        payload |= {
            "source": source,
            "destination": destination,
            "receivedDate": iso_utc(wall),
            "messageType": kind,
        }
        payload |= {"text": text} if text is not None else {"mediaKey": media_key}
        with sim._lock:
            self._add_to_inbox(account, channel, source, payload)
        self._push(now, account, payload)
        return payload

    def _add_to_inbox(
        self, account: str, channel: str, source: str, payload: dict[str, Any]
    ) -> None:
        chats = self._sim._store.collection(account, "conversations")
        found = [
            c
            for c in chats.list(channel=channel)
            if isinstance(c.get("contact"), dict) and c["contact"].get("phone") == source
        ]
        message = {
            k: v
            for k, v in payload.items()
            if k in ("messageType", "text", "mediaKey", "receivedDate")
        }
        if found:
            chat = found[-1]
            messages = chat.get("_messages", [])
            message["id"] = max((m["id"] for m in messages), default=0) + 1
            message["direction"] = "INBOUND"
            chats.update(
                chat["id"],
                {
                    "_messages": [*messages, message],
                    "lastMessageDate": payload["receivedDate"],
                    "unreadCount": chat.get("unreadCount", 0) + 1,
                },
            )
            return
        chats.create(
            {
                "channel": channel,
                "channelId": 5 if channel == "WHATSAPP" else 10,
                "contact": {"phone": source, "name": source},
                "lastMessageDate": payload["receivedDate"],
                "unreadCount": 1,
                "archived": False,
                "_messages": [{"id": 1, "direction": "INBOUND", **message}],
            }
        )

    # ----------------------------------------------------------------- delivering

    def _webhook_url(self, key: str) -> str | None:
        with self._sim._lock:
            hooks = self._sim._store.collection(key, "webhooks").list()
        return hooks[0]["callbackUrl"] if hooks else None

    async def pump(self, http: httpx.AsyncClient | None = None) -> int:
        """POST every callback due by the simulator's clock now; return how many were answered
        2xx. Failed ones are rescheduled (or given up after ``max_attempts``)."""
        return await self._pump(http, None)

    async def _pump(self, http: httpx.AsyncClient | None, stop: anyio.Event | None) -> int:
        now = self._sim.clock.now()
        batch = []
        with self._lock:
            while self._queue and self._queue[0][0] <= now:
                batch.append(heapq.heappop(self._queue))
            if self.options.reorder:
                self._rng.shuffle(batch)
        if not batch:
            return 0
        if http is None:
            async with httpx.AsyncClient(timeout=self.options.timeout) as own:
                return await self._deliver(own, batch, stop)
        return await self._deliver(http, batch, stop)

    def _put_back(self, item: _Item) -> None:
        # Not sent (a stop came first, or cut off by it): due as before, the same attempt.
        with self._lock:
            heapq.heappush(self._queue, item)

    async def _deliver(
        self, http: httpx.AsyncClient, batch: list[_Item], stop: anyio.Event | None = None
    ) -> int:
        limit = anyio.Semaphore(self.options.concurrency)
        ok = 0

        async def one(item: _Item) -> None:
            nonlocal ok
            _, _, key, body, kind, attempt = item
            url = self._webhook_url(key)
            if url is None:
                self.stats.no_webhook += 1
                return
            with self._lock:
                lost = self._rng.random() < self.options.failure_rate
                twice = self._rng.random() < self.options.duplicate_rate
            success = None
            try:
                async with limit:
                    if stop is not None and stop.is_set():
                        self._put_back(item)
                        return
                    success = not lost and await self._post(http, url, body)
            except anyio.get_cancelled_exc_class():
                if success is None:  # cut off by the stop's grace period, waiting or posting
                    self._put_back(item)
                raise
            if success:
                ok += 1
                self.stats.delivered += 1
                self.stats.by_type[kind] = self.stats.by_type.get(kind, 0) + 1
                if twice:
                    self.stats.duplicates += 1
                    async with limit:
                        await self._post(http, url, body)
                return
            self.stats.failed_attempts += 1
            if attempt + 1 >= self.options.max_attempts:
                self.stats.given_up += 1
                return
            due = self._sim.clock.now() + self.options.retry_delay * 2**attempt
            self._requeue(due, key, body, kind, attempt + 1)

        async def cut(scope: anyio.CancelScope) -> None:
            assert stop is not None
            await stop.wait()
            await anyio.sleep(min(_STOP_GRACE, self.options.timeout))
            scope.cancel()

        async with anyio.create_task_group() as outer:
            if stop is not None:
                outer.start_soon(cut, outer.cancel_scope)
            async with anyio.create_task_group() as tg:
                for item in batch:
                    tg.start_soon(one, item)
            outer.cancel_scope.cancel()
        return ok

    async def _post(self, http: httpx.AsyncClient, url: str, body: bytes) -> bool:
        try:
            response = await http.post(
                url, content=body, headers={"Content-Type": "application/json"}
            )
        except (httpx.HTTPError, httpx.InvalidURL):
            # InvalidURL (e.g. a port that is not a number) is not an HTTPError: a failed
            # attempt like any other, retried then given up, never an escaping exception.
            return False
        return 200 <= response.status_code < 300

    async def run(self, *, idle: float = 0.01, stop: anyio.Event | None = None) -> None:
        """Deliver callbacks as they fall due until ``stop`` is set (or forever); real clock
        only. ``idle`` bounds how long a newly scheduled callback waits before it is noticed.
        A stop lets the POSTs in flight finish (cancelling them would cut requests in half)."""
        async with httpx.AsyncClient(timeout=self.options.timeout) as http:
            while stop is None or not stop.is_set():
                await self._pump(http, stop)
                due = self.next_due()
                wait = idle if due is None else min(idle, due - self._sim.clock.now())
                with anyio.move_on_after(max(0.0, wait)):
                    if stop is None:
                        await anyio.sleep_forever()
                    else:
                        await stop.wait()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[CallbackDispatcher]:
        """``async with sim.callbacks.running():`` delivers callbacks in the background; on
        exit, nothing more is sent: the callbacks not yet POSTed are put back (``pending``), the
        POSTs in flight get a second to finish (those cut off are put back too)."""
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(self.run, stop=stop))
            try:
                yield self
            finally:
                stop.set()
