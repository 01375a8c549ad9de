"""Media received in inbound messages: the download URL answer (``GET /files/{mediaKey}``)."""

from __future__ import annotations

import msgspec

from ._base import Model

__all__ = ["decode_download_url"]


class _DownloadUrl(Model, kw_only=True):
    url: str


_download_url_decoder = msgspec.json.Decoder(_DownloadUrl | str)


def decode_download_url(data: bytes) -> str:
    """Decode ``GET /files/{mediaKey}``: the pre-signed URL.

    The docs say only that the endpoint "returns a pre-signed temporary URL". Accepted: a JSON
    object with a ``url`` field (other fields ignored), a JSON string, or the URL as plain text.
    """
    stripped = data.strip()
    if stripped[:1] not in (b"{", b'"'):
        try:
            return stripped.decode()
        except UnicodeDecodeError as exc:
            raise msgspec.DecodeError(f"the download URL is not UTF-8 text: {exc}") from None
    value = _download_url_decoder.decode(stripped)
    return value if isinstance(value, str) else value.url
