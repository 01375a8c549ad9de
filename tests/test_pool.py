"""The library's own httpx client and its pool (``qlara_async._pool``) on a real loopback
server: ``PoolShards`` fills small pools in order, never holds more than ``max_connections``,
queues the rest for the first connection freed, and frees every count it takes; one SSL
context serves every own client. (Hostile cases: ``test_hostile_pool*.py``.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from qlara_async import APIConnectionError, AsyncQlara, SmsMessage
from qlara_async._pool import NoCookies, PoolShards

MESSAGE = SmsMessage(destination="+393201234567", sender="Brand", body="Ciao")
SEND_OK = b'{"messageId":"m","results":{"sms":{"accepted":true}}}'


class _CountingServer:
    """A keep-alive HTTP/1.1 server on loopback that answers every request with the send
    response once ``gate`` is set, counting connections and requests in flight; ``wait_for(n)``
    returns when ``n`` requests are held at once."""

    def __init__(self, gate: asyncio.Event | None = None) -> None:
        self.connections = 0
        self.in_flight = 0
        self.most_in_flight = 0
        self.gate = gate
        self.url = ""
        self._writers: list[asyncio.StreamWriter] = []
        self._changed = asyncio.Event()

    async def __aenter__(self) -> _CountingServer:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.server.sockets[0].getsockname()[1]}/api"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.server.close()
        for writer in self._writers:
            writer.close()
        await self.server.wait_closed()

    async def wait_for(self, held: int) -> None:
        while self.in_flight < held:
            self._changed.clear()
            await self._changed.wait()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
                self._changed.set()
                if self.gate is not None:
                    await self.gate.wait()
                self.in_flight -= 1
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(SEND_OK)).encode()
                    + b"\r\n\r\n"
                    + SEND_OK
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            writer.close()


def _shards(client: AsyncQlara) -> PoolShards:
    transport = client._http._transport
    assert isinstance(transport, PoolShards)
    return transport


def test_the_own_client_uses_pool_shards_and_keeps_httpx_settings() -> None:
    client = AsyncQlara(api_key="k", base_url="https://api.test/api")
    http = client._http
    assert isinstance(http._transport, PoolShards)
    assert http.timeout == client.timeout
    assert isinstance(http.cookies, NoCookies)


def test_sequential_sends_reuse_one_connection() -> None:
    async def main() -> tuple[int, list[int]]:
        async with (
            _CountingServer() as server,
            AsyncQlara(api_key="k", base_url=server.url, rate_limit=None) as client,
        ):
            for _ in range(20):
                await client.send(MESSAGE)
            shards = _shards(client)
            return server.connections, list(shards._loads)

    connections, loads = asyncio.run(main())
    assert connections == 1
    assert loads == [0]  # one pool made, nothing left counted


def test_concurrent_sends_spread_over_pools_of_at_most_shard_size() -> None:
    async def main() -> tuple[int, int, list[int], list[int]]:
        gate = asyncio.Event()
        async with (
            _CountingServer(gate) as server,
            AsyncQlara(api_key="k", base_url=server.url, rate_limit=None) as client,
        ):
            shards = _shards(client)
            sends = [asyncio.ensure_future(client.send(MESSAGE)) for _ in range(20)]
            await server.wait_for(20)  # every request is held at the server
            during = list(shards._loads)
            gate.set()
            await asyncio.gather(*sends)
            return server.connections, server.most_in_flight, during, list(shards._loads)

    connections, most, during, after = asyncio.run(main())
    assert most == 20 and connections == 20
    assert during == [4, 4, 4, 4, 4]  # filled in order, shard_size (4) each
    assert after == [0, 0, 0, 0, 0]


def test_past_every_pools_capacity_requests_wait_in_order_for_a_freed_connection() -> None:
    async def main() -> tuple[int, list[int], int]:
        gate = asyncio.Event()
        async with _CountingServer(gate) as server:
            client = AsyncQlara(api_key="k", base_url=server.url, rate_limit=None)
            # A client-sized pool of 8 (two shards of 4), for 11 sends at once.
            limits = httpx.Limits(max_connections=8, max_keepalive_connections=8)
            client._http._transport = PoolShards(limits, ssl_context=_shards(client)._ssl)
            async with client:
                shards = _shards(client)
                sends = [asyncio.ensure_future(client.send(MESSAGE)) for _ in range(11)]
                await server.wait_for(8)
                while len(shards._waiters) < 3:  # noqa: ASYNC110 (no event to wait on)
                    await asyncio.sleep(0)
                during = list(shards._loads)
                gate.set()
                await asyncio.gather(*sends)
                return server.connections, during, len(shards._waiters)

    connections, during, waiting = asyncio.run(main())
    assert connections == 8  # never more than the client's max_connections
    assert during == [4, 4]  # 4 + 4 in flight, 3 waiting here, not inside one pool
    assert waiting == 0


def test_a_failed_or_cancelled_request_frees_its_count() -> None:
    async def main() -> list[int]:
        gate = asyncio.Event()
        async with _CountingServer(gate) as server:
            url = server.url
            async with AsyncQlara(
                api_key="k", base_url=url, rate_limit=None, max_retries=0
            ) as client:
                shards = _shards(client)
                task = asyncio.ensure_future(client.send(MESSAGE))
                await server.wait_for(1)
                task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await task
                gate.set()
        # A refused connection: the server is gone.
        async with AsyncQlara(api_key="k", base_url=url, rate_limit=None, max_retries=0) as refused:
            with pytest.raises(APIConnectionError):
                await refused.send(MESSAGE)
            return list(shards._loads) + list(_shards(refused)._loads)

    assert asyncio.run(main()) == [0, 0]


def test_the_ssl_context_is_made_once_for_every_own_client() -> None:
    first = AsyncQlara(api_key="k", base_url="https://api.test/api")
    second = AsyncQlara(api_key="k", base_url="https://api.test/api")
    assert _shards(first)._ssl is _shards(second)._ssl


def test_a_proxied_pool_starts_over_on_a_new_loop_and_closes_its_sockets(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Requests the environment sends through a proxy use a pool of their own; moving from
    trio to asyncio starts it over too, its trio socket closed (an unclosed one would warn,
    and warnings are errors here)."""
    import gc

    import trio

    from ._loopback import LoopbackServer, read_requests

    class Proxy(LoopbackServer):
        def __init__(self) -> None:
            self.targets: list[bytes] = []
            super().__init__()

        def handle(self, conn: Any) -> None:
            for head, _ in read_requests(conn):
                self.targets.append(head.split(b" ")[1])
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                    + str(len(SEND_OK)).encode()
                    + b"\r\n\r\n"
                    + SEND_OK
                )

    proxy = Proxy()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    try:
        client = AsyncQlara(api_key="k", base_url="http://localhost:81/api", rate_limit=None)
        pools = client._http._transport
        assert isinstance(pools, PoolShards)

        async def send() -> None:
            assert (await client.send(MESSAGE)).accepted

        trio.run(send)
        first = list(pools.proxied.values())
        asyncio.run(send())
        asyncio.run(client.aclose())
        gc.collect()
    finally:
        proxy.close()
    assert len(first) == 1 and first[0] not in pools.proxied.values()
    assert proxy.targets == [b"http://localhost:81/api/message-server/sms/send"] * 2
    assert pools.shards == []  # nothing went direct
