"""Messages from data: rows (dicts, CSV, JSON lines) to messages, lazily.

::

    report = await client.bulk.run(
        messages_from_rows(read_csv("recipients.csv"), sender="MyBrand", body="Ciao {nome}")
    )

Each row gives one message: the destination from ``destination_field`` and the row's other
fields as the message's ``placeholders``, which the API fills into the body's ``{name}``
placeholders. The body template is passed through exactly as written: the library never
fills or rewrites placeholders itself.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import msgspec

from ..models import Message, RcsMessage, SmsMessage, WhatsAppMessage

__all__ = ["messages_from_rows", "read_csv", "read_jsonl"]

Channel = Literal["sms", "rcs", "whatsapp"]

_CLASSES: dict[str, type[SmsMessage] | type[RcsMessage] | type[WhatsAppMessage]] = {
    "sms": SmsMessage,
    "rcs": RcsMessage,
    "whatsapp": WhatsAppMessage,
}


def read_csv(
    path: str | os.PathLike[str], *, encoding: str = "utf-8-sig", delimiter: str = ","
) -> Iterator[dict[str, str]]:
    """The rows of a CSV file with a header line, one dict each, read lazily.

    ``utf-8-sig`` reads files saved by spreadsheet programs (with a byte-order mark) as well as
    plain UTF-8.
    """
    with open(path, newline="", encoding=encoding) as f:
        for row in csv.DictReader(f, delimiter=delimiter):
            # A short row has None for its missing cells; a long one a None key.
            yield {k: v for k, v in row.items() if k is not None and v is not None}


def read_jsonl(
    path: str | os.PathLike[str], *, encoding: str = "utf-8"
) -> Iterator[dict[str, Any]]:
    """The objects of a JSON Lines file, one dict per non-blank line, read lazily."""
    decoder = msgspec.json.Decoder(dict[str, Any])
    with open(path, encoding=encoding) as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                yield decoder.decode(line)
            except msgspec.DecodeError as exc:
                raise ValueError(f"{os.fspath(path)}, line {number}: {exc}") from None


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def messages_from_rows(
    rows: Iterable[Mapping[str, Any]],
    *,
    channel: Channel = "sms",
    destination_field: str = "destination",
    placeholder_fields: Sequence[str] | None = None,
    message_id_field: str | None = None,
    **fields: Any,
) -> Iterator[Message]:
    """One message per row, lazily: a CSV of recipients is one line of code.

    ``channel`` picks ``SmsMessage`` (default), ``RcsMessage`` or ``WhatsAppMessage``;
    ``fields`` are the message's other fields, the same for every row (``sender="MyBrand",
    body="Ciao {nome}"`` for SMS; ``agent_id=...`` for RCS; ``phone_number_id=...,
    template={"id": 7}`` for WhatsApp). The destination comes from ``destination_field``; a
    ``message_id_field`` gives each message your own id. The placeholders are the row's other
    fields (or only ``placeholder_fields``), values as text. A row without a destination still
    gives a message: the job rejects it by validation, so it has an outcome like every row.
    """
    try:
        cls = _CLASSES[channel]
    except KeyError:
        raise ValueError(f"channel must be 'sms', 'rcs' or 'whatsapp', got {channel!r}") from None
    reserved = {destination_field}
    if message_id_field is not None:
        reserved.add(message_id_field)
    wanted = tuple(placeholder_fields) if placeholder_fields is not None else None
    for row in rows:
        if wanted is None:
            placeholders = {k: _text(v) for k, v in row.items() if k not in reserved}
        else:
            placeholders = {k: _text(row[k]) for k in wanted if k in row}
        extra: dict[str, Any] = dict(fields)
        if placeholders:
            base = extra.get("placeholders")
            extra["placeholders"] = {**base, **placeholders} if base else placeholders
        if message_id_field is not None:
            mid = row.get(message_id_field)
            if mid not in (None, ""):
                extra["message_id"] = _text(mid)
        yield cls(destination=_text(row.get(destination_field)).strip(), **extra)
