"""Response models of the three send APIs (SMS, RCS, WhatsApp): one ``SendResult`` shape.

Responses ignore fields they do not know and tolerate missing optional ones, so a server that
adds a field never breaks an old client. Each decoder is built once, here (msgspec perf tips).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import Model

__all__ = [
    "ChannelResults",
    "RcsResult",
    "SendResult",
    "SmsResult",
    "WhatsAppResult",
    "decode_send_result",
]


class SmsResult(Model, kw_only=True):
    """How the SMS channel took a message."""

    accepted: bool = False
    """Accepted for sending (not yet delivered: delivery arrives by callback)."""
    unicode: bool | None = None
    """Unicode encoding was used."""
    parts: int | None = None
    """Number of SMS parts."""
    reasons: list[Any] = msgspec.field(default_factory=list)
    """Rejection or warning reasons, as the API gave them."""


class RcsResult(Model, kw_only=True):
    """How the RCS channel took a message."""

    accepted: bool = False
    """Accepted for sending."""
    reasons: list[Any] = msgspec.field(default_factory=list)
    """Rejection or warning reasons, as the API gave them."""


class WhatsAppResult(Model, kw_only=True):
    """How the WhatsApp channel took a message."""

    accepted: bool = False
    """Accepted for sending."""
    reasons: list[Any] = msgspec.field(default_factory=list)
    """Rejection or warning reasons, as the API gave them (the docs show none)."""


class ChannelResults(Model, kw_only=True):
    """One result per channel; ``None`` for a channel the message did not reach."""

    sms: SmsResult | None = None
    """The SMS result (the SMS API, or an SMS fallback)."""
    rcs: RcsResult | None = None
    """The RCS result (the RCS API, or an RCS fallback)."""
    whatsapp: WhatsAppResult | None = None
    """The WhatsApp result."""


class SendResult(Model, kw_only=True):
    """The answer to a send on any channel."""

    message_id: str
    """The message's id: correlates delivery callbacks (the id that was sent, when the
    response leaves it out)."""
    customer_message_id: str | None = None
    """Your reference id, when the API echoes it (the quick start's ``customerMessageId``)."""
    simulation: bool = False
    """The send was a dry run."""
    results: ChannelResults = msgspec.field(default_factory=ChannelResults)
    """Per-channel results."""

    @property
    def accepted(self) -> bool:
        """Some channel accepted the message."""
        r = self.results
        return any(c is not None and c.accepted for c in (r.sms, r.rcs, r.whatsapp))


class _QuickStartEntry(Model, kw_only=True):
    # The quick start's older shape: one entry per channel tried.
    channel: str = ""
    accepted: bool = False


class _SendResultWire(Model, kw_only=True):
    message_id: str | None = None
    customer_message_id: str | None = None
    simulation: bool = False
    # Required: a 200 without per-channel results (``{"status": "maintenance"}``) is not a
    # send result, and must not be counted as a refused message.
    results: ChannelResults | list[_QuickStartEntry]


_send_result_decoder = msgspec.json.Decoder(_SendResultWire)


def _from_entries(entries: list[_QuickStartEntry]) -> ChannelResults:
    # An entry reports only ``accepted``; several entries for one channel count as accepted when
    # any of them is. Unknown channels are ignored, as unknown fields are.
    accepted: dict[str, bool] = {}
    for e in entries:
        key = e.channel.lower()
        accepted[key] = accepted.get(key, False) or e.accepted
    return ChannelResults(
        sms=SmsResult(accepted=accepted["sms"]) if "sms" in accepted else None,
        rcs=RcsResult(accepted=accepted["rcs"]) if "rcs" in accepted else None,
        whatsapp=(
            WhatsAppResult(accepted=accepted["whatsapp"]) if "whatsapp" in accepted else None
        ),
    )


def decode_send_result(data: bytes, *, message_id: str | None = None) -> SendResult:
    """Decode a send response, in the reference's shape or the quick start's.

    The reference gives ``results`` as an object keyed by channel; the quick start as an array of
    ``{phoneNumber, accepted, channel, statusCode}``, which is mapped onto the same per-channel
    results. ``message_id`` (the id that was sent) fills in a response that omits ``messageId``.
    A body without ``results`` is not a send result: ``msgspec.ValidationError`` (the
    transport raises ``APIResponseValidationError``).
    """
    wire = _send_result_decoder.decode(data)
    results = wire.results
    if isinstance(results, list):
        results = _from_entries(results)
    mid = wire.message_id or message_id or wire.customer_message_id
    if not mid:
        raise msgspec.ValidationError("the response has no messageId")
    return SendResult(
        message_id=mid,
        customer_message_id=wire.customer_message_id,
        simulation=wire.simulation,
        results=results,
    )
