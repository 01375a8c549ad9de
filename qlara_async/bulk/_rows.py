"""Messages from data: rows (dicts, CSV, JSON lines) to messages, lazily.

::

    report = await client.bulk.run(
        messages_from_rows(read_csv("recipients.csv"), sender="MyBrand", body="Ciao {nome}")
    )

Each row gives one message: the destination from ``destination_field`` and the row's other
fields as the message's ``placeholders``, which the API fills into the body's ``{name}``
placeholders. The body template is passed through exactly as written: the library never
fills or rewrites placeholders itself, but it does check, when ``messages_from_rows`` is called,
that the first row's columns fill every ``{placeholder}`` of a text body (a typo would otherwise
go out as is to every recipient). Values are sent as text: ``None`` as empty, booleans as
``true``/``false``, nested values (a JSON line's objects and arrays) as JSON text.
"""

from __future__ import annotations

import codecs
import collections
import csv
import itertools
import os
import re
from collections.abc import Callable, Generator, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

import msgspec

from .._exceptions import ValidationError
from ..models import Message, RcsMessage, SmsMessage, WhatsAppMessage

__all__ = ["InvalidRow", "messages_from_rows", "read_csv", "read_jsonl"]

Channel = Literal["sms", "rcs", "whatsapp"]

_CLASSES: dict[str, type[SmsMessage] | type[RcsMessage] | type[WhatsAppMessage]] = {
    "sms": SmsMessage,
    "rcs": RcsMessage,
    "whatsapp": WhatsAppMessage,
}
# The API's placeholders; tracked short links ({shortLinkT1}, ...) are filled by the platform.
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_SHORT_LINK = re.compile(r"shortLinkT\d+")


def _lines(
    path: str | os.PathLike[str], encoding: str
) -> Generator[tuple[int, str, str | None], None, None]:
    """``(number, text, problem)`` of each line: bytes not valid in ``encoding`` give the line
    decoded with replacement characters and a ``problem`` naming the file and the line."""
    try:
        decoder = codecs.getincrementaldecoder(encoding)()
    except LookupError:
        raise ValidationError(f"unknown encoding {encoding!r}", field="encoding") from None
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise ValidationError(
            f"{os.fspath(path)}: cannot open ({exc.strerror or type(exc).__name__})", field="path"
        ) from None
    with f:
        number = 0
        for number, raw in enumerate(f, 1):
            try:
                yield number, decoder.decode(raw), None
            except UnicodeDecodeError as exc:
                # One bad line costs that row, not the job: decode it anyway (so CSV quoting
                # stays in step) and say what was wrong.
                decoder.reset()
                yield (
                    number,
                    raw.decode(encoding, errors="replace"),
                    f"{os.fspath(path)}, line {number}: not valid {encoding}"
                    f" ({exc.reason} at byte {exc.start} of the line)",
                )
        try:
            tail = decoder.decode(b"", final=True)
        except UnicodeDecodeError as exc:
            yield (
                number,
                "",
                f"{os.fspath(path)}, line {number}: not valid {encoding} ({exc.reason})",
            )
        else:
            if tail:
                yield number, tail, None


class InvalidRow(dict[str, Any]):
    """A row of an input file that could not be read (bad bytes, not valid CSV or JSON, not an
    object): an empty mapping whose ``error`` says which file and line and why.

    ``read_csv`` and ``read_jsonl`` yield one in place of the row, and go on with the next
    line; ``messages_from_rows`` passes it on, and a bulk job gives it its one ``rejected``
    outcome with that error. So one damaged line costs its own row, never the job.
    """

    def __init__(self, error: ValidationError) -> None:
        super().__init__()
        self.error = error

    def __repr__(self) -> str:
        return f"InvalidRow({self.error.message!r})"


class _CsvRows(Iterator[dict[str, str]]):
    """``read_csv``'s iterator: the rows, and ``columns`` (the header) once it is read, so
    ``messages_from_rows`` can check the options against the header, not only the first row."""

    def __init__(self, rows: Generator[dict[str, str], None, None]) -> None:
        self._rows = rows
        self.columns: tuple[str, ...] | None = None

    def __next__(self) -> dict[str, str]:
        return next(self._rows)

    def close(self) -> None:
        """Close the file."""
        self._rows.close()


def read_csv(
    path: str | os.PathLike[str], *, encoding: str = "utf-8-sig", delimiter: str = ","
) -> Iterator[dict[str, str]]:
    """The rows of a CSV file with a header line, one dict each, read lazily.

    ``utf-8-sig`` reads files saved by spreadsheet programs (with a byte-order mark) as well as
    plain UTF-8. A row with bytes not valid in ``encoding``, or that CSV cannot parse (an
    unterminated quote included), comes as an ``InvalidRow`` naming the file and the line, and
    reading goes on with the next line. A file that cannot be opened, or a header naming a
    column twice, raises ``ValidationError``.
    """

    def on_header(columns: tuple[str, ...]) -> None:
        rows.columns = columns

    rows = _CsvRows(_read_csv(path, encoding, delimiter, on_header))
    return rows


def _read_csv(
    path: str | os.PathLike[str],
    encoding: str,
    delimiter: str,
    on_header: Callable[[tuple[str, ...]], None],
) -> Generator[dict[str, str], None, None]:
    name = os.fspath(path)
    lines = _lines(path, encoding)
    pending: collections.deque[tuple[int, str, str | None]] = collections.deque()
    record: list[tuple[int, str, str | None]] = []  # the lines of the record being parsed

    def feed() -> Iterator[str]:
        while True:
            item = pending.popleft() if pending else next(lines, None)
            if item is None:
                return
            record.append(item)
            yield item[1]

    def reader() -> Iterator[list[str]]:
        # strict: an unterminated quote is an error, not a field that swallows every line
        # after it up to the end of the file.
        return csv.reader(feed(), delimiter=delimiter, strict=True)

    try:
        cells = reader()
        header: list[str] = []
        while not header:  # blank lines before the header are skipped, as DictReader does
            try:
                header = next(cells)
            except StopIteration:
                return
            except csv.Error as exc:
                raise ValidationError(f"{name}: the header is not valid CSV ({exc})") from None
        seen: set[str] = set()
        for column in header:
            if column and column in seen:
                raise ValidationError(
                    f"{name}: the header names column {column!r} twice; which one is meant is"
                    " unclear (rename one)",
                    field="rows",
                )
            seen.add(column)
        on_header(tuple(header))
        while True:
            record.clear()
            try:
                row = next(cells)
            except StopIteration:
                return
            except csv.Error as exc:
                # The record began on its first line; that line costs its row, and the lines
                # after it are read again as rows of their own (a stray quote must not eat
                # the recipients after it).
                consumed = list(record)
                if not consumed:
                    raise ValidationError(f"{name}: not valid CSV ({exc})", field="rows") from None
                yield InvalidRow(
                    ValidationError(
                        f"{name}, line {consumed[0][0]}: not valid CSV ({exc})", field="rows"
                    )
                )
                pending.extendleft(reversed(consumed[1:]))
                cells = reader()
                continue
            if not row:
                continue  # a blank line, as csv.DictReader skips it
            bad = next((problem for _, _, problem in record if problem is not None), None)
            if bad is not None:
                yield InvalidRow(ValidationError(bad, field="rows"))
                continue
            # A short row lacks its last cells; a long row's extra cells have no column.
            yield dict(zip(header, row, strict=False))
    finally:
        lines.close()


def read_jsonl(
    path: str | os.PathLike[str], *, encoding: str = "utf-8-sig"
) -> Iterator[dict[str, Any]]:
    """The objects of a JSON Lines file, one dict per non-blank line, read lazily.

    ``utf-8-sig`` reads a file saved with a byte-order mark (its first line intact) as well as
    plain UTF-8.

    A line that is not a JSON object, or not valid ``encoding``, comes as an ``InvalidRow``
    naming the file and the line, and reading goes on. A file that cannot be opened raises
    ``ValidationError``.
    """
    decoder = msgspec.json.Decoder(dict[str, Any])
    lines = _lines(path, encoding)
    try:
        for number, line, problem in lines:
            if problem is not None:
                yield InvalidRow(ValidationError(problem, field="rows"))
                continue
            if not line.strip():
                continue
            try:
                yield decoder.decode(line)
            except msgspec.DecodeError as exc:
                yield InvalidRow(
                    ValidationError(f"{os.fspath(path)}, line {number}: {exc}", field="rows")
                )
    finally:
        lines.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list, tuple)):
        # Nested values (JSON lines) as JSON text, never a Python repr.
        return msgspec.json.encode(value).decode()
    return str(value)


def _check_row(row: Any, number: int) -> Mapping[str, Any]:
    if not isinstance(row, Mapping):
        return InvalidRow(
            ValidationError(
                f"row {number} is a {type(row).__name__}, not a mapping of column names to"
                " values (read a CSV with read_csv, which gives dicts)",
                field="rows",
            )
        )
    return row


def _check_template(body: Any, available: set[str]) -> None:
    if not isinstance(body, str):
        return  # an RCS/WhatsApp body object: the API fills what it holds
    missing = [
        name
        for name in dict.fromkeys(_PLACEHOLDER.findall(body))
        if name not in available and not _SHORT_LINK.fullmatch(name)
    ]
    if missing:
        names = ", ".join(f"{{{name}}}" for name in missing)
        columns = ", ".join(sorted(available)) or "none"
        raise ValidationError(
            f"body placeholder {names} is filled by no column of the file (placeholders"
            f" available: {columns}); it would be sent as written to every recipient",
            field="body",
        )


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

    Checked now, before any job starts (``ValidationError``): the channel; that every keyword
    is a field of the message class; and, reading the first row at once (it is still the first
    message yielded), that it is a mapping and that its columns (with ``placeholders=``) fill
    every ``{placeholder}`` of a text ``body`` (``{shortLinkT1}``-style tracked links
    excepted). Later rows are read lazily; one that is not a mapping, or an ``InvalidRow`` a
    reader gave, is passed on as an ``InvalidRow``, which the job rejects with its error.
    """
    try:
        cls = _CLASSES[channel]
    except KeyError:
        raise ValidationError(
            f"channel must be 'sms', 'rcs' or 'whatsapp', got {channel!r}", field="channel"
        ) from None
    known = {f.name for f in msgspec.structs.fields(cls)}
    for name in fields:
        if name not in known or name == "destination":
            raise ValidationError(
                f"{cls.__name__} has no field {name!r} to set for every row"
                f" (fields: {', '.join(sorted(known - {'destination'}))})",
                field=name,
            )
    reserved = {destination_field}
    if message_id_field is not None:
        reserved.add(message_id_field)
    wanted = tuple(placeholder_fields) if placeholder_fields is not None else None
    base = fields.get("placeholders") or {}

    def placeholders_of(row: Mapping[str, Any]) -> dict[str, str]:
        if wanted is None:
            return {k: _text(v) for k, v in row.items() if k not in reserved}
        return {k: _text(row[k]) for k in wanted if k in row}

    def message(row: Mapping[str, Any]) -> Message:
        extra: dict[str, Any] = dict(fields)
        placeholders = placeholders_of(row)
        if placeholders:
            extra["placeholders"] = {**base, **placeholders} if base else placeholders
        if message_id_field is not None:
            mid = row.get(message_id_field)
            if mid not in (None, ""):
                extra["message_id"] = _text(mid)
        return cls(destination=_text(row.get(destination_field)).strip(), **extra)

    iterator = iter(rows)
    try:
        first = next(iterator)
    except StopIteration:
        return iter(())
    if not isinstance(first, Mapping):
        raise _check_row(first, 0).error  # type: ignore[attr-defined,unused-ignore]
    # A reader with a header (read_csv) says which columns every row has: the options are
    # checked against it, so an unreadable first row does not skip the check.
    columns: tuple[str, ...] | None = getattr(iterator, "columns", None)
    if columns is not None:
        if destination_field not in columns:
            raise ValidationError(
                f"the file has no column {destination_field!r} for the destination"
                f" (columns: {', '.join(columns) or 'none'})",
                field="destination_field",
            )
        if message_id_field is not None and message_id_field not in columns:
            raise ValidationError(
                f"the file has no column {message_id_field!r} for the message id"
                f" (columns: {', '.join(columns) or 'none'})",
                field="message_id_field",
            )
        header = dict.fromkeys(columns, "")
        _check_template(fields.get("body"), set(placeholders_of(header)) | set(base))
    elif not isinstance(first, InvalidRow):
        _check_template(fields.get("body"), set(placeholders_of(first)) | set(base))

    def generate() -> Iterator[Message]:
        try:
            for number, row in enumerate(itertools.chain((first,), iterator)):
                checked = _check_row(row, number)
                # A row that could not be read travels as itself: the job rejects it.
                yield checked if isinstance(checked, InvalidRow) else message(checked)  # type: ignore[misc]
        finally:
            # Closing the messages (a job that stops early does) closes the rows' file.
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    return generate()
