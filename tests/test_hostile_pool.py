"""Hostile review of the connection pools (issue 12): ``PoolShards`` (the default client's
pool), the environment each backend reads (CA bundle, proxies) and a client moved between
async libraries. Each test pins one finding; the number is in its docstring.

Plain tests (``asyncio.run``/``trio.run``): several need two event loops, or a pool that is
full at a moment the test chooses.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Callable, Iterator
from typing import Any

import anyio
import anyio.to_thread
import httpx
import pytest
import trio

from qlara_async import (
    APITimeoutError,
    AsyncQlara,
    RetryPolicy,
    SmsMessage,
    ValidationError,
)
from qlara_async._pool import PoolShards, _ssl_context

from ._loopback import LoopbackServer, read_requests

MESSAGE = SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")
OK = b'{"messageId":"m","results":{"sms":{"accepted":true}}}'
BACKENDS = pytest.mark.parametrize("backend", ["httpx", "aiohttp"])


def _ok() -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(OK)).encode()
        + b"\r\n\r\n"
        + OK
    )


class _Server(LoopbackServer):
    """A keep-alive HTTP/1.1 server on loopback. A request whose path holds a name in
    ``gates`` is answered once that gate is set; ``requests`` lists the requests' heads,
    ``held`` counts those waiting at a gate."""

    def __init__(self) -> None:
        self.gates: dict[str, threading.Event] = {}
        self.held = 0
        self.requests: list[bytes] = []
        super().__init__(backlog=128)

    def gate(self, name: str) -> threading.Event:
        return self.gates.setdefault(name, threading.Event())

    def handle(self, conn: socket.socket) -> None:
        for head, _ in read_requests(conn):
            target = head.split(b" ")[1].decode()
            gate = next((g for name, g in self.gates.items() if name in target), None)
            with self.lock:
                self.requests.append(head)
                self.held += gate is not None
                self.lock.notify_all()
            if gate is not None:
                gate.wait(30)
                with self.lock:
                    self.held -= 1
                    self.lock.notify_all()
            conn.sendall(_ok())

    def close(self) -> None:
        for gate in self.gates.values():
            gate.set()
        super().close()


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


async def _settled(condition: Callable[[], bool]) -> None:
    """Let the event loop run until ``condition`` (on its own state, e.g. a pool's waiters)
    holds: each turn yields, none sleeps."""
    with anyio.fail_after(10):
        while not condition():  # noqa: ASYNC110 (the pool's queue has no event to wait on)
            await asyncio.sleep(0)


async def _until(server: LoopbackServer, condition: Callable[[], bool]) -> None:
    """Wait, in a worker thread, until the server's threads make ``condition`` hold."""
    assert await anyio.to_thread.run_sync(server.wait_until, condition)


def _shards(limits: httpx.Limits) -> PoolShards:
    return PoolShards(limits, ssl_context=_ssl_context())


def test_a_queued_request_takes_the_first_connection_freed_in_any_pool(server: _Server) -> None:
    """1. Past every pool's capacity a request queued in one pool (the least busy); when
    another pool freed its connections it kept waiting for its own, and failed with
    ``PoolTimeout`` beside idle connections. Now it takes the first connection freed."""

    async def main() -> tuple[int, list[int]]:
        first, second = server.gate("first"), server.gate("second")
        pools = _shards(httpx.Limits(max_connections=8, max_keepalive_connections=8))
        timeout = httpx.Timeout(10.0, pool=10.0)
        async with httpx.AsyncClient(transport=pools, timeout=timeout) as http:
            base = server.url
            held = [asyncio.ensure_future(http.post(f"{base}/first/{i}")) for i in range(4)]
            await _until(server, lambda: server.held == 4)
            held += [asyncio.ensure_future(http.post(f"{base}/second/{i}")) for i in range(4)]
            await _until(server, lambda: server.held == 8)
            queued = asyncio.ensure_future(http.post(f"{base}/queued"))
            await _settled(lambda: len(pools._waiters) == 1)
            second.set()  # the second pool frees its four; the first stays full
            response = await queued
            first.set()
            await asyncio.gather(*held)
            return response.status_code, list(pools._loads)

    status, loads = asyncio.run(main())
    assert status == 200
    assert loads == [0, 0]


def test_max_connections_is_not_rounded_up_to_whole_pools(server: _Server) -> None:
    """2. ``max_connections=10`` made three pools of four: twelve connections. (The five
    kept alive are the first pools': the last pool's connections close after each use.)"""

    async def main() -> list[int]:
        gate = server.gate("hold")
        pools = _shards(httpx.Limits(max_connections=10, max_keepalive_connections=5))
        async with httpx.AsyncClient(transport=pools, timeout=10.0) as http:
            sends = [asyncio.ensure_future(http.post(f"{server.url}/hold/{i}")) for i in range(12)]
            await _until(server, lambda: server.held == 10)
            await _settled(lambda: len(pools._waiters) == 2)
            gate.set()
            for response in await asyncio.gather(*sends):
                assert response.status_code == 200
            return list(pools._caps)

    caps = asyncio.run(main())
    assert server.most_open == 10
    assert caps == [4, 4, 2]


def test_a_cancelled_or_timed_out_wait_for_a_connection_frees_nothing_twice(
    server: _Server,
) -> None:
    """1 (follow-up). A waiter cancelled or out of time leaves the queue; one handed a
    connection as it is cancelled hands it on: the counts end at zero, nothing waits."""

    async def main() -> tuple[list[int], int]:
        gate = server.gate("hold")
        pools = _shards(httpx.Limits(max_connections=1))
        async with httpx.AsyncClient(transport=pools, timeout=10.0) as http:
            held = asyncio.ensure_future(http.post(f"{server.url}/hold"))
            await _until(server, lambda: server.held == 1)
            with pytest.raises(httpx.PoolTimeout):
                await http.post(f"{server.url}/late", timeout=httpx.Timeout(10.0, pool=0.05))
            cancelled = asyncio.ensure_future(http.post(f"{server.url}/cancelled"))
            waiting = asyncio.ensure_future(http.post(f"{server.url}/waiting"))
            await _settled(lambda: len(pools._waiters) == 2)
            gate.set()
            await held  # its connection is handed to `cancelled`...
            cancelled.cancel()  # ...cancelled before it runs: on to `waiting`
            with pytest.raises(asyncio.CancelledError):
                await cancelled
            assert (await waiting).status_code == 200
            return list(pools._loads), len(pools._waiters)

    assert asyncio.run(main()) == ([0], 0)


def test_a_missing_ca_bundle_is_a_validation_error_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    """3. ``SSL_CERT_FILE`` naming a missing file: ``AsyncQlara()`` raised FileNotFoundError."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    with pytest.raises(ValidationError) as info:
        AsyncQlara(api_key="k", base_url="https://api.test/api")
    assert info.value.field == "SSL_CERT_FILE"
    assert "SSL_CERT_FILE" in str(info.value)


def _client(backend: str, url: str, **kwargs: Any) -> AsyncQlara:
    return AsyncQlara(
        api_key="k",
        base_url=url,
        rate_limit=None,
        http_backend=backend,  # type: ignore[arg-type]
        retry_policy=RetryPolicy(max_retries=0, backoff_base=0.0, jitter=0.0),
        **kwargs,
    )


def _clear_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


@BACKENDS
def test_all_proxy_is_honoured(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """4. httpx sends through ``ALL_PROXY``; aiohttp's proxy lookup reads only the
    http/https/ws/wss variables, so the aiohttp backend went around the proxy."""
    proxy, origin = _Server(), _Server()
    _clear_proxies(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.1:{proxy.port}")

    async def main() -> None:
        async with _client(backend, f"http://localhost:{origin.port}/api") as client:
            await client.send(MESSAGE)

    try:
        asyncio.run(main())
    finally:
        proxy.close()
        origin.close()
    assert len(proxy.requests) == 1 and origin.requests == []
    assert proxy.requests[0].startswith(b"POST http://localhost:")  # a proxy's request line


@BACKENDS
def test_no_proxy_with_a_port_is_matched_per_origin(
    backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """6. ``NO_PROXY=localhost:<port>``: aiohttp matched no entry with a port, and its
    per-origin cache ignored the port, so one origin's answer served another's."""
    proxy, direct, proxied = _Server(), _Server(), _Server()
    _clear_proxies(monkeypatch)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("NO_PROXY", f"localhost:{direct.port}")

    async def main() -> None:
        for origin in (direct, proxied, direct):
            async with _client(backend, f"http://localhost:{origin.port}/api") as client:
                await client.send(MESSAGE)
                await client.send(MESSAGE)

    try:
        asyncio.run(main())
    finally:
        for s in (proxy, direct, proxied):
            s.close()
    assert len(direct.requests) == 4 and proxied.requests == []
    assert len(proxy.requests) == 2


def test_a_socks_proxy_neither_backend_can_use_is_named_when_the_client_is_made(
    monkeypatch: pytest.MonkeyPatch, server: _Server
) -> None:
    """4 (follow-up). aiohttp cannot use a SOCKS proxy, nor httpx without its socks extra
    (it raised ImportError): a ValidationError naming the variable, without its password,
    when the client is made."""
    _clear_proxies(monkeypatch)
    monkeypatch.setenv("ALL_PROXY", "socks5://user:s3cret@127.0.0.1:1")

    for backend in ("aiohttp", "httpx"):  # httpx: SOCKS needs its socks extra, not installed
        with pytest.raises(ValidationError) as info:
            _client(backend, server.url)
        assert info.value.field == "ALL_PROXY" and "s3cret" not in str(info.value)
    assert server.requests == []


@BACKENDS
def test_a_pool_timeout_is_an_api_timeout_error(backend: str, server: _Server) -> None:
    """7. Out of time waiting for a connection: the httpx backend raises APITimeoutError, the
    aiohttp backend raised a plain APIConnectionError."""

    async def main() -> BaseException:
        gate = server.gate("/api/message")
        client = _client(backend, server.url, timeout=httpx.Timeout(10.0, pool=0.05))
        if backend == "aiohttp":
            client._transport.wire._limit = 1  # type: ignore[union-attr]
        else:
            client._http._transport = _shards(httpx.Limits(max_connections=1))
        async with client:
            held = asyncio.ensure_future(client.send(MESSAGE))
            await _until(server, lambda: server.held == 1)
            with pytest.raises(APITimeoutError) as info:
                await client.send(MESSAGE)
            gate.set()
            await held
            return info.value

    error = asyncio.run(main())
    assert not error.ambiguous  # type: ignore[attr-defined]


def test_a_client_used_under_trio_then_asyncio_then_trio_keeps_working(server: _Server) -> None:
    """5. After ``trio.run`` every send under ``asyncio.run`` failed ("must be called from
    async context"): each httpcore pool kept the trio backend it first found, and the trio
    sockets were left open. Now the pools start over on the new loop."""
    client = _client("httpx", server.url)
    results: list[bool] = []

    async def send() -> None:
        results.append((await client.send(MESSAGE)).accepted)
        results.append((await client.send(MESSAGE)).accepted)

    trio.run(send)
    asyncio.run(send())
    trio.run(send)
    asyncio.run(client.aclose())
    assert results == [True] * 6
    assert server.connections == 3  # one per loop, kept alive within it


def test_a_user_clients_pool_also_forgets_the_async_library(server: _Server) -> None:
    """5 (follow-up). A given ``http_client`` (one httpcore pool, not ours) moved from trio to
    asyncio: its pool's network backend starts over too."""
    http = httpx.AsyncClient()
    client = AsyncQlara(api_key="k", base_url=server.url, rate_limit=None, http_client=http)
    accepted: list[bool] = []

    async def send() -> None:
        accepted.append((await client.send(MESSAGE)).accepted)

    async def send_and_close() -> None:
        await send()
        await http.aclose()  # on the loop that made its connection

    trio.run(send)
    asyncio.run(send_and_close())
    assert accepted == [True, True]
