"""The proxy the environment names for a URL: one reading for both backends.

httpx reads ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` itself when it makes
a client, and aiohttp (``trust_env``) its own way; they disagree (aiohttp skips ``ALL_PROXY``
and ports in ``NO_PROXY``; httpx raises on a bracketed IPv6 ``NO_PROXY`` entry, matches no
``*.domain`` and no network) and each costs something per request. So the library's own
clients read the environment here, once, when the client is made, and both backends send
through the same proxy (a given ``http_client`` keeps httpx's reading).

``NO_PROXY`` entries, as curl reads them: ``*`` (no proxy at all), a domain (``example.com``:
it and its subdomains; ``.example.com`` or ``*.example.com``: subdomains only), an IP address,
an IP network (``10.0.0.0/8``), ``localhost``, each with an optional ``:port`` (a URL without
one has its scheme's default port), or a URL (``http://example.com``) that also names the
scheme.

A proxy URL that cannot be used (it does not parse, has no host, a scheme the backend cannot
send through) is a ``ValidationError`` naming the variable; the message never holds the URL,
whose password a parser may read as a port.
"""

from __future__ import annotations

import base64
import importlib.util
import ipaddress
import urllib.request
from collections.abc import Mapping
from urllib.parse import unquote, urlsplit

import httpx

from ._exceptions import ValidationError

__all__ = ["EnvironmentProxies", "Proxy"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ADDRESS = ipaddress.IPv4Address | ipaddress.IPv6Address
_NETWORK = ipaddress.IPv4Network | ipaddress.IPv6Network
_SOCKS = ("socks5", "socks5h")


class Proxy:
    """One proxy: its URL without credentials, and the credentials (percent-decoded)."""

    __slots__ = ("_password", "url", "username", "variable")

    def __init__(self, url: str, username: str | None, password: str | None, variable: str):
        self.url = url
        """``scheme://host[:port]``, no credentials."""
        self.username = username
        self._password = password
        self.variable = variable
        """The environment variable that named it."""

    @property
    def password(self) -> str | None:
        return self._password

    @property
    def credentials(self) -> tuple[str, str] | None:
        """``(username, password)`` if the URL had any (an empty user with a token too)."""
        if self.username is None and self._password is None:
            return None
        return self.username or "", self._password or ""

    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` value, UTF-8 as httpx sends it."""
        credentials = self.credentials
        if credentials is None:
            return None
        token = base64.b64encode(":".join(credentials).encode()).decode("ascii")
        return f"Basic {token}"

    def __repr__(self) -> str:
        shown = "" if self.credentials is None else "<credentials>@"
        scheme, _, rest = self.url.partition("://")
        return f"Proxy({scheme}://{shown}{rest})"


class EnvironmentProxies:
    """The proxies of the environment as read once (``proxies``: ``urllib``'s
    ``getproxies()`` by default, as httpx reads them). ``for_url`` names one URL's.
    ``socks``: the backend can send through a SOCKS proxy (httpx with its socks extra)."""

    def __init__(self, proxies: Mapping[str, str] | None = None, *, socks: bool = False) -> None:
        found = urllib.request.getproxies() if proxies is None else proxies
        self._proxies = {
            scheme: _parse(f"{scheme.upper()}_PROXY", value, socks=socks)
            for scheme in ("http", "https", "all")
            if (value := found.get(scheme))
        }
        entries = [entry.strip() for entry in found.get("no", "").split(",")]
        self._bypass_all = "*" in entries
        self._no_proxy = [_NoProxy(entry) for entry in entries if entry and entry != "*"]

    def secrets(self) -> list[str]:
        """The proxies' passwords, alone and as ``user:password`` (for the redactor: a proxy
        may echo them in an answer that reaches an error message or a log)."""
        found = []
        for proxy in self._proxies.values():
            credentials = proxy.credentials
            if credentials is not None and credentials[1]:
                found += [credentials[1], ":".join(credentials)]
        return found

    @property
    def empty(self) -> bool:
        """No request goes through a proxy."""
        return self._bypass_all or not self._proxies

    def for_url(self, scheme: str, host: str, port: int | None) -> Proxy | None:
        """The proxy for a request to this origin, or ``None`` to connect directly."""
        if self.empty:
            return None
        scheme = scheme.lower()
        host = host.lower().strip("[]").rstrip(".")
        if port is None:
            port = _DEFAULT_PORTS.get(scheme)
        if any(entry.matches(scheme, host, port) for entry in self._no_proxy):
            return None
        return self._proxies.get(scheme) or self._proxies.get("all")


def _parse(variable: str, value: str, *, socks: bool) -> Proxy:
    """``value`` as a proxy (``host:port`` means ``http://host:port``, as in httpx)."""
    url = value if "://" in value else f"http://{value}"
    kind = url.split("://", 1)[0].lower()
    if kind in _SOCKS and socks and importlib.util.find_spec("socksio") is None:
        raise ValidationError(
            f"{variable} names a SOCKS proxy, which needs httpx's socks extra"
            " (pip install 'httpx[socks]')",
            field=variable,
        )
    if kind not in ("http", "https") and not (socks and kind in _SOCKS):
        usable = "http://, https:// and socks5:// " if socks else "http:// and https://"
        backend = "" if socks else " (the default http_backend='httpx' takes SOCKS)"
        raise ValidationError(
            f"{variable} names a {_scheme_shown(kind)} proxy; this backend sends through {usable}"
            f" proxies only{backend}",
            field=variable,
        )
    proxy = _split(url, kind, variable)
    if proxy is None:  # raised here, outside the parser's exception: nothing chains to it
        raise ValidationError(
            f"{variable} is not a usable proxy URL (scheme://[user:password@]host[:port];"
            " percent-encode any of : / ? # @ in the user name or password)",
            field=variable,
        )
    return proxy


def _scheme_shown(kind: str) -> str:
    # Only what looks like a scheme: text before "://" in a malformed value may be a password.
    if kind.isascii() and kind.isalnum() and len(kind) <= 10:
        return f"{kind}://"
    return "malformed"


def _split(url: str, kind: str, variable: str) -> Proxy | None:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
        if not host or parts.query or parts.fragment or parts.path not in ("", "/"):
            return None
        netloc = f"[{host}]" if ":" in host else host
        if port is not None:
            netloc += f":{port}"
        bare = f"{kind}://{netloc}"
        httpx.URL(bare)  # what httpx refuses, refused here
    except (ValueError, httpx.InvalidURL):
        return None
    username = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    return Proxy(bare, username, password, variable)


class _NoProxy:
    """One ``NO_PROXY`` entry."""

    __slots__ = ("_domain", "_host", "_network", "_port", "_scheme", "_subdomains_only")

    def __init__(self, entry: str) -> None:
        self._scheme: str | None = None
        if "://" in entry:
            scheme, _, entry = entry.partition("://")
            self._scheme = None if scheme.lower() == "all" else scheme.lower()
            entry = entry.split("/", 1)[0]  # a URL's path is not part of the match
        host, self._port = _split_port(entry.strip().lower())
        host = host.strip("[]").rstrip(".")
        self._network: _NETWORK | None = None
        self._host: _ADDRESS | None = None
        try:
            if "/" in host:
                self._network = ipaddress.ip_network(host, strict=False)
            else:
                self._host = ipaddress.ip_address(host)
        except ValueError:
            host = host.split("/", 1)[0]
        self._subdomains_only = host.startswith(("*.", "."))
        self._domain = host.lstrip("*").lstrip(".")

    def matches(self, scheme: str, host: str, port: int | None) -> bool:
        if self._scheme is not None and self._scheme != scheme:
            return False
        if self._port is not None and self._port != port:
            return False
        if self._network is not None or self._host is not None:
            try:
                address = ipaddress.ip_address(host)
            except ValueError:
                return False
            if self._network is not None:
                return address in self._network
            return address == self._host
        if not self._domain:
            return False
        if host.endswith("." + self._domain):
            return True
        return not self._subdomains_only and host == self._domain


def _split_port(entry: str) -> tuple[str, int | None]:
    """``host:port``, ``[v6]:port``, a bare IPv6 address, or a host: the host and the port."""
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif entry.count(":") == 1:
        host, _, port = entry.partition(":")
    else:
        return entry, None  # a bare IPv6 address, or no port
    if port.isdigit():
        return host, int(port)
    return (entry if not entry.startswith("[") else host), None
