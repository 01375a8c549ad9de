"""Hostile review (third round) of the pools and proxies: ``_proxy.py``, ``PoolShards``'s proxied
pools (``_route``) and the aiohttp backend's ``AiohttpWire._proxy``.

Each test pins one defect; its docstring says what is wrong, how bad it is and what the correct
behaviour is. Plain tests (``asyncio.run``/``trio.run``) with loopback servers and proxies.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import socket
import traceback
import warnings

import httpx
import pytest
import trio

from qlara_async import APIConnectionError, AsyncQlara, QlaraError, RetryPolicy
from qlara_async._pool import PoolShards, _ssl_context
from qlara_async._proxy import EnvironmentProxies
from tests._loopback import LoopbackServer, read_requests
from tests.test_hostile_pool import MESSAGE, _client, _Server, _settled, _until

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
KEY = "KEYzz9-api-key-value"
PASSWORD = "s3cr3t-proxy-pass"
TOKEN = base64.b64encode(f"user:{PASSWORD}".encode()).decode()
BACKENDS = pytest.mark.parametrize("backend", ["httpx", "aiohttp"])


class _Proxy(LoopbackServer):
    """A proxy that records the first request head of each connection (a ``CONNECT`` for an
    https target) and answers it with ``answer`` (nothing: it hangs up)."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.heads: list[bytes] = []
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        for head, _ in read_requests(conn):
            with self.lock:
                self.heads.append(head)
            if self.answer:
                conn.sendall(self.answer)
            return


_407 = b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\nContent-Length: 0\r\n\r\n"


def _keyed(backend: str, url: str) -> AsyncQlara:
    return AsyncQlara(
        api_key=KEY,
        base_url=url,
        rate_limit=None,
        http_backend=backend,  # type: ignore[arg-type]
        retry_policy=RetryPolicy(max_retries=0, backoff_base=0.0, jitter=0.0),
    )


def _send_through(proxy: _Proxy, backend: str, monkeypatch: pytest.MonkeyPatch) -> BaseException:
    """One send to an https origin through ``proxy`` (with credentials); what it raised."""
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:{PASSWORD}@127.0.0.1:{proxy.port}")

    async def main() -> None:
        async with _keyed(backend, "https://api.test/api") as client:
            await client.send(MESSAGE)

    with pytest.raises(BaseException) as info:
        asyncio.run(main())
    return info.value


def test_aiohttp_the_api_key_is_not_sent_to_the_proxy_in_the_connect(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """Severity: high. With ``http_backend="aiohttp"`` and an https base URL reached through
    an http proxy (``HTTPS_PROXY=http://proxy:3128``, the common corporate setup), the
    ``CONNECT`` that opens the tunnel carries the client's ``X-Api-Key`` (and User-Agent,
    Accept...) in clear text to the proxy: aiohttp's ``ClientSession._request`` builds the
    ``CONNECT``'s headers with ``self._prepare_headers(proxy_headers)``, which merges the
    session's default headers -- and ``AiohttpWire._open`` puts the credential there. The
    TLS that should protect the key from the proxy (and the network up to it) is bypassed;
    with ``username``/``password`` auth the ``Authorization`` header goes the same way. The
    httpx backend sends only ``Host``, ``Accept`` and ``Proxy-Authorization``.

    Correct: the ``CONNECT`` carries no credential of the origin (no ``X-Api-Key``, no
    ``Authorization``), e.g. the credential passed as a per-request header, not a session
    default."""
    proxy = _Proxy(_407)
    try:
        error = _send_through(proxy, "aiohttp", clean_env)
    finally:
        proxy.close()
    assert isinstance(error, QlaraError)
    assert proxy.heads and proxy.heads[0].startswith(b"CONNECT ")
    assert KEY.encode() not in proxy.heads[0], proxy.heads[0]


@BACKENDS
@pytest.mark.parametrize("answer", [_407, b""], ids=["407", "hang-up"])
def test_a_connect_the_proxy_refuses_is_not_ambiguous(
    clean_env: pytest.MonkeyPatch, backend: str, answer: bytes
) -> None:
    """Severity: medium. A send to an https origin whose proxy refuses the tunnel (``407``
    to the ``CONNECT``, or hangs up on it) fails as ``APIConnectionError(ambiguous=True)``,
    "the request may have been processed", on both backends, though the origin cannot have
    received a byte of it (the request is written only inside the tunnel, after TLS). httpx
    backend: ``httpx.ProxyError`` / ``RemoteProtocolError`` are not in ``_httpx._NOT_SENT``;
    aiohttp backend: ``ClientHttpProxyError`` / ``ServerDisconnectedError`` on the proxy
    connection fall to ``exchange``'s catch-all (``sent=True, ambiguous=True``). A caller
    that does not resend ambiguous sends (to avoid duplicates) drops the message; a
    non-idempotent call is not retried although it safely could be.

    Correct: a failure of the ``CONNECT`` (any proxy answer but 2xx, or none) is not sent,
    not ambiguous (``AttemptLost(sent=False, ambiguous=False)``)."""
    proxy = _Proxy(answer)
    try:
        error = _send_through(proxy, backend, clean_env)
    finally:
        proxy.close()
    assert proxy.heads and proxy.heads[0].startswith(b"CONNECT "), repr(error)
    assert isinstance(error, APIConnectionError)
    assert not error.ambiguous, str(error)


def test_httpx_the_proxy_credential_is_not_in_the_error_context_chain(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """Severity: low. httpx backend, https origin through a proxy with credentials that
    answers the ``CONNECT`` with 407: ``error.__context__`` (the ``AttemptLost``, then
    ``httpx.ProxyError``, then ``httpcore.ProxyError``; ``raise ... from None`` hides it from
    a printed traceback but keeps it on the exception, where error reporters and
    ``traceback.TracebackException(error.__context__, capture_locals=True)`` find it) holds
    httpcore's frames, whose locals show the ``Proxy-Authorization`` value -- the base64 of
    ``user:password``, i.e. the password. The aiohttp backend, same environment, masks it
    (``_Masked``), so nothing there shows it.

    Correct: as on the aiohttp backend, no frame reachable from the error shows the proxy
    credential (e.g. drop ``__context__``, or mask the header value)."""
    proxy = _Proxy(_407)
    try:
        error = _send_through(proxy, "httpx", clean_env)
    finally:
        proxy.close()
    assert isinstance(error, APIConnectionError)
    shown = ""
    context = error.__context__
    while context is not None:
        exception = traceback.TracebackException.from_exception(context, capture_locals=True)
        shown += "".join(exception.format())
        context = context.__cause__ or context.__context__
    assert TOKEN.rstrip("=") not in shown
    assert PASSWORD not in shown


def test_a_send_queued_in_the_proxied_pool_is_not_sent_after_aclose(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """Severity: medium. Round 2's finding (a send waiting for a connection when the client
    closes goes out after ``aclose()``) was fixed for ``PoolShards``'s own shards only. A
    request the environment sends through a proxy goes to ``self.proxied``'s httpx transport
    (``_route``), whose httpcore pool queues it; ``aclose()`` closes that pool's connections
    but leaves its queue, so when the in-flight send's connection breaks the queued request
    is given a *new* connection and sent after ``aclose()`` returned, on a socket nothing
    ever closes (``ResourceWarning: unclosed transport``).

    Correct: as for the shards, the queued send fails with ``APIConnectionError`` (not sent,
    not ambiguous), the proxy never sees it, no connection is left open."""
    server = _Server()
    clean_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")

    async def main() -> BaseException | None:
        gate = server.gate("/api/message")
        client = _client("httpx", "http://localhost:9/api")
        pools = PoolShards(
            httpx.Limits(max_connections=1),
            ssl_context=_ssl_context(),
            proxies=EnvironmentProxies(),
        )
        client._http._transport = pools
        first = asyncio.ensure_future(client.send(MESSAGE))
        await _until(server, lambda: server.held == 1)
        queued = asyncio.ensure_future(client.send(MESSAGE))
        await _settled(lambda: bool(pools.proxied) and _queued(pools) == 1)
        await client.aclose()
        gate.set()
        outcomes = await asyncio.gather(first, queued, return_exceptions=True)
        await _until(server, lambda: server.open == 0 or len(server.requests) > 1)
        for pool in pools.proxied.values():  # (the connection opened after aclose())
            await pool.aclose()
        return outcomes[1] if isinstance(outcomes[1], BaseException) else None

    try:
        error = asyncio.run(main())
    finally:
        server.close()
    assert len(server.requests) == 1, "the queued send went out after aclose()"
    assert isinstance(error, APIConnectionError)
    assert not error.ambiguous


def _queued(pools: PoolShards) -> int:
    # (Since the fix, a proxy's requests wait in a PoolShards of its own, as direct ones do.)
    return sum(len(pool._waiters) for pool in pools.proxied.values())


def test_a_proxied_connection_of_an_ended_loop_is_closed(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """Severity: low. When the client moves to a new event loop, ``drop_pool`` closes the old
    loop's sockets of the shards (and of ``_mounts``), then ``PoolShards.reset()`` forgets
    ``self.proxied`` without closing its pools' sockets: every keep-alive connection to the
    proxy from the old loop stays open until a garbage collection finds it (a descriptor
    leaked per loop switch, ``ResourceWarning: unclosed``), and ``aclose()`` on the new loop
    no longer knows it. Without a proxy the same sequence leaves nothing open.

    Correct: as for the shards, the old loop's proxied connections are closed when the
    client leaves that loop; after ``aclose()`` the proxy holds no connection of the client.
    (The collector is paused so that the test does not depend on when one runs.)"""
    server = _Server()
    clean_env.setenv("HTTP_PROXY", f"http://127.0.0.1:{server.port}")
    client = _client("httpx", "http://localhost:9/api")

    async def send() -> bool:
        return (await client.send(MESSAGE)).accepted

    async def send_and_close() -> bool:
        async with client:
            return await send()

    gc.disable()
    try:
        assert trio.run(send)
        assert asyncio.run(send_and_close())
        server.wait_until(lambda: server.open == 0, timeout=2)
        still_open = server.open
    finally:
        gc.enable()
        with warnings.catch_warnings():  # the leaked sockets, freed here
            warnings.simplefilter("ignore", ResourceWarning)
            gc.collect()
        server.close()
    assert server.connections == 2
    assert still_open == 0, f"{still_open} connection(s) to the proxy left open"
