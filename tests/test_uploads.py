"""Uploads survive a retry: bytes, a path, a seekable file send the same bytes on every attempt;
a one-way stream is read whole first; the MIME type comes from the content, not the name."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import httpx
import pytest

from qlara_async import ValidationError
from qlara_async._uploads import Upload, sniff_type

from ._fakes import make_client

pytestmark = pytest.mark.anyio

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 40


class _OneWay(io.RawIOBase):
    """A binary stream that cannot seek (a pipe, a socket)."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        chunk = self._data.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


def _flaky():
    """503 twice, then 201; records each request's multipart body."""
    bodies: list[bytes] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(request.read())
        if len(bodies) < 3:
            return httpx.Response(503)
        return httpx.Response(201, json={"id": 7})

    return handler, bodies


@pytest.mark.parametrize("kind", ["bytes", "path", "file", "file-at-offset"])
async def test_every_attempt_sends_the_same_bytes(kind: str, tmp_path: Path) -> None:
    """The multipart body of each retry carries the whole file again."""
    source: Any
    if kind == "bytes":
        source = PNG
    elif kind == "path":
        source = tmp_path / "photo.png"
        source.write_bytes(PNG)
    else:
        f = open(tmp_path / "p.png", "w+b")  # noqa: SIM115, ASYNC230 - closed below
        if kind == "file-at-offset":
            f.write(b"HEADER")
        start = f.tell()
        f.write(PNG)
        f.seek(start)
        source = f
    handler, bodies = _flaky()
    client, _, _ = make_client(handler)
    async with client:
        result = await client._api.upload(
            "/media",
            Upload(source, filename="x.png"),
            cast=dict,
            data={"name": "n"},
            idempotent=True,
        )
    if not isinstance(source, (bytes, Path)):
        source.close()
    assert result == {"id": 7}
    assert len(bodies) == 3
    assert all(PNG in body for body in bodies)
    assert b"HEADER" not in bodies[-1]
    assert b'name="name"' in bodies[0] and b"Content-Type: image/png" in bodies[0]


async def test_a_stream_that_cannot_seek_is_read_once_and_resent_whole() -> None:
    """A one-way stream (a pipe) is read whole up front: every attempt sends all of it, and
    its type can be checked (it failed with "Illegal seek" inside httpx before)."""
    handler, bodies = _flaky()
    client, _, _ = make_client(handler)
    async with client:
        result = await client._api.upload(
            "/media", Upload(_OneWay(PNG), filename="x.png"), cast=dict, idempotent=True
        )
    assert result == {"id": 7} and len(bodies) == 3
    assert all(PNG in body and b"image/png" in body for body in bodies)


def test_a_path_that_changes_between_attempts_is_not_resent(tmp_path: Path) -> None:
    """A path is reopened per attempt; a file rewritten meanwhile is refused, not sent."""
    path = tmp_path / "p.png"
    path.write_bytes(PNG)
    upload = Upload(path)
    with upload:
        upload.files()
        path.write_bytes(PNG + b"more")
        with pytest.raises(ValidationError, match="changed"):
            upload.files()


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        (PNG[:16], "image/png"),
        (b"GIF89a....", "image/gif"),
        (b"\x00\x00\x00\x18ftypmp42", "video/mp4"),
        (b"PK\x03\x04xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "application/vnd.ms-excel"),
        (b"\xef\xbb\xbfBEGIN:VCARD\r\n", "text/vcard"),
        (b"name,phone\n", None),
    ],
)
def test_type_from_content(head: bytes, expected: str | None) -> None:
    """Magic bytes, not names, decide the type."""
    assert sniff_type(head) == expected


def test_a_lying_name_does_not_change_the_type(tmp_path: Path) -> None:
    """A PNG named ``.jpg`` is a PNG; a text file named ``.png`` is refused for media."""
    lying = tmp_path / "photo.jpg"
    lying.write_bytes(PNG)
    assert Upload(lying).content_type == "image/png"
    fake = tmp_path / "fake.png"
    fake.write_bytes(b"not an image")
    with pytest.raises(ValidationError) as info:
        Upload(fake, allowed=("image/png", "image/jpeg"))
    assert info.value.field == "file"


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param("/no/such/file.png", id="missing-path"),
        pytest.param(io.StringIO("text"), id="text-mode"),
        pytest.param(42, id="int"),
    ],
)
def test_bad_file_arguments_are_refused(bad: Any) -> None:
    """A missing path, a text-mode file or a non-file is a ValidationError naming the field."""
    with pytest.raises(ValidationError) as info:
        Upload(bad)
    assert info.value.field == "file"
