"""Reading contact imports for ``handlers/contacts.py``: CSV (and Excel recognised by its magic
bytes), vCard, and applying a column mapping to the rows.

An upload becomes a table: ``columns`` (the CSV header, or the vCard properties met) and
``rows`` (lists of strings, one per column). The confirm step maps columns to contact fields.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any, Final

from ._api import BadRequest
from ._media_multipart import Part

__all__ = ["EXCEL_TYPES", "Table", "read_csv", "read_vcard", "spreadsheet_kind"]

Table = tuple[list[str], list[list[str]]]

CSV_TYPES: Final = frozenset({"text/csv", "application/csv", "text/plain"})
EXCEL_TYPES: Final = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.ms-excel",
    }
)
_XLSX: Final = b"PK\x03\x04"
_XLS: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_BINARY: Final = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF", _XLSX, _XLS)


def spreadsheet_kind(part: Part) -> str:
    """``"csv"`` or ``"excel"``, judged by the bytes; a 400 for anything else."""
    head = part.content[:16]
    if head.startswith((_XLSX, _XLS)):
        if part.content_type not in (None, "application/octet-stream", *EXCEL_TYPES):
            raise BadRequest(f"'file' is an Excel file sent as {part.content_type}")
        return "excel"
    if part.content_type not in (None, "application/octet-stream", *CSV_TYPES):
        raise BadRequest(f"'file' must be a CSV or Excel file, not {part.content_type}")
    if head.startswith(_BINARY) or head[4:8] == b"ftyp" or b"\x00" in part.content:
        raise BadRequest("'file' must be a CSV or Excel file (its content is binary)")
    return "csv"


def read_csv(part: Part) -> Table:
    """The header and rows of a UTF-8 CSV (comma or semicolon separated)."""
    text = part.text().removeprefix("\ufeff")
    if not text.strip():
        raise BadRequest("'file' is empty")
    first = text.splitlines()[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise BadRequest(f"'file' is not valid CSV: {exc}") from None
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    header = [cell.strip() for cell in rows[0]]
    if any(not name for name in header) or len(set(header)) != len(header):
        raise BadRequest("'file': the first row must name every column once")
    body = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise BadRequest(f"'file': row {number} has {len(row)} cells, not {len(header)}")
        body.append([cell.strip() for cell in row])
    return header, body


_VCARD_PROPS: Final = ("FN", "N", "TEL", "EMAIL", "ORG", "ADR", "BDAY", "NOTE")


def read_vcard(part: Part) -> Table:
    """One row per ``BEGIN:VCARD``...``END:VCARD``; the columns are the properties met (the
    first value of each, parameters dropped, escapes undone)."""
    text = part.text().removeprefix("\ufeff")
    lines: list[str] = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        if raw[:1] in (" ", "\t") and lines:
            lines[-1] += raw[1:]  # folded line
        elif raw.strip():
            lines.append(raw.strip())
    cards: list[dict[str, str]] = []
    card: dict[str, str] | None = None
    for line in lines:
        upper = line.upper()
        if upper == "BEGIN:VCARD":
            if card is not None:
                raise BadRequest("'file': BEGIN:VCARD inside a card")
            card = {}
        elif upper == "END:VCARD":
            if card is None:
                raise BadRequest("'file': END:VCARD without BEGIN:VCARD")
            cards.append(card)
            card = None
        elif card is None:
            raise BadRequest("'file' must be vCard text (BEGIN:VCARD ... END:VCARD)")
        else:
            name, colon, value = line.partition(":")
            if not colon:
                raise BadRequest(f"'file': malformed vCard line {line[:60]!r}")
            prop = name.split(";")[0].split(".")[-1].upper()
            if prop in _VCARD_PROPS and prop not in card:
                card[prop] = _unescape(value)
    if card is not None:
        raise BadRequest("'file': a card has no END:VCARD")
    if not cards:
        raise BadRequest("'file' holds no vCard")
    columns = [prop for prop in _VCARD_PROPS if any(prop in c for c in cards)]
    return columns, [[c.get(prop, "") for prop in columns] for c in cards]


def _unescape(value: str) -> str:
    out = []
    chars = iter(value)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt in ("n", "N") else nxt)
        else:
            out.append(ch)
    return "".join(out).strip()


def column_index(column: int | str, columns: Sequence[str], where: str) -> int:
    """A mapping's ``column`` (0-based index, or the column's name) as an index."""
    if isinstance(column, int):
        if not 0 <= column < len(columns):
            raise BadRequest(f"'{where}.column' {column} is out of range (0-{len(columns) - 1})")
        return column
    try:
        return list(columns).index(column)
    except ValueError:
        raise BadRequest(f"'{where}.column' names no column: {column!r}") from None


def apply_mappings(
    columns: Sequence[str], rows: Sequence[Sequence[str]], pairs: Sequence[tuple[int, str]]
) -> list[dict[str, Any]]:
    """Each row as contact fields: ``pairs`` are (column index, contact field)."""
    out = []
    for row in rows:
        fields: dict[str, Any] = {}
        for index, field in pairs:
            value = row[index].strip()
            fields[field] = value or None
        out.append(fields)
    return out
