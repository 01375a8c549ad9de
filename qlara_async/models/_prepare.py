"""The entry point the transport uses: validate, complete and encode a message, once.

``prepare_message`` returns everything a send needs: the path, the message id, and the exact
JSON body. The id is set before the body is encoded, so every attempt of a send (retries
included) carries the same ``messageId`` and a server that de-duplicates by it processes the
message once.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import NamedTuple

import msgspec

from .._exceptions import ValidationError
from ._validation import validate_legacy_request, validate_rcs, validate_sms, validate_whatsapp
from .rcs import RcsMessage
from .send import decode_send_result
from .sms import LegacySmsRequest, SmsMessage
from .whatsapp import WhatsAppMessage

__all__ = [
    "Message",
    "PreparedLegacySms",
    "PreparedMessage",
    "RCS_SEND_PATH",
    "SMS_SEND_PATH",
    "WHATSAPP_SEND_PATH",
    "decode_send_result",
    "encode_body",
    "prepare_legacy_sms",
    "prepare_message",
    "validate_message",
]

# A message's endpoint is part of its wire form (the bulk sender and the channel resources both
# send by message type), so the three send paths sit with the table that routes messages.
SMS_SEND_PATH = "/message-server/sms/send"
RCS_SEND_PATH = "/message-server/rcs/send"
WHATSAPP_SEND_PATH = "/message-server/whatsapp/send"

Message = SmsMessage | RcsMessage | WhatsAppMessage
"""Any message ``client.send`` takes."""

_encoder = msgspec.json.Encoder()


def encode_body(value: object) -> bytes:
    """The JSON body of a request; text that is not valid Unicode (a lone surrogate such as
    ``"\ud800"``, e.g. from a badly decoded file) is a ``ValidationError`` naming its field."""
    try:
        return _encoder.encode(value)
    except RecursionError:
        raise ValidationError("the request is nested too deeply, or contains itself") from None
    except UnicodeEncodeError:
        field = _bad_text(msgspec.to_builtins(value), "")
        raise ValidationError(
            f"{field or 'the request'} is not valid Unicode text (it holds a lone surrogate)",
            field=field,
        ) from None


def _bad_text(value: object, path: str) -> str | None:
    """The wire path of the first string that cannot be encoded as UTF-8."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            sub = f"{path}.{key}" if path else str(key)
            found = _bad_text(key, sub) or _bad_text(item, sub)
            if found is not None:
                return found
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found = _bad_text(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def _new_uuid() -> str:
    """A random (version 4) UUID as text, as ``str(uuid.uuid4())`` gives, at a third of its
    cost (no ``UUID`` object): one is made for every message a bulk job sends."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # the RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class PreparedMessage(NamedTuple):
    """A validated message, ready to send."""

    path: str
    """Where to POST it, relative to the base URL."""
    message_id: str
    """Its ``messageId``: the caller's, or the one generated for it."""
    content: bytes
    """The exact JSON body, ``messageId`` included."""
    message: Message
    """The normalised copy: nested dicts converted, ``message_id`` set, dates formatted."""


_ROUTES: dict[type, tuple[str, Callable[..., Message]]] = {
    SmsMessage: (SMS_SEND_PATH, validate_sms),
    RcsMessage: (RCS_SEND_PATH, validate_rcs),
    WhatsAppMessage: (WHATSAPP_SEND_PATH, validate_whatsapp),
}


def _route(message: object) -> tuple[str, Callable[..., Message]]:
    route = _ROUTES.get(type(message))
    if route is None:
        for cls, found in _ROUTES.items():
            if isinstance(message, cls):
                return found
        raise ValidationError(
            "message must be an SmsMessage, RcsMessage or WhatsAppMessage,"
            f" got {type(message).__name__}"
        )
    return route


def validate_message(message: Message) -> Message:
    """Check ``message`` against the API's rules and return a normalised copy.

    Nested dicts become the library's Structs and a ``datetime`` scheduled date becomes the
    API's string; ``message_id`` is left as given. The caller's object is never changed.
    Raises ``ValidationError`` naming the offending wire field.
    """
    return _route(message)[1](message)


def prepare_message(message: Message, *, new_id: Callable[[], str] = _new_uuid) -> PreparedMessage:
    """Validate ``message``, give it a ``messageId`` if it has none, and encode it.

    ``new_id`` is called once, only when the message has no id, before the body is encoded.
    Raises ``ValidationError`` before anything is sent.
    """
    path, validate = _route(message)
    normalised = validate(message)
    if normalised.message_id is None:
        # ``normalised`` is our own copy, so setting the id here leaves the caller's alone.
        normalised.message_id = new_id()
    return PreparedMessage(path, normalised.message_id, encode_body(normalised), normalised)


class PreparedLegacySms(NamedTuple):
    """A validated Legacy SMS request, ready to send."""

    global_id: str
    """Its ``globalId``: the caller's, or the one generated for it."""
    content: bytes
    """The exact JSON body, ``globalId`` included."""
    request: LegacySmsRequest
    """The normalised copy."""


def prepare_legacy_sms(
    request: LegacySmsRequest, *, new_id: Callable[[], str] = _new_uuid
) -> PreparedLegacySms:
    """Validate a Legacy SMS request, give it a ``globalId`` if it has none, and encode it.

    The API would make a ``globalId`` itself, but one made here before the first attempt stays
    the same across retries, so a retried request names the same sending session.
    """
    normalised = validate_legacy_request(request)
    if normalised.global_id is None:
        normalised.global_id = new_id()
    return PreparedLegacySms(normalised.global_id, encode_body(normalised), normalised)
