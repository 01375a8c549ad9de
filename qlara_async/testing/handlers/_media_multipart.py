"""A small strict ``multipart/form-data`` reader for the simulator's upload endpoints (media, and
the contacts' CSV/Excel/vCard imports).

Handlers see the body, not the headers, so the boundary is read from the body's first line (a
multipart body starts with ``--BOUNDARY CRLF``, RFC 7578/2046). Anything else is refused with a
platform 400: a body that is not multipart, a part without ``Content-Disposition: form-data;
name=...``, a field given twice, a body cut off before its closing delimiter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import Message
from typing import Final

from ._api import BadRequest

__all__ = ["Part", "parse_form"]

_BOUNDARY: Final = re.compile(rb"--([0-9A-Za-z'()+_,\-./:=? ]{1,70})\r\n")
_MAX_HEADERS: Final = 8192


@dataclass(frozen=True, slots=True)
class Part:
    """One form field: its ``name``, its ``filename`` (file parts only), its declared
    ``content_type`` (or ``None``) and its ``content``."""

    name: str
    filename: str | None
    content_type: str | None
    content: bytes

    def text(self) -> str:
        """The content as UTF-8 text (a 400 naming the field when it is not)."""
        try:
            return self.content.decode("utf-8")
        except UnicodeDecodeError:
            raise BadRequest(f"'{self.name}' must be UTF-8 text") from None


def parse_form(body: bytes) -> dict[str, Part]:
    """The fields of a ``multipart/form-data`` body, by name."""
    m = _BOUNDARY.match(body)
    if m is None:
        raise BadRequest("Expected a multipart/form-data body")
    delimiter = b"\r\n--" + m.group(1)
    # Prefix CRLF so every delimiter, the first included, reads the same way.
    chunks = (b"\r\n" + body).split(delimiter)
    if chunks[0] != b"":
        raise BadRequest("Malformed multipart body: text before the first boundary")
    parts: dict[str, Part] = {}
    closed = False
    for chunk in chunks[1:]:
        if chunk.startswith(b"--"):
            closed = True  # the close delimiter; what follows is an epilogue
            break
        if not chunk.startswith(b"\r\n"):
            raise BadRequest("Malformed multipart body: a boundary is not followed by CRLF")
        part = _part(chunk[2:])
        if part.name in parts:
            raise BadRequest(f"'{part.name}' is given more than once")
        parts[part.name] = part
    if not closed:
        raise BadRequest("Malformed multipart body: no closing boundary")
    return parts


def _part(chunk: bytes) -> Part:
    head, sep, content = chunk.partition(b"\r\n\r\n")
    if not sep:
        if chunk.endswith(b"\r\n"):  # headers, then an empty body
            head, content = chunk[:-2], b""
        else:
            raise BadRequest("Malformed multipart body: a part has no header/body separator")
    if len(head) > _MAX_HEADERS:
        raise BadRequest("Malformed multipart body: part headers too long")
    try:
        lines = head.decode("utf-8").split("\r\n") if head else []
    except UnicodeDecodeError:
        raise BadRequest("Malformed multipart body: part headers are not UTF-8") from None
    headers = Message()
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name.strip() or name != name.strip():
            raise BadRequest(f"Malformed multipart body: bad part header {line[:80]!r}")
        headers[name] = value.strip()
    disposition = headers.get("content-disposition")
    if disposition is None or headers.get_content_disposition() != "form-data":
        raise BadRequest("Malformed multipart body: a part is not Content-Disposition: form-data")
    raw_name = headers.get_param("name", header="content-disposition")
    filename = headers.get_param("filename", header="content-disposition")
    if not isinstance(raw_name, str) or not raw_name:
        raise BadRequest("Malformed multipart body: a part has no name")
    name = raw_name
    if filename is not None and not isinstance(filename, str):
        raise BadRequest(f"'{name}': malformed filename")
    content_type = headers.get("content-type")
    return Part(
        name=name,
        filename=filename,
        content_type=content_type.split(";")[0].strip().lower() if content_type else None,
        content=content,
    )
