"""The redis-py boundary of the shared limiter and sharded jobs: URLs (checked, passwords
masked), what a redis-py exception means, and the shape of the scripts' replies. Nothing here
lets a redis-py or stdlib exception reach a caller unwrapped."""

from __future__ import annotations

from typing import Any, Final, Literal
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

from .._exceptions import ValidationError

__all__ = ["check_url", "classify", "mask_url", "parse_reply", "redis_from_url", "url_passwords"]

_SECRET_PARAMS: Final = frozenset({"password"})


def mask_url(url: str) -> str:
    """``url`` with any password (in the userinfo or a ``?password=`` parameter, which
    redis-py honours too) replaced by ``***``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            user = parts.username or ""
            host = parts.netloc.rpartition("@")[2]
            netloc = f"{user}:***@{host}"
        query = parts.query
        if query:
            pairs = parse_qsl(query, keep_blank_values=True)
            if any(k.lower() in _SECRET_PARAMS for k, _ in pairs):
                query = "&".join(
                    f"{quote(k)}=***" if k.lower() in _SECRET_PARAMS else f"{quote(k)}={quote(v)}"
                    for k, v in pairs
                )
        return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))
    except ValueError:
        return "<redis url>"


def url_passwords(url: str) -> list[str]:
    """Every password ``url`` carries (for the redactor)."""
    try:
        parts = urlsplit(url)
        found = [parts.password] if parts.password else []
        found += [v for k, v in parse_qsl(parts.query) if k.lower() in _SECRET_PARAMS and v]
        return found
    except ValueError:
        return []


def check_url(url: object) -> str:
    """``url`` if it is a well-formed ``redis://``, ``rediss://`` or ``unix://`` URL, else a
    :class:`ValidationError` naming ``url`` (never quoting it: it may hold a password)."""
    if not isinstance(url, str):
        raise ValidationError("url must be a redis://, rediss:// or unix:// URL", field="url")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        raise ValidationError("url is not a well-formed URL", field="url") from None
    if parts.scheme not in ("redis", "rediss", "unix"):
        raise ValidationError("url must be a redis://, rediss:// or unix:// URL", field="url")
    return url


def redis_from_url(url: str, **options: Any) -> Any:
    """redis-py's client for ``url``; its complaints about the URL become a
    :class:`ValidationError` naming ``url``."""
    import redis.asyncio as aioredis

    try:
        return aioredis.Redis.from_url(url, **options)
    except (ValueError, TypeError) as exc:
        raise ValidationError(
            f"url is not a usable Redis URL ({type(exc).__name__})", field="url"
        ) from None


def classify(exc: BaseException) -> Literal["auth", "refused", "transient"]:
    """What a failed round trip means: ``"auth"`` (a wrong password or user: waiting will not
    fix it), ``"refused"`` (Redis rejected the script) or ``"transient"`` (unreachable, a
    timeout, ``LOADING`` after a restart, ``BUSY`` with another script: retried)."""
    from redis.exceptions import (
        AuthenticationError,
        BusyLoadingError,
        NoScriptError,
        ResponseError,
    )

    text = str(exc)
    if isinstance(exc, AuthenticationError) or (
        isinstance(exc, ResponseError) and text.startswith(("NOAUTH", "WRONGPASS", "NOPERM"))
    ):
        return "auth"
    if (
        isinstance(exc, ResponseError)
        and not isinstance(exc, (NoScriptError, BusyLoadingError))
        and not text.startswith("BUSY")
    ):
        return "refused"
    return "transient"


def parse_reply(reply: Any, *, report: bool) -> list[Any]:
    """A script's reply (see ``_scripts``) with its shape checked and its numbers as ``int``;
    ``ValueError`` for anything else (a proxy or a server that is not Redis)."""
    try:
        if not isinstance(reply, (list, tuple)) or not reply:
            raise ValueError
        out: list[Any] = [x.decode() if isinstance(x, bytes) else x for x in reply]
        kind = out[0]
        numbers: tuple[int, ...]
        if kind == "cfg" or kind == "reaped":
            size, numbers = 2, ()
        elif report:
            size, numbers = (3, (1,)) if kind == "ok" else (0, ())
        elif kind == "ok":
            size, numbers = 5, (1, 3, 4)
        elif kind == "wait":
            size, numbers = 5, (1, 2, 4)
        else:
            size, numbers = 0, ()
        if not size or len(out) < size:
            raise ValueError
        for i in numbers:
            if isinstance(out[i], bool):
                raise ValueError
            out[i] = int(out[i])
        if kind == "ok" and not report and out[4] < 1:
            raise ValueError
        for i in range(1, size):
            if i not in numbers and not isinstance(out[i], str):
                raise ValueError
        return out
    except (TypeError, UnicodeDecodeError):
        raise ValueError("unexpected reply") from None
