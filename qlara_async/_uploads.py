"""Files sent as multipart uploads: the same bytes on every attempt, the type from the content.

``file`` arguments take bytes, a path, or a binary file object. A retry rebuilds the multipart
body from the same source: bytes are reused, a path is opened again (and streamed, never read
whole), a seekable file object is rewound to where it started. A file object that cannot seek
cannot be re-read, so a call that uploads one is never retried.

The MIME type comes from the content's first bytes (JPEG, PNG, GIF, MP4, CSV or Excel, vCard),
not from the file name, which may lie.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterable
from types import TracebackType
from typing import IO, Any, Union

from ._exceptions import ValidationError

__all__ = ["FileInput", "Upload", "sniff_type"]

FileInput = Union[bytes, str, "os.PathLike[str]", IO[bytes]]
"""What a ``file`` argument takes: bytes, a path, or a binary file object."""

_HEAD = 32


def sniff_type(head: bytes) -> str | None:
    """The MIME type the first bytes of a file show, or ``None`` when they show none."""
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(b"PK\x03\x04"):
        return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "application/vnd.ms-excel"
    text = head.lstrip(b"\xef\xbb\xbf").lstrip()
    if text[:11].upper() == b"BEGIN:VCARD":
        return "text/vcard"
    return None


class Upload:
    """One file to send, re-readable for every attempt. Use as a context manager: the files a
    path opens are closed when it ends."""

    def __init__(
        self,
        file: object,
        *,
        field: str = "file",
        filename: str | None = None,
        allowed: Iterable[str] | None = None,
        fallback_type: str | None = None,
    ) -> None:
        self.field = field
        self._bytes: bytes | None = None
        self._path: str | None = None
        self._stream: IO[bytes] | None = None
        self._start = 0
        self._stat = (0, 0)
        self._opened: list[IO[bytes]] = []
        if isinstance(file, (bytes, bytearray, memoryview)):
            self._bytes = bytes(file)
            head = self._bytes[:_HEAD]
            name = filename or "upload"
        elif isinstance(file, (str, os.PathLike)):
            path = os.fspath(file)
            if not isinstance(path, str) or not os.path.isfile(path):
                raise ValidationError(f"{field}: no such file: {path!r}", field=field)
            self._path = path
            try:
                self._stat = _fingerprint(path)
                with open(path, "rb") as f:
                    head = f.read(_HEAD)
            except OSError as exc:
                raise ValidationError(
                    f"{field}: cannot read {path!r} ({exc.strerror or type(exc).__name__})",
                    field=field,
                ) from None
            name = filename or os.path.basename(path)
        elif hasattr(file, "read"):
            stream: IO[bytes] = file  # type: ignore[assignment]
            if isinstance(file, io.TextIOBase):
                raise ValidationError(
                    f"{field}: open the file in binary mode ('rb'), not text mode", field=field
                )
            self._stream = stream
            name = filename or os.path.basename(str(getattr(file, "name", "") or "upload"))
            head = b""
            if not self.seekable:
                # A pipe or socket can be read once: read it now (bounded), so the type can be
                # checked and every attempt sends the same bytes.
                data = _read_all(stream, field)
                self._stream = None
                self._bytes = data
                head = data[:_HEAD]
            elif self.seekable:
                self._start = stream.tell()
                head = stream.read(_HEAD)
                stream.seek(self._start)
            if not isinstance(head, bytes):
                raise ValidationError(f"{field}: the file must give bytes", field=field)
        else:
            raise ValidationError(
                f"{field} must be bytes, a path or a binary file object, got {type(file).__name__}",
                field=field,
            )
        sniffed = sniff_type(head)
        if sniffed is None and fallback_type is not None and (head or self._stream is not None):
            sniffed = fallback_type
        if allowed is not None:
            kinds = tuple(allowed)
            if sniffed not in kinds:
                raise ValidationError(
                    f"{field}: the content is not one of the accepted types"
                    f" ({', '.join(kinds)}); it looks like {sniffed or 'something else'}",
                    field=field,
                )
        self.content_type = sniffed or "application/octet-stream"
        self.filename = name

    @property
    def seekable(self) -> bool:
        """The source can be read again from the start (so the call may be retried)."""
        if self._stream is None:
            return True
        try:
            return bool(self._stream.seekable())
        except (AttributeError, OSError, ValueError):
            return False

    def files(self) -> dict[str, tuple[str, Any, str]]:
        """A fresh ``files=`` mapping for one attempt."""
        if self._bytes is not None:
            content: Any = self._bytes
        elif self._path is not None:
            if _fingerprint(self._path) != self._stat:
                # Reopening is how a path is re-sent: a file changed meanwhile would not be.
                raise ValidationError(
                    f"{self.field}: {self._path!r} changed while it was being sent",
                    field=self.field,
                )
            f = open(self._path, "rb")  # noqa: SIM115 - closed by __exit__, after the request
            self._opened.append(f)
            content = f
        else:
            assert self._stream is not None
            if self.seekable:
                self._stream.seek(self._start)
                # httpx rewinds a file to 0 and sizes it by fstat: a window keeps both to the
                # part from where the caller's file stood.
                content = _Window(self._stream, self._start)
            else:
                content = self._stream
        return {self.field: (self.filename, content, self.content_type)}

    def __enter__(self) -> Upload:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        for f in self._opened:
            f.close()
        self._opened.clear()


MAX_STREAM_UPLOAD = 256 * 1024 * 1024
"""Largest upload read from a stream that cannot seek (media are far smaller)."""


def _fingerprint(path: str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_size, info.st_mtime_ns


def _read_all(stream: IO[bytes], field: str) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        while True:
            chunk = stream.read(1 << 20)
            if not chunk:
                break
            if not isinstance(chunk, bytes):
                raise ValidationError(f"{field}: the file must give bytes", field=field)
            size += len(chunk)
            if size > MAX_STREAM_UPLOAD:
                raise ValidationError(
                    f"{field}: a stream that cannot seek is read whole, and this one is over"
                    f" {MAX_STREAM_UPLOAD >> 20} MiB: pass a path instead",
                    field=field,
                )
            chunks.append(chunk)
    except OSError as exc:
        raise ValidationError(f"{field}: cannot read it ({exc})", field=field) from None
    return b"".join(chunks)


class _Window:
    """A seekable binary file seen from ``start`` on (no ``fileno``, so httpx sizes it by
    seeking)."""

    __slots__ = ("_start", "_stream")

    def __init__(self, stream: IO[bytes], start: int) -> None:
        self._stream = stream
        self._start = start

    def read(self, size: int = -1) -> bytes:
        return self._stream.read(size)

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            offset += self._start
        return self._stream.seek(offset, whence) - self._start

    def tell(self) -> int:
        return self._stream.tell() - self._start
