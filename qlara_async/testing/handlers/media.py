"""Media library: ``/partner-gateway/v1/media`` (upload, list, get, delete).

The reference: upload is a multipart form with ``file`` (binary, required), ``name``,
``description`` and ``folderId`` (integer); JPEG, PNG, GIF images and MP4 videos; the list is
paginated; delete answers 204. Where it is silent, the simulator decides:

* the type is judged by the file's first bytes (a PNG named ``photo.jpg`` is a PNG; a PDF named
  ``photo.png`` is a 400), never by its name or its part's ``Content-Type``;
* an unknown form field, a field given twice, an empty file, a ``folderId`` that is not an
  integer are each a 400 naming the field;
* an item is ``{"id", "name", "description", "folderId", "mediaKey", "url", "mimeType", "size",
  "creationDate"}``; ``name`` defaults to the file's name; upload answers 201 with it;
* ``mediaKey`` is one path segment (it can be passed to ``GET /files/{mediaKey}``), ``url`` a
  link on an ``.invalid`` host; the bytes themselves are not kept (only size and a digest).
"""

from __future__ import annotations

import hashlib
import re
import uuid
from typing import Any, Final

from ._api import (
    BadRequest,
    Item,
    Reply,
    Request,
    created,
    define_collection,
    json,
    no_content,
    paginate_offset,
    route,
)
from ._media_multipart import parse_form

__all__ = ["MEDIA", "media_type"]

PATH = "/partner-gateway/v1/media"
URL_BASE = "https://media.qlara-simulator.invalid/"

_FIELDS: Final = frozenset({"file", "name", "description", "folderId"})
_DIGITS: Final = re.compile(r"[0-9]{1,18}")
_EXTENSIONS: Final = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "video/mp4": "mp4",
}


def media_type(head: bytes) -> str | None:
    """The documented media type the first bytes show (JPEG, PNG, GIF, MP4), or ``None``."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(head) >= 12 and head[4:8] == b"ftyp":
        return "video/mp4"
    return None


def _key(mime: str) -> str:
    return f"{uuid.uuid4().hex}.{_EXTENSIONS[mime]}"


def _seed(i: int) -> dict[str, Any]:
    key = f"seed{i:06d}.png"
    return {
        "name": f"image-{i:04d}.png",
        "description": None,
        "folderId": None,
        "mediaKey": key,
        "url": URL_BASE + key,
        "mimeType": "image/png",
        "size": 1024 + i,
        "sha256": hashlib.sha256(key.encode()).hexdigest(),
    }


MEDIA = define_collection("media", "Media", updated=None, seed=_seed)


def _public(item: Item) -> Item:
    return {k: v for k, v in item.items() if k != "sha256"}


def _only(request: Request, allowed: tuple[str, ...]) -> None:
    for name, _ in request.raw_query:
        if name not in allowed:
            raise BadRequest(f"Unsupported query parameter '{name}'")


@route("POST", PATH)
def _upload(request: Request) -> Reply:
    form = parse_form(request.body)
    for name in form:
        if name not in _FIELDS:
            raise BadRequest(f"'{name}' is not a known field")
    file = form.get("file")
    if file is None:
        raise BadRequest("'file' can't be blank")
    if file.filename is None:
        raise BadRequest("'file' must be a file part (with a filename)")
    if not file.content:
        raise BadRequest("'file' is empty")
    mime = media_type(file.content[:16])
    if mime is None:
        raise BadRequest("'file' is not a JPEG, PNG, GIF or MP4 (judged by its content)")
    folder_id = None
    if "folderId" in form:
        raw = form["folderId"].text()
        if not _DIGITS.fullmatch(raw):
            raise BadRequest(f"'folderId' must be an integer, got {raw[:40]!r}")
        folder_id = int(raw)
    name = form["name"].text() if "name" in form else file.filename
    if not name:
        raise BadRequest("'name' can't be blank")
    description = form["description"].text() if "description" in form else None
    key = _key(mime)
    item = request.collection(MEDIA.name).create(
        {
            "name": name,
            "description": description,
            "folderId": folder_id,
            "mediaKey": key,
            "url": URL_BASE + key,
            "mimeType": mime,
            "size": len(file.content),
            "sha256": hashlib.sha256(file.content).hexdigest(),
        }
    )
    return created(_public(item))


@route("GET", PATH)
def _list(request: Request) -> Reply:
    _only(request, ("offset", "limit", "page", "size"))  # page/size: paginate_offset's 400
    items = [_public(item) for item in request.collection(MEDIA.name).list()]
    return paginate_offset(request, items)


@route("GET", PATH + "/{id}")
def _get(request: Request) -> Reply:
    return json(_public(request.collection(MEDIA.name).get(request.path_int("id"))))


@route("DELETE", PATH + "/{id}")
def _delete(request: Request) -> Reply:
    request.collection(MEDIA.name).delete(request.path_int("id"))
    return no_content()
