"""Checks a message against every rule the API docs state, before any request leaves.

Every failure is a ``ValidationError`` whose ``field`` is the wire name of the offending field
(camelCase, dotted for nested fields and indexed for list items: ``body.image.url``,
``messages[0].destinations[1]``) and whose message names it too.

Top-level messages, Legacy SMS entries and ``fallbackRcs`` are checked field by field with the
plain functions below: cheap ``isinstance`` tests and regexes compiled once, since bulk senders
validate a million messages. Leaf objects (RCS bodies, WhatsApp template and body, ``fallbackSms``)
are checked by ``msgspec.convert`` against their Structs, which gives type checks, required
fields and unknown-key rejection in one pass; its errors are translated to ours.

Rules decided here where the docs are silent:

* destination: ``+`` then 6 to 15 digits (E.164 allows at most 15). A ``00`` prefix or a bare
  national number is refused, since the docs ask for international format (``+393201234567``)
  and rewriting ``00`` would guess at the caller's intent.
* sender: 1 to 11 characters of ASCII letters, digits and spaces with at least one letter or
  digit (alphanumeric), or numeric: an optional ``+`` and 1 to 16 digits (E.164's 15 plus one
  spare, as SMS gateways commonly allow for numeric originators).
* required strings may not be empty; ``messageId`` and ``campaignId`` may not be empty when given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, NamedTuple, TypeVar
from uuid import UUID

import msgspec

from .._exceptions import ValidationError
from ._base import MAX_ID, format_scheduled_date
from .rcs import RcsBody, RcsCard, RcsCarousel, RcsMessage, RcsText
from .sms import LegacySmsMessage, LegacySmsRequest, SmsMessage
from .whatsapp import (
    FallbackRcs,
    FallbackSms,
    WhatsAppBody,
    WhatsAppMessage,
    WhatsAppTemplate,
)

__all__ = [
    "MAX_CAMPAIGN_ID_LENGTH",
    "checked",
    "convert_input",
    "SPECS",
    "unfilled_placeholders",
    "validate_legacy_request",
    "validate_rcs",
    "validate_sms",
    "validate_whatsapp",
]

MAX_CAMPAIGN_ID_LENGTH = 255

_DESTINATION = re.compile(r"\+[0-9]{6,15}")
_ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 ]{1,11}")
_NUMERIC_SENDER = re.compile(r"\+?[0-9]{1,16}")
_HEX = re.compile(r"(?:[0-9A-Fa-f]{2})+")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
# Tracked links ({shortLinkT1}) are filled by the platform itself (faq.md).
_TRACKED_LINK = re.compile(r"shortLinkT[0-9]+")
_MSGSPEC_NAMED_FIELD = re.compile(r"(?:missing required|unknown) field `([^`]+)`")

_Check = Callable[[Any, str], Any]


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _type_error(field: str, expected: str, value: object) -> ValidationError:
    return ValidationError(f"{field} must be {expected}, got {type(value).__name__}", field=field)


def unfilled_placeholders(body: str, placeholders: Mapping[str, Any]) -> list[str]:
    """The ``{name}`` placeholders of a send body that ``placeholders`` does not fill, in
    order, each once (tracked links such as ``{shortLinkT1}`` are the platform's to fill)."""
    if "{" not in body:
        return []
    out: list[str] = []
    for name in _PLACEHOLDER.findall(body):
        if name not in placeholders and name not in out and not _TRACKED_LINK.fullmatch(name):
            out.append(name)
    return out


# --- field checks: each takes the value (never None) and its wire path, returns the value to keep


def _string(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _type_error(field, "a string", value)
    if not value:
        raise ValidationError(f"{field} must not be empty", field=field)
    return value


def _destination(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _type_error(field, "a string", value)
    if _DESTINATION.fullmatch(value) is None:
        # The number itself stays out of the message: it is personal data and ends up in logs.
        raise ValidationError(
            f"{field} must be in international format: '+' then 6 to 15 digits, e.g. +393201234567",
            field=field,
        )
    return value


def _sender(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _type_error(field, "a string", value)
    if _NUMERIC_SENDER.fullmatch(value) is None and (
        _ALPHANUMERIC_SENDER.fullmatch(value) is None or not value.strip()
    ):
        raise ValidationError(
            f"{field} must be alphanumeric (letters, digits and spaces, at most 11 characters)"
            f" or numeric (an optional '+' and at most 16 digits), got {value!r}",
            field=field,
        )
    return value


def _campaign_id(value: Any, field: str) -> str:
    text = _string(value, field)
    if len(text) > MAX_CAMPAIGN_ID_LENGTH:
        raise ValidationError(
            f"{field} must be at most {MAX_CAMPAIGN_ID_LENGTH} characters, got {len(text)}",
            field=field,
        )
    return text


def _hex(value: Any, field: str) -> str:
    if not isinstance(value, str):
        raise _type_error(field, "a string", value)
    if _HEX.fullmatch(value) is None:
        raise ValidationError(
            f"{field} must be hexadecimal (an even number of 0-9, a-f digits)", field=field
        )
    return value


def _bool(value: Any, field: str) -> bool:
    if not isinstance(value, bool):
        raise _type_error(field, "a bool", value)
    return value


def _positive_int(value: Any, field: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise _type_error(field, "an int", value)
    if not 0 < value <= MAX_ID:
        raise ValidationError(
            f"{field} must be an integer from 1 to {MAX_ID}, got {_short(value)}", field=field
        )
    return value


def _short(value: int) -> str:
    text = str(value)
    return text if len(text) <= 30 else f"{text[:12]}...({len(text)} digits)"


def _placeholders(value: Any, field: str) -> dict[str, str]:
    if not isinstance(value, Mapping):
        raise _type_error(field, "a dict of str to str", value)
    for k, v in value.items():
        if not isinstance(k, str):
            raise ValidationError(
                f"{field} keys must be strings, got {type(k).__name__}", field=field
            )
        if not isinstance(v, str):
            raise _type_error(f"{field}.{k}", "a string", v)
    # A copy: the caller's dict stays theirs to change after the call.
    return dict(value)


def _scheduled(value: Any, field: str) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValidationError(
                f"{field} must be a timezone-aware datetime (the API needs the offset)",
                field=field,
            )
        return format_scheduled_date(value)
    if isinstance(value, str):
        return _string(value, field)
    raise _type_error(field, "a timezone-aware datetime or a string", value)


def _string_list(item: _Check) -> _Check:
    def check(value: Any, field: str) -> list[Any]:
        if not isinstance(value, (list, tuple)):
            raise _type_error(field, "a list", value)
        if not value:
            raise ValidationError(f"{field} must not be empty", field=field)
        return [item(v, f"{field}[{i}]") for i, v in enumerate(value)]

    return check


# --- nested leaf objects, converted and checked by msgspec


def _translate(err: msgspec.ValidationError, path: str) -> ValidationError:
    # msgspec says e.g. "Expected `int` >= 1 - at `$.id`" or "Object contains unknown field
    # `urll` - at `$.image`"; rebuild the wire path from ``path`` and the ``$...`` suffix.
    text = str(err)
    head, sep, where = text.partition(" - at `$")
    sub = where[:-1] if sep else ""
    named = _MSGSPEC_NAMED_FIELD.search(head)
    if named is not None:
        sub = f"{sub}.{named.group(1)}"
    field = f"{path}{sub}" if path else sub.lstrip(".")
    return ValidationError(f"Invalid {field}: {head[:1].lower()}{head[1:]}", field=field or None)


# Passed through to_builtins as they are, so the type check sees them: otherwise bytes would
# become base64 text and a datetime an ISO string, and be sent as the message.
_RAW_TYPES = (bytes, bytearray, memoryview, datetime, date, time, timedelta, UUID, Decimal)


def _convert(value: Any, type_: Any, field: str) -> Any:
    # Structs go through to_builtins as well: msgspec.convert hands an instance of the target
    # type back unchecked, and a Struct built in Python may hold anything.
    try:
        data = msgspec.to_builtins(value, builtin_types=_RAW_TYPES)
        return msgspec.convert(data, type_)
    except msgspec.ValidationError as exc:
        raise _translate(exc, field) from None
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"Invalid {field or 'value'}: {exc}", field=field or None) from None
    except RecursionError:
        raise ValidationError(
            f"{field or 'the value'} is nested too deeply, or contains itself",
            field=field or None,
        ) from None


def _exactly_one(obj: msgspec.Struct, names: tuple[str, ...], field: str) -> None:
    # A pair (url / key) names its first field, as the docs' tables do; a longer list (the
    # WhatsApp body's content kinds) names the object holding them.
    given = [n for n in names if getattr(obj, n) is not None]
    if len(given) == 1:
        return
    cls = type(obj)
    got = ", ".join(_wire_name(cls, n) for n in given) or "none"
    if len(names) == 2:
        first, second = (_join(field, _wire_name(cls, n)) for n in names)
        raise ValidationError(
            f"exactly one of {first} and {second} is required (got {got})", field=first
        )
    wire = ", ".join(_wire_name(cls, n) for n in names)
    raise ValidationError(f"{field} must have exactly one of {wire} (got {got})", field=field)


def _wire_name(cls: type[msgspec.Struct], name: str) -> str:
    return cls.__struct_encode_fields__[cls.__struct_fields__.index(name)]


def _rcs_body(value: Any, field: str) -> Any:
    return _convert(value, RcsBody, field)


def _template(value: Any, field: str) -> WhatsAppTemplate:
    return _convert(value, WhatsAppTemplate, field)  # type: ignore[no-any-return]


_WHATSAPP_CONTENT = (
    "text",
    "image",
    "video",
    "audio",
    "document",
    "sticker",
    "location",
    "reaction",
)
_MEDIA = ("image", "video", "audio", "document", "sticker")


def _whatsapp_body(value: Any, field: str) -> WhatsAppBody:
    body: WhatsAppBody = _convert(value, WhatsAppBody, field)
    _exactly_one(body, _WHATSAPP_CONTENT, field)
    for name in _MEDIA:
        media = getattr(body, name)
        if media is not None:
            _exactly_one(media, ("url", "key"), f"{field}.{name}")
    return body


def _fallback_sms(value: Any, field: str) -> FallbackSms:
    sms: FallbackSms = _convert(value, FallbackSms, field)
    _sender(sms.sender, f"{field}.sender")
    return sms


def _any(value: Any, field: str) -> Any:
    # Checked later by a cross-field rule that knows what the value must be.
    return value


_RCS_CONTENT: dict[str, type[msgspec.Struct]] = {
    "TEXT": RcsText,
    "CARD": RcsCard,
    "CAROUSEL": RcsCarousel,
}


def _rcs_type(value: Any, field: str) -> str:
    # isinstance first: a list or dict is unhashable, and ``in`` a dict would raise TypeError.
    if not isinstance(value, str) or value not in _RCS_CONTENT:
        raise ValidationError(
            f"{field} must be one of TEXT, CARD, CAROUSEL, got {value!r}", field=field
        )
    return str(value)


# --- field-by-field Structs


class _Spec(NamedTuple):
    cls: type[msgspec.Struct]
    checked: frozenset[str]  # the attributes given a check
    fields: tuple[tuple[str, str, bool, _Check], ...]  # attribute, wire name, required, check
    by_wire: dict[str, str]
    rules: Callable[[dict[str, Any], str], None] | None


def _spec(
    cls: type[msgspec.Struct],
    checks: dict[str, _Check],
    rules: Callable[[dict[str, Any], str], None] | None = None,
) -> _Spec:
    infos = msgspec.structs.fields(cls)
    missing = {f.name for f in infos} - set(checks)
    if missing:
        # A field added to a model without a check; tests/test_validation.py also holds the
        # other direction (no check for a field that does not exist).
        raise TypeError(f"{cls.__name__}: no validation for {sorted(missing)}")
    return _Spec(
        cls,
        frozenset(checks),
        tuple((f.name, f.encode_name, f.required, checks[f.name]) for f in infos),
        {f.encode_name: f.name for f in infos},
        rules,
    )


def _validate(value: Any, spec: _Spec, path: str) -> Any:
    if isinstance(value, spec.cls):
        items = [getattr(value, name) for name, _, _, _ in spec.fields]
    elif isinstance(value, Mapping):
        given = {}
        for key, item in value.items():
            name = spec.by_wire.get(key) if isinstance(key, str) else None
            if name is None:
                field = _join(path, str(key))
                raise ValidationError(f"Invalid {field}: unknown field", field=field)
            given[name] = item
        items = [given.get(name) for name, _, _, _ in spec.fields]
    else:
        raise _type_error(path, f"a {spec.cls.__name__} or a dict", value)
    out: dict[str, Any] = {}
    for (name, wire, required, check), item in zip(spec.fields, items, strict=True):
        if item is None:
            if required:
                field = _join(path, wire)
                raise ValidationError(f"{field} is required", field=field)
            continue
        out[name] = check(item, f"{path}.{wire}" if path else wire)
    if spec.rules is not None:
        spec.rules(out, path)
    return spec.cls(**out)


def _rcs_rules(out: dict[str, Any], path: str) -> None:
    if ("body" in out) == ("template_id" in out):
        raise ValidationError(
            "exactly one of body and templateId is required (body: inline content,"
            " templateId: an RCS template)",
            field=_join(path, "body"),
        )


def _fallback_rcs_rules(out: dict[str, Any], path: str) -> None:
    if ("body" in out) == ("template_id" in out):
        raise ValidationError(
            f"exactly one of {path}.templateId and {path}.body is required",
            field=_join(path, "templateId"),
        )
    if "body" in out:
        type_ = out.get("type")
        if type_ is None:
            raise ValidationError(f"{path}.type is required with {path}.body", field=f"{path}.type")
        out["body"] = _convert(out["body"], _RCS_CONTENT[type_], f"{path}.body")
    elif "type" in out:
        raise ValidationError(
            f"{path}.type goes with {path}.body, not with templateId", field=f"{path}.type"
        )


_FALLBACK_RCS = _spec(
    FallbackRcs,
    {"agent_id": _positive_int, "template_id": _positive_int, "type": _rcs_type, "body": _any},
    _fallback_rcs_rules,
)


def _fallback_rcs(value: Any, field: str) -> FallbackRcs:
    return _validate(value, _FALLBACK_RCS, field)  # type: ignore[no-any-return]


def _whatsapp_rules(out: dict[str, Any], path: str) -> None:
    if ("template" in out) == ("body" in out):
        raise ValidationError(
            "exactly one of template and body is required (template: a Meta-approved template,"
            " body: free-form content)",
            field="template",
        )
    if "fallback_rcs" in out and "fallback_sms" not in out:
        raise ValidationError(
            "fallbackSms is required when fallbackRcs is given", field="fallbackSms"
        )


def _legacy_message_rules(out: dict[str, Any], path: str) -> None:
    ids = out.get("ids")
    if ids is not None and len(ids) != len(out["destinations"]):
        raise ValidationError(
            f"{path}.ids must have one id per destination"
            f" ({len(ids)} ids, {len(out['destinations'])} destinations)",
            field=f"{path}.ids",
        )
    if out.get("hex_body"):
        _hex(out["body"], f"{path}.body")


_COMMON: dict[str, _Check] = {
    "destination": _destination,
    "campaign_id": _campaign_id,
    "message_id": _string,
    "simulation": _bool,
    "enable_notification": _bool,
    "placeholders": _placeholders,
    "scheduled_date": _scheduled,
}


def _sms_rules(out: dict[str, Any], path: str) -> None:
    unfilled = unfilled_placeholders(out["body"], out.get("placeholders") or {})
    if unfilled:
        names = ", ".join("{" + n + "}" for n in unfilled)
        given = ", ".join(sorted(out.get("placeholders") or {})) or "none"
        raise ValidationError(
            f"body uses {names}, which placeholders does not fill (placeholders given: {given});"
            " the API would send the braces as written",
            field=_join(path, "body"),
        )


_SMS = _spec(
    SmsMessage,
    {
        **_COMMON,
        "sender": _sender,
        "body": _string,
        "udh_data": _hex,
        "skip_rcs_override": _bool,
    },
    _sms_rules,
)
_RCS = _spec(
    RcsMessage,
    {
        **_COMMON,
        "agent_id": _positive_int,
        "body": _rcs_body,
        "template_id": _positive_int,
        "max_sms_parts": _positive_int,
    },
    _rcs_rules,
)
_WHATSAPP = _spec(
    WhatsAppMessage,
    {
        **_COMMON,
        "phone_number_id": _positive_int,
        "template": _template,
        "body": _whatsapp_body,
        "fallback_rcs": _fallback_rcs,
        "fallback_sms": _fallback_sms,
    },
    _whatsapp_rules,
)
_LEGACY_MESSAGE = _spec(
    LegacySmsMessage,
    {
        "destinations": _string_list(_destination),
        "sender": _sender,
        "body": _string,
        "ids": _string_list(_string),
        "hex_body": _bool,
        "udh_data": _hex,
        "scheduling": _scheduled,
    },
    _legacy_message_rules,
)


def _legacy_messages(value: Any, field: str) -> list[LegacySmsMessage]:
    if not isinstance(value, (list, tuple)):
        raise _type_error(field, "a list", value)
    if not value:
        raise ValidationError(f"{field} must hold at least one message", field=field)
    return [_validate(m, _LEGACY_MESSAGE, f"{field}[{i}]") for i, m in enumerate(value)]


_LEGACY = _spec(
    LegacySmsRequest,
    {
        "messages": _legacy_messages,
        "global_id": _string,
        "enable_concatenated": _bool,
        "enable_unicode": _bool,
        "enable_delivery": _bool,
        "simulation": _bool,
        "skip_rcs_override": _bool,
    },
)


def validate_sms(message: SmsMessage) -> SmsMessage:
    """A checked copy of an SMS message (scheduled date formatted); raises ``ValidationError``."""
    return _validate(message, _SMS, "")  # type: ignore[no-any-return]


def validate_rcs(message: RcsMessage) -> RcsMessage:
    """A checked copy of an RCS message, nested dicts converted to Structs."""
    return _validate(message, _RCS, "")  # type: ignore[no-any-return]


def validate_whatsapp(message: WhatsAppMessage) -> WhatsAppMessage:
    """A checked copy of a WhatsApp message, nested dicts converted to Structs."""
    return _validate(message, _WHATSAPP, "")  # type: ignore[no-any-return]


def validate_legacy_request(request: LegacySmsRequest) -> LegacySmsRequest:
    """A checked copy of a Legacy SMS request, message dicts converted to ``LegacySmsMessage``."""
    return _validate(request, _LEGACY, "")  # type: ignore[no-any-return]


SPECS = (_SMS, _RCS, _WHATSAPP, _FALLBACK_RCS, _LEGACY_MESSAGE, _LEGACY)
"""Every field-by-field spec (the tests check each covers exactly its Struct's fields)."""


S = TypeVar("S", bound=msgspec.Struct)


def convert_input(value: Any, type_: type[S], field: str) -> S:
    """``value`` (a dict spelled as the docs, or a Struct) checked and converted to
    ``type_``; ``ValidationError`` names the wire field under ``field``."""
    return _convert(value, type_, field)  # type: ignore[no-any-return]


def checked(request: S) -> S:
    """``request`` checked against its Struct's own rules (types, required fields, ``Meta``
    constraints such as lengths and patterns), as a new instance; ``ValidationError`` names
    the wire field. The rules are stated once, on the Struct: this only runs them."""
    return _convert(request, type(request), "")  # type: ignore[no-any-return]
