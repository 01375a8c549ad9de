"""Credentials kept out of every log record, whatever a server echoes back.

httpx logs each request's URL at INFO and httpcore each response's headers at DEBUG, so a server
that echoes a key in a header, a reason phrase or a URL would put it in the application's logs.
Every live client registers its redactor here; one filter on those loggers scrubs their records.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Callable
from typing import Any

__all__ = ["mask_secret_paths", "redact_value", "register_redactor"]

# Path segments that are secrets (``GET .../authentication/{value}`` takes an API key).
_SECRET_PATH = re.compile(r"(/partner-gateway/v1/authentication/)[^/?#\s\"']+")


def mask_secret_paths(text: str) -> str:
    """``text`` with the API key of an ``/authentication/{value}`` path masked."""
    return _SECRET_PATH.sub(r"\1{value}", text)


_REDACTORS: list[weakref.WeakMethod[Callable[[str], str]]] = []
"""Every live client's ``_redact``: the log filter scrubs their credentials."""


def register_redactor(redact: Callable[[str], str]) -> None:
    """Have the log filter scrub what ``redact`` (a live client's bound method) knows."""
    _REDACTORS[:] = [r for r in _REDACTORS if r() is not None]
    _REDACTORS.append(weakref.WeakMethod(redact))


class _ScrubSecrets(logging.Filter):
    """httpx logs every URL at INFO and httpcore every response header at DEBUG, whatever a
    server echoes in them: the records of those loggers are scrubbed of every live client's
    credentials, and of a key in an ``/authentication/{value}`` path."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            text = record.getMessage()
        except Exception:
            return True  # not ours to break
        clean = mask_secret_paths(text) if "/authentication/" in text else text
        for ref in _REDACTORS:
            redact = ref()
            if redact is not None:
                clean = redact(clean)
        if clean != text:
            record.msg, record.args = clean, None
        return True


_SCRUB = _ScrubSecrets()
# A logger's filters see only its own records, not its children's: each one is named.
for _name in (
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "hpack.hpack",
):
    logging.getLogger(_name).addFilter(_SCRUB)
del _name


def redact_value(value: Any, redact: Callable[[str], str]) -> Any:
    """``value`` (decoded JSON) with ``redact`` applied to every string in it, keys included."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {redact(str(k)): redact_value(v, redact) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_value(v, redact) for v in value]
    return value
