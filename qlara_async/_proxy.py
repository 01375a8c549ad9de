"""The proxy the environment names for a URL, by httpx's rules (the aiohttp backend's).

httpx reads ``HTTP_PROXY``, ``HTTPS_PROXY``, ``ALL_PROXY`` and ``NO_PROXY`` itself when it makes
a client; aiohttp's own reading (``trust_env``) skips ``ALL_PROXY``, ignores a port in
``NO_PROXY``, and costs two worker-thread hops per request. So the aiohttp backend asks this
module, once per origin, and both backends send through the same proxy.

``NO_PROXY`` entries, as httpx and curl read them: ``*`` (no proxy at all), a domain
(``example.com``: it and its subdomains; ``.example.com`` or ``*.example.com``: subdomains
only), an IP address, an IP network (``10.0.0.0/8``), ``localhost``, each with an optional
``:port``, or a URL (``http://example.com``) that also names the scheme.
"""

from __future__ import annotations

import ipaddress
import urllib.request
from collections.abc import Mapping

from ._exceptions import ValidationError

__all__ = ["EnvironmentProxies"]

_DEFAULT_PORTS = {"http": 80, "https": 443}
_ADDRESS = ipaddress.IPv4Address | ipaddress.IPv6Address
_NETWORK = ipaddress.IPv4Network | ipaddress.IPv6Network


class EnvironmentProxies:
    """The proxies of the environment as read once (``proxies``: ``urllib``'s
    ``getproxies()`` by default, as httpx reads them). ``for_url`` names one URL's."""

    def __init__(self, proxies: Mapping[str, str] | None = None) -> None:
        found = urllib.request.getproxies() if proxies is None else proxies
        self._proxies = {
            scheme: _checked(scheme, value)
            for scheme in ("http", "https", "all")
            if (value := found.get(scheme))
        }
        entries = [entry.strip() for entry in found.get("no", "").split(",")]
        self._bypass_all = "*" in entries
        self._no_proxy = [_NoProxy(entry) for entry in entries if entry and entry != "*"]

    def for_url(self, scheme: str, host: str, port: int | None) -> str | None:
        """The proxy URL (with any ``user:password@``) for a request to this origin, or
        ``None`` to connect directly."""
        if self._bypass_all or not self._proxies:
            return None
        scheme = scheme.lower()
        host = host.lower().strip("[]").rstrip(".")
        if port is None:
            port = _DEFAULT_PORTS.get(scheme)
        if any(entry.matches(scheme, host, port) for entry in self._no_proxy):
            return None
        return self._proxies.get(scheme) or self._proxies.get("all")


def _checked(scheme: str, value: str) -> str:
    """``value`` as a proxy URL (``host:port`` means ``http://host:port``, as in httpx); a
    proxy aiohttp cannot use (SOCKS) is named, with no credential in the message."""
    url = value if "://" in value else f"http://{value}"
    kind = url.split("://", 1)[0].lower()
    if kind not in ("http", "https"):
        variable = f"{scheme.upper()}_PROXY"
        raise ValidationError(
            f"{variable} names a {kind}:// proxy; http_backend='aiohttp' sends through http://"
            " and https:// proxies only (the default http_backend='httpx' takes SOCKS with"
            " httpx's socks extra)",
            field=variable,
        )
    return url


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
