"""The send pipeline for one message: prepare (validate, give the id, encode), request, decode.

It sits below the resources and the bulk sender, which both send through it, and above the
transport. The send paths live here, the one home of the sending area (the resources add the
keyword signatures users call).
"""

from __future__ import annotations

from functools import partial

import httpx

from ._config import RetryPolicy
from ._exceptions import APIError
from ._transport import AttemptGate, RequestStats, Transport, require_body
from .models import Message, PreparedMessage, SendResult, decode_send_result, prepare_message

__all__ = ["Sender"]


class Sender:
    """Sends single messages through one transport, each under one ``messageId``."""

    __slots__ = ("transport",)

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    async def send(
        self,
        message: Message,
        *,
        retry_policy: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> SendResult:
        """Validate ``message`` (``ValidationError``, nothing sent), give it a ``messageId`` if
        it has none (the caller's object is not changed), send it and retry under that id."""
        return await self.send_prepared(
            prepare_message(message), retry_policy=retry_policy, timeout=timeout
        )

    async def send_prepared(
        self,
        prepared: PreparedMessage,
        *,
        stats: RequestStats | None = None,
        gate: AttemptGate | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: httpx.Timeout | None = None,
    ) -> SendResult:
        """Send a message ``prepare_message`` made; every attempt sends its exact bytes. An
        ``APIError`` raised carries the ``message_id`` (to send again under the same id)."""
        try:
            result: SendResult | None = await self.transport.request(
                "POST",
                prepared.path,
                content=prepared.content,
                # A response without messageId reports the id that was sent.
                decoder=partial(decode_send_result, message_id=prepared.message_id),
                retry=True,
                stats=stats,
                gate=gate,
                retry_policy=retry_policy,
                timeout=timeout,
            )
            return require_body(result, f"POST {prepared.path}")
        except APIError as exc:
            exc.message_id = prepared.message_id
            raise
