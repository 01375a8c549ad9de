"""Reading a response body with bounds: the bytes off the wire, then each ``Content-Encoding``
step, each capped, so no answer (a 50 MB page, a 2 kB gzip bomb) can fill memory."""

from __future__ import annotations

import zlib
from contextlib import aclosing

import httpx

__all__ = ["read_capped", "undo_encodings"]


async def read_capped(response: httpx.Response, cap: int, *, truncate: bool) -> bytes | None:
    """The body, decoded, read up to ``cap`` bytes: past it, the first ``cap`` bytes when
    ``truncate`` (an error body), else ``None``.

    The raw bytes are read (never more than ``cap`` plus a chunk) and decoded here rather than
    by httpx, with every step of ``Content-Encoding`` bounded by ``cap`` as well: a 2 kB body
    of gzip inside gzip would otherwise inflate to gigabytes before any size check.
    """
    if response.is_stream_consumed:
        try:
            # A transport that hands back a response already read (httpx.MockTransport, a
            # custom one) has decoded it already: only the size is left to check.
            content = response.content
        except httpx.ResponseNotRead:
            pass  # consumed but not kept: reading below fails as httpx says
        else:
            if len(content) <= cap:
                return content
            return content[:cap] if truncate else None
    declared = response.headers.get("content-length")
    if not truncate and declared is not None and declared.isdigit() and int(declared) > cap:
        return None
    chunks: list[bytes] = []
    size = 0
    over = False
    # aclosing: leaving the loop early must close the generator now (trio insists).
    async with aclosing(response.aiter_raw()) as stream:  # type: ignore[type-var]
        async for chunk in stream:
            size += len(chunk)
            if size > cap:
                over = True
                chunks.append(chunk[: len(chunk) - (size - cap)])
                break
            chunks.append(chunk)
    return undo_encodings(
        b"".join(chunks), over, response.headers.get("content-encoding", ""), cap, truncate=truncate
    )


def undo_encodings(
    data: bytes, over: bool, content_encoding: str, cap: int, *, truncate: bool
) -> bytes | None:
    """``data`` (the raw bytes read, ``over`` when the cap cut them) with each step of
    ``content_encoding`` undone, bounded by ``cap`` (see ``read_capped``). Every backend ends
    here, so a body is capped the same way whichever sent the request."""
    codings = (
        [
            c.strip().lower()
            for c in content_encoding.split(",")
            if c.strip() and c.strip().lower() != "identity"
        ]
        if content_encoding
        else []
    )
    if over and (not truncate or codings):
        return None if not truncate else b""
    for coding in reversed(codings):
        data, over = _inflate(data, coding, cap)
        if over:
            return data[:cap] if truncate else None
    return data


def _inflate(data: bytes, coding: str, cap: int) -> tuple[bytes, bool]:
    """One ``Content-Encoding`` step undone, producing at most ``cap`` bytes (and whether there
    was more). ``httpx.DecodingError`` for an unknown coding or bytes that are not in it."""
    if coding in ("gzip", "x-gzip"):
        wbits = 16 + zlib.MAX_WBITS
    elif coding == "deflate":
        # "deflate" is zlib-wrapped by the RFC, raw in some servers: tell by the header.
        wbits = zlib.MAX_WBITS if data[:1] and (data[0] & 0x0F) == 8 else -zlib.MAX_WBITS
    else:
        raise httpx.DecodingError(f"unsupported Content-Encoding {coding!r}")
    out = bytearray()
    rest = data
    try:
        while rest:
            inflater = zlib.decompressobj(wbits)
            out += inflater.decompress(rest, cap + 1 - len(out))
            if len(out) > cap or inflater.unconsumed_tail:
                return bytes(out), True
            # Concatenated gzip members: go on with what follows this one.
            rest = inflater.unused_data if coding != "deflate" else b""
            if not inflater.eof:
                raise httpx.DecodingError(f"truncated {coding} body")
    except zlib.error as exc:
        raise httpx.DecodingError(f"not valid {coding}: {exc}") from None
    return bytes(out), False
