"""Receive Qlara's delivery callbacks in a FastAPI app, and know what was delivered.

    QLARA_API_KEY=... PUBLIC_URL=https://hooks.example.com WEBHOOK_TOKEN=$(openssl rand -hex 16) \\
        uvicorn examples.webhooks_fastapi:app --port 8000

On startup the app points the account's delivery webhook at ``PUBLIC_URL/qlara/callbacks`` with
the secret token in its query (``POST``, or ``PUT`` when one is already configured); the platform
then POSTs DELIVERY, READ and INBOUND events there. A :class:`~qlara_async.webhooks.WebhookReceiver`
takes them (token checked, duplicates dropped), a :class:`~qlara_async.webhooks.DeliveryTracker`
keeps each message's state, and every delivery is logged (message id and state: no phone number).
``GET /deliveries/{message_id}`` answers what is known of a message. The platform calls HTTPS
URLs only: put the app behind TLS (or a tunnel) in production.

The token travels in the callback URL's query, and uvicorn's access log prints each request's
path with its query: the app installs a filter on ``uvicorn.access`` that masks ``token=...``
(or run uvicorn with ``--no-access-log``). The token is URL-encoded in the configured URL, so
any token works (``openssl rand -base64`` ones, with ``+`` and ``/``, included).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

from fastapi import FastAPI

from qlara_async import AsyncQlara, ConflictError
from qlara_async.webhooks import (
    DeliveryEvent,
    DeliveryTracker,
    InboundEvent,
    ReadEvent,
    WebhookEvent,
    WebhookReceiver,
)

log = logging.getLogger("webhooks_example")

CALLBACK_PATH = "/qlara/callbacks"

_TOKEN_QUERY = re.compile(r"([?&]token=)[^&\s\"']+")


class MaskToken(logging.Filter):
    """Masks ``token=...`` in uvicorn's access log lines (the path is logged with its query)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_QUERY.sub(r"\1***", a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.msg, str):
            record.msg = _TOKEN_QUERY.sub(r"\1***", record.msg)
        return True


def _mask_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, MaskToken) for f in access.filters):
        access.addFilter(MaskToken())


def create_app(
    *,
    client: AsyncQlara | None = None,
    public_url: str | None = None,
    token: str | None = None,
) -> FastAPI:
    """The app; ``client``, ``public_url`` and ``token`` default to the environment
    (``QLARA_API_KEY``/``QLARA_BASE_URL``, ``PUBLIC_URL``, ``WEBHOOK_TOKEN``)."""
    token = token or os.environ["WEBHOOK_TOKEN"]
    public_url = (public_url or os.environ["PUBLIC_URL"]).rstrip("/")
    tracker = DeliveryTracker()
    _mask_access_log()

    async def on_event(event: WebhookEvent) -> None:
        if isinstance(event, (DeliveryEvent, ReadEvent)):
            tracker.observe(event)
            state = tracker.state(event.message_id or "").state
            log.info("%s %s: %s", event.channel.value, event.message_id, state.value)
        elif isinstance(event, InboundEvent):
            log.info("inbound %s message on %s", event.message_type, event.channel.value)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with client if client is not None else AsyncQlara() as qlara:
            # Encoded: a base64 token's "+" would otherwise come back as a space (401 forever).
            url = f"{public_url}{CALLBACK_PATH}?{urlencode({'token': token})}"
            try:
                await qlara.webhooks.configure(url)
            except ConflictError:  # one webhook per account: point the existing one here
                await qlara.webhooks.update(url)
            log.info("webhook configured at %s%s", public_url, CALLBACK_PATH)  # no token
            yield

    app = FastAPI(lifespan=lifespan)
    app.state.tracker = tracker
    # A plain route, not a mount: the platform POSTs to the exact URL, with no trailing slash.
    app.router.add_route(
        CALLBACK_PATH, WebhookReceiver(on_event, token=token), include_in_schema=False
    )

    @app.get("/deliveries/{message_id}")
    async def delivery(message_id: str) -> dict[str, Any]:
        known = tracker.state(message_id)
        return {"messageId": message_id, "state": known.state.value, "final": known.final}

    return app


def __getattr__(name: str) -> Any:
    # `uvicorn examples.webhooks_fastapi:app` builds the app from the environment on first use,
    # so importing the module (tests, docs) needs none of it.
    if name == "app":
        return create_app()
    raise AttributeError(name)
