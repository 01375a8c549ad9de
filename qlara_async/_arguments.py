"""The client's constructor arguments, checked before anything is built: credentials, base
URL, retry policy; and ``Secret``, the wrapper a credential lives in.

Each check raises ``ValidationError`` naming the argument, and never shows a credential.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import quote

import httpx

from ._config import RetryPolicy
from ._constants import DEFAULT_BASE_URL
from ._exceptions import ValidationError

__all__ = [
    "Secret",
    "check_base_url",
    "check_credential",
    "check_default_headers",
    "check_password",
    "check_policy",
    "echo_forms",
]


class Secret:
    """A credential that never shows itself in a repr, a log line or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


def check_credential(value: object, name: str) -> str | None:
    """``value`` if it is a usable header credential; the value itself is never shown."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}", field=name)
    if value != value.strip():
        raise ValidationError(
            f"{name} has leading or trailing whitespace (a newline read from a file?)",
            field=name,
        )
    if any(c < " " or c == "\x7f" for c in value) or not value.isascii():
        raise ValidationError(
            f"{name} holds control or non-ASCII characters, which no HTTP header can carry",
            field=name,
        )
    return value


# RFC 9110 token characters, and a value of visible ASCII with inner spaces or tabs.
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_HEADER_VALUE = re.compile(r"[\x21-\x7e]([\x20-\x7e\t]*[\x21-\x7e])?|")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: object) -> str:
    """The base URL without a trailing slash: absolute ``https://`` (plain ``http://`` only to
    a loopback host), no query or fragment, a host that can be encoded."""
    if not isinstance(base_url, str):
        raise ValidationError(
            f"base_url must be a string, got {type(base_url).__name__}", field="base_url"
        )
    try:
        url = httpx.URL(base_url)
        host, port = url.host, url.port  # decoding an IDNA host may fail only here
    except ValidationError:
        raise
    except (httpx.InvalidURL, TypeError, ValueError) as exc:  # idna's errors are ValueErrors
        # The text may hold a password (user:pass@host): only the reason is shown.
        raise ValidationError(
            f"base_url is not a valid URL ({type(exc).__name__})", field="base_url"
        ) from None
    if port is not None and not 0 < port < 65536:
        raise ValidationError(f"base_url port {port} is not 1 to 65535", field="base_url")
    if url.userinfo:
        raise ValidationError(
            "base_url must not carry credentials (user:password@): pass api_key, or"
            " username and password",
            field="base_url",
        )
    if url.query or url.fragment or "?" in base_url or "#" in base_url:
        # Every path is appended to the base URL: a query or fragment would swallow it.
        raise ValidationError(
            "base_url must not have a ?query or #fragment, e.g. " + DEFAULT_BASE_URL,
            field="base_url",
        )
    if url.scheme not in ("https", "http") or not host:
        raise ValidationError(
            "base_url must be an absolute https:// URL, e.g. " + DEFAULT_BASE_URL,
            field="base_url",
        )
    if url.scheme == "http" and not _is_loopback(host):
        # Credentials in clear text over a network: refuse before anything is sent.
        raise ValidationError(
            f"base_url uses plain http:// to {host!r}; only loopback hosts may use http://",
            field="base_url",
        )
    return str(url).rstrip("/")


def echo_forms(value: str) -> set[str]:
    """Every form a server may echo a credential back in: as is, base64 (plain and URL-safe,
    with and without padding) and percent-encoded."""
    raw = value.encode()
    b64 = base64.b64encode(raw).decode()
    url = base64.urlsafe_b64encode(raw).decode()
    return {value, b64, b64.rstrip("="), url, url.rstrip("="), quote(value, safe="")}


def check_policy(policy: object) -> RetryPolicy:
    """``policy`` if it is a ``RetryPolicy``."""
    if not isinstance(policy, RetryPolicy):
        raise ValidationError(
            f"retry_policy must be a RetryPolicy, got {type(policy).__name__}",
            field="retry_policy",
        )
    return policy


def check_password(secret_password: Secret) -> None:
    """A password must be text that can be encoded (never quoted back)."""
    if not isinstance(secret_password.get(), str):
        raise ValidationError(
            f"password must be a string, got {type(secret_password.get()).__name__}",
            field="password",
        )
    if not _encodable(secret_password.get()):
        # The encoder's own error would quote "username:password" in the clear.
        raise ValidationError(
            "password is not valid Unicode text (it holds a lone surrogate)",
            field="password",
        )


def check_default_headers(default_headers: object) -> None:
    """``default_headers``: a mapping of valid header names to printable ASCII values."""
    if default_headers is not None:
        if not isinstance(default_headers, Mapping):
            raise ValidationError(
                f"default_headers must be a dict of str to str, got"
                f" {type(default_headers).__name__}",
                field="default_headers",
            )
        for name, value in default_headers.items():
            if not isinstance(name, str) or not _HEADER_NAME.fullmatch(name):
                raise ValidationError(
                    f"default_headers: {name!r} is not a valid header name",
                    field="default_headers",
                )
            if not isinstance(value, str) or not _HEADER_VALUE.fullmatch(value):
                raise ValidationError(
                    f"default_headers[{name!r}] must be printable ASCII text",
                    field="default_headers",
                )
