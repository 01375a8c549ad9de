"""Response models of the send APIs, the Legacy SMS API, credit, phone numbers and media.

Responses ignore fields they do not know and tolerate missing optional ones, so a server that
adds a field never breaks an old client. Each decoder is built once, here (msgspec perf tips).
"""

from __future__ import annotations

from typing import Any

import msgspec

from ._base import Model

__all__ = [
    "ChannelResults",
    "Credit",
    "LegacySmsResult",
    "PhoneNumber",
    "RcsResult",
    "SendResult",
    "SmsResult",
    "WhatsAppResult",
    "decode_credit",
    "decode_download_url",
    "decode_legacy_sms_result",
    "decode_phone_number",
    "decode_phone_numbers",
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


class LegacySmsResult(Model, kw_only=True):
    """The answer to a Legacy SMS send."""

    global_id: str | None = None
    """The sending session's id."""
    processed_messages: int = 0
    """Messages processed."""
    processed_sms_parts: int = 0
    """SMS parts processed, in all."""
    credit: float | None = None
    """Credit left after the send."""


class Credit(Model, kw_only=True):
    """The SMS credit left on the account."""

    credit: float
    """Credit left."""


class PhoneNumber(Model, kw_only=True):
    """A WhatsApp Business number; use its ``id`` as ``phone_number_id`` when sending."""

    id: int
    """The number's id."""
    phone_number: str | None = None
    """The number, in international format."""
    display_name: str | None = None
    """The business name shown to recipients."""
    onboarding_scope: str | None = None
    """What the number may do, e.g. ``RECEIVE_AND_SEND``."""


class _PhoneNumberList(Model, kw_only=True):
    data: list[PhoneNumber] = msgspec.field(default_factory=list)


class _PhoneNumberEnvelope(Model, kw_only=True):
    # The single-number response is undocumented: accept the number itself, or the list's
    # ``{"data": ...}`` envelope around one number or a one-element array.
    id: int | None = None
    phone_number: str | None = None
    display_name: str | None = None
    onboarding_scope: str | None = None
    data: PhoneNumber | list[PhoneNumber] | None = None


class _DownloadUrl(Model, kw_only=True):
    url: str


_legacy_decoder = msgspec.json.Decoder(LegacySmsResult)
_credit_decoder = msgspec.json.Decoder(Credit)
_phone_numbers_decoder = msgspec.json.Decoder(_PhoneNumberList)
_phone_number_decoder = msgspec.json.Decoder(_PhoneNumberEnvelope)
_download_url_decoder = msgspec.json.Decoder(_DownloadUrl | str)


def decode_legacy_sms_result(data: bytes) -> LegacySmsResult:
    """Decode the answer to ``POST /services/sms/send``."""
    return _legacy_decoder.decode(data)


def decode_credit(data: bytes) -> Credit:
    """Decode the answer to ``GET /services/sms/credit``."""
    return _credit_decoder.decode(data)


def decode_phone_numbers(data: bytes) -> list[PhoneNumber]:
    """Decode ``GET /message-server/whatsapp/phone-numbers``: the items of ``data``."""
    return _phone_numbers_decoder.decode(data).data


def decode_phone_number(data: bytes) -> PhoneNumber:
    """Decode ``GET /message-server/whatsapp/phone-numbers/{id}``.

    The docs show only the list's shape, so this accepts the number as a bare object, or wrapped
    as ``{"data": {...}}`` or ``{"data": [{...}]}``.
    """
    env = _phone_number_decoder.decode(data)
    if isinstance(env.data, PhoneNumber):
        return env.data
    if isinstance(env.data, list):
        if len(env.data) != 1:
            raise msgspec.ValidationError(
                f"Expected one phone number in `data`, got {len(env.data)}"
            )
        return env.data[0]
    if env.id is None:
        raise msgspec.ValidationError("Object missing required field `id`")
    return PhoneNumber(
        id=env.id,
        phone_number=env.phone_number,
        display_name=env.display_name,
        onboarding_scope=env.onboarding_scope,
    )


def decode_download_url(data: bytes) -> str:
    """Decode ``GET /files/{mediaKey}``: the pre-signed URL.

    The docs say only that the endpoint "returns a pre-signed temporary URL". Accepted: a JSON
    object with a ``url`` field (other fields ignored), a JSON string, or the URL as plain text.
    """
    stripped = data.strip()
    if stripped[:1] not in (b"{", b'"'):
        try:
            return stripped.decode()
        except UnicodeDecodeError as exc:
            raise msgspec.DecodeError(f"the download URL is not UTF-8 text: {exc}") from None
    value = _download_url_decoder.decode(stripped)
    return value if isinstance(value, str) else value.url
