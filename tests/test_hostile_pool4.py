"""Hostile review (fourth round) of the pools and proxies after the third round's fixes
(``c80cb31``): the aiohttp backend's per-request headers and ``_HEADERS_SENT`` trace in proxy
mode, the httpx tracer's tunnel handling, ``AttemptLost.forget``, ``PoolShards`` per proxy.

Each test pins one defect; its docstring says what is wrong, how bad it is and what the correct
behaviour is. Plain tests (``asyncio.run``) with loopback servers and proxies.
"""

from __future__ import annotations

import asyncio
import socket
import threading

import httpx
import pytest

from qlara_async import APIStatusError, APITimeoutError, AsyncQlara, QlaraError, RetryPolicy
from tests._loopback import LoopbackServer, read_requests
from tests.test_hostile_pool import MESSAGE

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
KEY = "KEYzz9-api-key-value"
PASSWORD = "s3cr3t-proxy-pass"
BACKENDS = pytest.mark.parametrize("backend", ["httpx", "aiohttp"])


def _keyed(backend: str, url: str, timeout: float | httpx.Timeout = 10.0) -> AsyncQlara:
    return AsyncQlara(
        api_key=KEY,
        base_url=url,
        rate_limit=None,
        http_backend=backend,  # type: ignore[arg-type]
        timeout=timeout,
        retry_policy=RetryPolicy(max_retries=0, backoff_base=0.0, jitter=0.0),
    )


class _SilentProxy(LoopbackServer):
    """A proxy that reads the ``CONNECT`` and never answers it (until closed)."""

    def __init__(self) -> None:
        self.heads: list[bytes] = []
        self.release = threading.Event()
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        for head, _ in read_requests(conn):
            with self.lock:
                self.heads.append(head)
            self.release.wait(10)
            return

    def close(self) -> None:
        self.release.set()
        super().close()


def test_aiohttp_a_proxy_silent_on_the_connect_is_a_timeout_error(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """Severity: low. ``http_backend="aiohttp"``, an https base URL reached through a proxy
    (``HTTPS_PROXY``) that accepts the ``CONNECT`` and never answers it: the send fails as a
    plain ``APIConnectionError`` ("failed after 1 attempt: TimeoutError"), not
    ``APITimeoutError``, when the attempt's deadline strikes during the ``CONNECT``. Since ``c80cb31`` the proxy-mode branch of
    ``AiohttpWire.exchange``'s catch-all (``sent["sent"]`` still false) runs before the
    ``asyncio.TimeoutError`` branch and builds ``AttemptLost`` without ``timeout=True``. The
    httpx backend, same proxy, raises ``APITimeoutError`` (its ``_Lost`` marks any
    ``httpx.TimeoutException``, and the deadline, as a timeout); and the aiohttp backend itself
    raises ``APITimeoutError`` for every other timeout (connect, pool, read). A caller that
    handles ``except APITimeoutError`` (e.g. to lengthen the timeout, or report "slow
    network") misses this one, and only when a proxy is configured.

    Correct: ``APITimeoutError``, not ambiguous (nothing reached the API), as on the httpx
    backend."""
    proxy = _SilentProxy()
    clean_env.setenv("HTTPS_PROXY", f"http://user:{PASSWORD}@127.0.0.1:{proxy.port}")

    async def main() -> None:
        async with _keyed("aiohttp", "https://api.test/api", 0.3) as client:
            await client.send(MESSAGE)

    try:
        with pytest.raises(QlaraError) as info:
            asyncio.run(main())
    finally:
        proxy.close()
    assert proxy.heads and proxy.heads[0].startswith(b"CONNECT ")
    assert isinstance(info.value, APITimeoutError), repr(info.value)
    assert not info.value.ambiguous


class _Redirecting(LoopbackServer):
    """An API (or a forward proxy in front of it) answering every request with a 302 whose
    ``Location`` httpx cannot parse."""

    def __init__(self, location: bytes) -> None:
        self.location = location
        self.requests = 0
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        for _head, _ in read_requests(conn):
            with self.lock:
                self.requests += 1
            conn.sendall(
                b"HTTP/1.1 302 Found\r\nLocation: "
                + self.location
                + b"\r\nContent-Length: 0\r\n\r\n"
            )


@BACKENDS
@pytest.mark.parametrize("location", [b"//x:abc/", b"http://[::1"], ids=["port", "bracket"])
def test_a_redirect_with_a_malformed_location_is_a_qlara_error(
    clean_env: pytest.MonkeyPatch, backend: str, location: bytes
) -> None:
    """Severity: medium. A 3xx whose ``Location`` httpx cannot parse (``//x:abc/``, an
    unclosed ``[``: a misconfigured gateway, captive portal or forward proxy) makes the send
    raise a raw ``httpx.InvalidURL``, on both backends: ``_errors.status_error`` builds the
    message with ``httpx.URL(response.headers["location"])`` unguarded. The library's rule is
    that every failure is a ``QlaraError``: a caller's ``except QlaraError`` (a bulk job's
    per-message handling, a web handler) does not catch it, and the status and the fact
    that the request was answered are lost. (This predates ``adc0872``; redirects are part of
    this round's brief.)

    Correct: an ``APIStatusError`` for the 302 (the message may name the ``Location`` as
    given, scrubbed, or omit it)."""
    server = _Redirecting(location)

    async def main() -> None:
        async with _keyed(backend, server.url) as client:
            await client.send(MESSAGE)

    try:
        with pytest.raises(BaseException) as info:
            asyncio.run(main())
    finally:
        server.close()
    assert server.requests == 1
    assert isinstance(info.value, APIStatusError), repr(info.value)
    assert info.value.status_code == 302


def test_a_redirects_location_is_shown_without_credentials_or_query() -> None:
    """(With the fix above.) The message names where a redirect pointed, without the
    ``user:password@`` or the query a Location may carry."""

    def handler(request: httpx.Request) -> httpx.Response:
        location = "https://someone:hunter2pw@elsewhere.test/login?token=t0ken"
        return httpx.Response(302, headers={"Location": location})

    async def main() -> APIStatusError:
        http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        async with AsyncQlara(
            api_key="k", base_url="https://api.test/api", rate_limit=None, http_client=http
        ) as client:
            with pytest.raises(APIStatusError) as info:
                await client.send(MESSAGE)
        await http.aclose()
        return info.value

    error = asyncio.run(main())
    assert error.status_code == 302
    assert "https://elsewhere.test/login" in str(error)
    assert "hunter2pw" not in str(error) and "t0ken" not in str(error)


@BACKENDS
def test_a_proxy_echoing_its_password_is_masked_like_the_api_key(
    clean_env: pytest.MonkeyPatch, backend: str
) -> None:
    """(Noticed in the closing review, fixed.) A proxy that answers with its own password, as
    is or base64-encoded with the user name, reaches the error's message and body: the
    redactor masked only the API key and password, not the proxy's."""
    import base64
    import json

    token = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
    body = json.dumps({"message": f"bad credentials {PASSWORD} ({token})"}).encode()

    class Echo(LoopbackServer):
        def handle(self, conn: socket.socket) -> None:
            for _ in read_requests(conn):
                conn.sendall(
                    b"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )

    proxy = Echo()
    clean_env.setenv("HTTP_PROXY", f"http://user:{PASSWORD}@127.0.0.1:{proxy.port}")

    async def main() -> QlaraError:
        async with AsyncQlara(
            api_key=KEY,
            base_url="http://localhost:9/api",
            rate_limit=None,
            http_backend=backend,  # type: ignore[arg-type]
        ) as client:
            with pytest.raises(QlaraError) as info:
                await client.send(MESSAGE)
            return info.value

    try:
        error = asyncio.run(main())
    finally:
        proxy.close()
    shown = f"{error} {error!r} {getattr(error, 'body', '')}"
    assert "bad credentials" in shown
    assert PASSWORD not in shown and token not in shown
