"""The httpx backend's shortcuts (``qlara_async._httpx``) against httpx's own behaviour.

``RequestBuilder`` must build exactly what ``AsyncClient.build_request`` builds (method, URL,
headers in the same order, body, timeout extension), or hand the job back to httpx; the direct
send must still fill a given client's cookie jar from a ``Set-Cookie``; ``HeaderAuth`` must work
through httpx's own auth flow too.
"""

from __future__ import annotations

import asyncio

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlara_async import APIConnectionError, AsyncQlara, SmsMessage
from qlara_async._httpx import HeaderAuth, NoCookies, PoolShards, RequestBuilder

URL = "https://api.test/api/message/sms"
OURS = {
    "User-Agent": "qlara-async/test",
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
}
OURS_JSON = {**OURS, "Content-Type": "application/json"}
TIMEOUT = httpx.Timeout(7.0, connect=2.0)
pytestmark = pytest.mark.anyio

MESSAGE = SmsMessage(destination="+393201234567", sender="Brand", body="Ciao")
SEND_OK = b'{"messageId":"m","results":{"sms":{"accepted":true}}}'


def _same(built: httpx.Request, expected: httpx.Request) -> None:
    assert built.method == expected.method
    assert built.url == expected.url
    assert built.headers.raw == expected.headers.raw  # same headers, same order, same case
    assert built.content == expected.content
    assert built.extensions == expected.extensions
    assert isinstance(built.stream, httpx.AsyncByteStream)


CASES = [
    ("POST", b'{"a":1}', OURS_JSON),
    ("POST", None, OURS),
    ("POST", b"", OURS_JSON),
    ("PUT", b"[]", OURS_JSON),
    ("PATCH", None, OURS),
    ("GET", None, OURS),
    ("DELETE", None, OURS),
]


@pytest.mark.parametrize(("method", "content", "headers"), CASES)
@pytest.mark.parametrize(
    "client_options",
    [
        {},
        {"headers": {"X-Trace": "t1", "User-Agent": "theirs"}},
        {"headers": {"Host": "other.test"}},
        {"base_url": "https://elsewhere.test/v9/"},
    ],
    ids=["plain", "own-headers", "own-host", "base-url"],
)
async def test_the_builder_builds_what_httpx_builds(
    method: str, content: bytes | None, headers: dict[str, str], client_options: dict[str, object]
) -> None:
    async with httpx.AsyncClient(**client_options) as http:  # type: ignore[arg-type]
        builder = RequestBuilder(http)
        for _ in range(2):  # the first builds the template, the second reuses it
            built = builder.build(method, URL, content, headers, TIMEOUT)
            assert built is not None
            expected = http.build_request(
                method, URL, content=content, headers=headers, timeout=TIMEOUT
            )
            _same(built, expected)


async def test_a_change_to_the_clients_headers_is_picked_up() -> None:
    async with httpx.AsyncClient() as http:
        builder = RequestBuilder(http)
        first = builder.build("POST", URL, b"{}", OURS_JSON, TIMEOUT)
        assert first is not None and "X-Added" not in first.headers
        http.headers["X-Added"] = "yes"
        second = builder.build("POST", URL, b"{}", OURS_JSON, TIMEOUT)
        assert second is not None and second.headers["X-Added"] == "yes"
        http.headers["X-Added"] = "changed"  # same length, new value
        third = builder.build("POST", URL, b"{}", OURS_JSON, TIMEOUT)
        assert third is not None and third.headers["X-Added"] == "changed"
        _same(
            third,
            http.build_request("POST", URL, content=b"{}", headers=OURS_JSON, timeout=TIMEOUT),
        )


async def test_another_timeout_object_is_used_as_given() -> None:
    async with httpx.AsyncClient() as http:
        builder = RequestBuilder(http)
        builder.build("POST", URL, b"{}", OURS_JSON, TIMEOUT)
        other = httpx.Timeout(1.5)
        built = builder.build("POST", URL, b"{}", OURS_JSON, other)
        assert built is not None and built.extensions["timeout"] == other.as_dict()


@pytest.mark.parametrize(
    "client_options",
    [
        {"cookies": {"session": "s"}},
        {"params": {"q": "1"}},
        {"headers": {"Content-Length": "5"}},
        {"headers": {"Transfer-Encoding": "chunked"}},
    ],
    ids=["cookies", "params", "content-length", "transfer-encoding"],
)
async def test_what_httpx_must_merge_is_left_to_httpx(client_options: dict[str, object]) -> None:
    async with httpx.AsyncClient(**client_options) as http:  # type: ignore[arg-type]
        assert RequestBuilder(http).build("POST", URL, b"{}", OURS_JSON, TIMEOUT) is None


@pytest.mark.parametrize("url", ["/relative/path", "https://", "http://[::1"])
async def test_a_url_it_cannot_use_is_left_to_httpx(url: str) -> None:
    async with httpx.AsyncClient() as http:
        assert RequestBuilder(http).build("POST", url, b"{}", OURS_JSON, TIMEOUT) is None


async def test_a_new_headers_dict_with_a_reused_id_gets_its_own_template() -> None:
    async with httpx.AsyncClient() as http:
        builder = RequestBuilder(http)
        first = {"X-One": "1"}
        builder.build("POST", URL, b"{}", first, TIMEOUT)
        # The same key as far as id() goes, another dict: its own headers must be sent.
        other = {"X-Two": "2"}
        builder._templates[(URL, id(other))] = builder._templates.pop((URL, id(first)))
        built = builder.build("POST", URL, b"{}", other, TIMEOUT)
        assert built is not None and "X-Two" in built.headers and "X-One" not in built.headers


_SHARED = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(500)))
_header_name = st.from_regex(r"\AX-[A-Za-z][A-Za-z0-9-]{0,12}\Z")
_header_value = st.from_regex(r"\A[ -~]{0,30}\Z").map(str.strip)


@settings(max_examples=150, deadline=None)
@given(
    client_headers=st.dictionaries(_header_name, _header_value, max_size=4),
    ours=st.dictionaries(_header_name, _header_value, max_size=4),
    content=st.none() | st.binary(max_size=64),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
)
def test_any_headers_and_body_build_the_same(
    client_headers: dict[str, str], ours: dict[str, str], content: bytes | None, method: str
) -> None:
    http = _SHARED
    http.headers = client_headers  # (a client per example would cost an SSL context each)
    built = RequestBuilder(http).build(method, URL, content, ours, TIMEOUT)
    assert built is not None
    _same(built, http.build_request(method, URL, content=content, headers=ours, timeout=TIMEOUT))


async def test_a_given_clients_cookie_jar_still_gets_set_cookie() -> None:
    """The direct send skips httpx's cookie parsing only when there is no Set-Cookie."""

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if request.headers.get("x-want-cookie"):
            headers["set-cookie"] = "lb=node-7; Path=/"
        return httpx.Response(200, content=SEND_OK, headers=headers)

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with AsyncQlara(api_key="k", base_url="https://api.test/api", http_client=http) as client:
        await client.send(MESSAGE)
        assert not http.cookies
        http.headers["X-Want-Cookie"] = "1"
        await client.send(MESSAGE)
        assert http.cookies.get("lb") == "node-7"


async def test_header_auth_works_through_httpx_too() -> None:
    """Through ``AsyncClient.send`` (a client with event hooks goes that way) the credential
    is added by the auth flow, as the direct path adds it."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-Api-Key"])
        return httpx.Response(200, content=SEND_OK, headers={"content-type": "application/json"})

    async def hook(request: httpx.Request) -> None:
        pass

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), event_hooks={"request": [hook]})
    async with AsyncQlara(api_key="key-1", base_url="https://api.test/api", http_client=http) as c:
        await c.send(MESSAGE)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as plain:
        await plain.post("https://api.test/x", auth=HeaderAuth("X-Api-Key", lambda: "key-2"))
    assert seen == ["key-1", "key-2"]
    assert "key" not in repr(HeaderAuth("X-Api-Key", lambda: "key-3"))


# -- PoolShards: the library's own pool ---------------------------------------------------------


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


async def test_a_lower_case_method_builds_as_httpx_builds_it() -> None:
    async with httpx.AsyncClient() as http:
        built = RequestBuilder(http).build("post", URL, None, OURS, TIMEOUT)
        assert built is not None
        _same(built, http.build_request("post", URL, headers=OURS, timeout=TIMEOUT))
