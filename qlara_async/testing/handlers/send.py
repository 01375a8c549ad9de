"""The send APIs: SMS (Universal and Legacy), RCS and WhatsApp sends, SMS credit, WhatsApp phone
numbers, and inbound media URLs.

Every send is strictly parsed (400 JSend naming the field), de-duplicated by ``messageId``
(``globalId`` for a legacy send) per API key and endpoint, processed (an answer per destination:
``accepted``, or rejected with reasons for :attr:`Simulator.rejected_destinations`) and logged in
:attr:`Simulator.processed`. ``simulation: true`` validates only.
"""

from __future__ import annotations

import hashlib
import math
import re
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Final

import msgspec

from ._api import Fail, NotFound, Reply, Request, json, route
from ._send_schemas import (
    FallbackRcs,
    LegacyMessage,
    LegacySendRequest,
    RcsSendRequest,
    SmsSendRequest,
    WhatsAppSendRequest,
)

__all__ = ["sms_parts"]

_encode: Final = msgspec.json.Encoder().encode


def _digest(content: Any) -> str:
    raw = content.encode() if isinstance(content, str) else _encode(content)
    return hashlib.blake2b(raw, digest_size=8).hexdigest()


def _require(**values: Any) -> None:
    errors = {name: f"'{name}' can't be blank" for name, v in values.items() if v in (None, "", [])}
    if errors:
        raise Fail(errors)


# yyyy-MM-dd HH:mm:ss.SSSZ, the one format the reference gives for scheduled dates.
_SCHEDULED: Final = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}")


def _check_scheduled(value: str | None, name: str) -> None:
    if value is None:
        return
    try:
        if not _SCHEDULED.fullmatch(value):
            raise ValueError(value)
        datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f%z")  # a real date and time
    except ValueError:
        raise Fail({name: f"'{name}' must be formatted yyyy-MM-dd HH:mm:ss.SSSZ"}) from None


_RCS_TYPES: Final = ("TEXT", "CARD", "CAROUSEL")


# GSM 03.38: the basic set costs one septet per character, the extension set two; anything else
# forces UCS-2. Parts follow the usual 160/153 and 70/67 split.
_GSM_BASIC: Final = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXT: Final = frozenset("^{}\\[~]|€\f")


def sms_parts(text: str) -> tuple[bool, int]:
    """``(unicode, parts)`` for an SMS text."""
    septets = 0
    for ch in text:
        if ch in _GSM_BASIC:
            septets += 1
        elif ch in _GSM_EXT:
            septets += 2
        else:
            n = len(text.encode("utf-16-le")) // 2
            return True, 1 if n <= 70 else math.ceil(n / 67)
    return False, 1 if septets <= 160 else math.ceil(septets / 153)


def _fill(text: str, placeholders: Mapping[str, str] | None) -> str:
    for name, value in (placeholders or {}).items():
        text = text.replace("{" + name + "}", value)
    return text


def _send_common(
    request: Request,
    channel: str,
    message_id: str | None,
    destination: str,
    simulation: bool,
    digest: str,
    result: Callable[[bool, list[str]], dict[str, Any]],
) -> Reply:
    """De-duplicate, process and remember one single-destination send."""
    seen = request.seen(channel, message_id)
    if seen is not None:
        return json(seen)
    mid = message_id or str(uuid.uuid4())
    reasons = request.settings.rejected_destinations.get(destination)
    accepted = reasons is None
    payload = {
        "messageId": mid,
        "simulation": simulation,
        "results": result(accepted, reasons or []),
    }
    if simulation:
        # A dry run is validated only: not processed, and its id stays free for the real send.
        request.count_simulated()
        return json(payload)
    request.record(mid, channel, destination, digest, accepted)
    return json(request.remember(channel, mid, payload))


@route("POST", "/message-server/sms/send")
def _sms_send(request: Request) -> Reply:
    req = request.decode(SmsSendRequest, errors="jsend")
    _require(destination=req.destination, sender=req.sender, body=req.body)
    assert req.destination is not None and req.body is not None
    _check_scheduled(req.scheduled_date, "scheduledDate")
    unicode, parts = sms_parts(_fill(req.body, req.placeholders))

    def result(accepted: bool, reasons: list[str]) -> dict[str, Any]:
        sms = {"accepted": accepted, "unicode": unicode, "parts": parts, "reasons": reasons}
        return {"sms": sms, "rcs": None, "whatsapp": None}

    digest = _digest([req.body, req.placeholders])
    return _send_common(
        request, "sms", req.message_id, req.destination, req.simulation, digest, result
    )


@route("POST", "/message-server/rcs/send")
def _rcs_send(request: Request) -> Reply:
    req = request.decode(RcsSendRequest, errors="jsend")
    _require(destination=req.destination, agentId=req.agent_id)
    assert req.destination is not None
    if (req.body is None) == (req.template_id is None):
        raise Fail({"body": "exactly one of 'body' or 'templateId' is required"})
    if req.body is not None and req.body.type not in _RCS_TYPES:
        raise Fail({"body.type": "'body.type' must be TEXT, CARD or CAROUSEL"})
    _check_scheduled(req.scheduled_date, "scheduledDate")

    def result(accepted: bool, reasons: list[str]) -> dict[str, Any]:
        return {"rcs": {"accepted": accepted, "reasons": reasons}, "sms": None, "whatsapp": None}

    content = msgspec.to_builtins(req.body) if req.body is not None else req.template_id
    digest = _digest([content, req.placeholders])
    return _send_common(
        request, "rcs", req.message_id, req.destination, req.simulation, digest, result
    )


_WA_BODY_KINDS: Final = frozenset(
    ("text", "image", "video", "audio", "document", "sticker", "location", "reaction")
)


@route("POST", "/message-server/whatsapp/send")
def _whatsapp_send(request: Request) -> Reply:
    req = request.decode(WhatsAppSendRequest, errors="jsend")
    _require(destination=req.destination, phoneNumberId=req.phone_number_id)
    assert req.destination is not None
    if (req.body is None) == (req.template is None):
        raise Fail({"body": "exactly one of 'template' or 'body' is required"})
    if req.body is not None:
        kinds = [k for k in req.body if k != "replyMessageId"]
        unknown = [k for k in kinds if k not in _WA_BODY_KINDS]
        if unknown:
            raise Fail({f"body.{unknown[0]}": f"'body.{unknown[0]}' is not a known field"})
        if len(kinds) != 1:
            raise Fail({"body": "'body' must contain exactly one content object"})
    if req.fallback_rcs is not None:
        if req.fallback_sms is None:
            raise Fail({"fallbackSms": "'fallbackSms' is required when 'fallbackRcs' is present"})
        _check_fallback_rcs(req.fallback_rcs)
    _check_scheduled(req.scheduled_date, "scheduledDate")

    def result(accepted: bool, reasons: list[str]) -> dict[str, Any]:
        wa = {"accepted": accepted, "reasons": reasons}
        return {"whatsapp": wa, "rcs": None, "sms": None}

    content = req.body if req.body is not None else msgspec.to_builtins(req.template)
    digest = _digest([content, req.placeholders])
    return _send_common(
        request, "whatsapp", req.message_id, req.destination, req.simulation, digest, result
    )


def _check_fallback_rcs(fb: FallbackRcs) -> None:
    """``agentId`` plus exactly one of ``templateId`` or ``type`` + ``body``."""
    if (fb.template_id is None) == (fb.body is None):
        name = "fallbackRcs.templateId"
        raise Fail({name: f"exactly one of '{name}' or 'fallbackRcs.body' is required"})
    if fb.body is not None and fb.type is None:
        raise Fail({"fallbackRcs.type": "'fallbackRcs.type' is required with 'body'"})
    if fb.body is None and fb.type is not None:
        raise Fail({"fallbackRcs.type": "'fallbackRcs.type' goes with 'body' only"})
    if fb.type is not None and fb.type not in _RCS_TYPES:
        raise Fail({"fallbackRcs.type": "'fallbackRcs.type' must be TEXT, CARD or CAROUSEL"})


@route("POST", "/services/sms/send")
def _legacy_send(request: Request) -> Reply:
    req = request.decode(LegacySendRequest, errors="jsend")
    _require(messages=req.messages)
    assert req.messages is not None
    # Validate every message before recording any: a request answered 400 must leave nothing
    # processed, or a client that fixes and resends it would see its first messages twice.
    prepared = [_legacy_message(i, msg) for i, msg in enumerate(req.messages)]
    seen = request.seen("sms_legacy", req.global_id)
    if seen is not None:
        return json(seen)
    global_id = req.global_id or str(uuid.uuid4())
    messages = parts_total = 0
    for i, (msg, parts, digest) in enumerate(prepared):
        assert msg.destinations is not None
        for j, dest in enumerate(msg.destinations):
            messages += 1
            parts_total += parts
            if not req.simulation:
                mid = msg.ids[j] if msg.ids else f"{global_id}-{i}-{j}"
                accepted = dest not in request.settings.rejected_destinations
                request.record(mid, "sms_legacy", dest, digest, accepted)
    payload = {
        "globalId": global_id,
        "processedMessages": messages,
        "processedSmsParts": parts_total,
        "credit": request.settings.credit,
    }
    if req.simulation:
        request.count_simulated()
        return json(payload)
    return json(request.remember("sms_legacy", global_id, payload))


def _legacy_message(i: int, msg: LegacyMessage) -> tuple[LegacyMessage, int, str]:
    """Check message ``i`` of a legacy send; return it with its SMS parts and content digest."""
    errors = {
        f"messages[{i}].{name}": f"'messages[{i}].{name}' can't be blank"
        for name, v in (("destinations", msg.destinations), ("sender", msg.sender))
        if not v
    }
    if msg.body is None or msg.body == "":
        errors[f"messages[{i}].body"] = f"'messages[{i}].body' can't be blank"
    if errors:
        raise Fail(errors)
    assert msg.body is not None
    if msg.ids is not None and len(msg.ids) != len(msg.destinations or ()):
        name = f"messages[{i}].ids"
        raise Fail({name: f"'{name}' must match 'destinations' in length"})
    _check_scheduled(msg.scheduling, f"messages[{i}].scheduling")
    try:
        text = msg.body if not msg.hex_body else bytes.fromhex(msg.body).decode("latin-1")
    except ValueError:
        name = f"messages[{i}].body"
        raise Fail({name: f"'{name}' is not hexadecimal"}) from None
    _, parts = sms_parts(text)
    return msg, parts, _digest(msg.body)


@route("GET", "/services/sms/credit")
def _credit(request: Request) -> Reply:
    return json({"credit": request.settings.credit})


@route("GET", "/message-server/whatsapp/phone-numbers")
def _phone_numbers(request: Request) -> Reply:
    return json({"data": request.settings.phone_numbers})


@route("GET", "/message-server/whatsapp/phone-numbers/{id}")
def _phone_number(request: Request) -> Reply:
    for number in request.settings.phone_numbers:
        if str(number.get("id")) == request.params["id"]:
            return json(number)
    raise NotFound(f"Phone number {request.params['id']} not found.")


# The docs' media keys carry slashes (``b394ab72/efd4987c/39b4...``), kept in the path: one route
# per depth, the key being the segments joined again.
@route("GET", "/files/{k1}/{k2}/{k3}/{k4}")
@route("GET", "/files/{k1}/{k2}/{k3}")
@route("GET", "/files/{k1}/{k2}")
@route("GET", "/files/{mediaKey}")
def _file_url(request: Request) -> Reply:
    raw = request.query.get("expireMinutes", "180")
    try:
        minutes = int(raw)
    except ValueError:
        raise Fail({"expireMinutes": "'expireMinutes' must be an integer"}) from None
    expires = int(request.clock.wall() + minutes * 60)
    key = request.params.get("mediaKey") or "/".join(
        request.params[k] for k in ("k1", "k2", "k3", "k4") if k in request.params
    )
    return json({"url": f"https://media.qlara-simulator.invalid/{key}?expires={expires}"})
