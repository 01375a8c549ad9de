"""The aiohttp backend against real misbehaving loopback servers: every aiohttp and asyncio
failure becomes the same ``QlaraError`` the httpx path gives, with the same ``ambiguous``
verdict; connections are kept alive and reused; the pool grows to a bulk job's concurrency.

aiohttp cannot use ``httpx.MockTransport``, so everything here runs over real sockets: a raw
server that misbehaves as each test says, or the simulator (``run_in_thread``).
"""

from __future__ import annotations

import asyncio
import socket
import struct
import sys
from collections.abc import Iterator

import httpx
import pytest
import trio

from qlara_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncQlara,
    InternalServerError,
    QlaraError,
    RetryPolicy,
    SmsMessage,
    ValidationError,
)
from qlara_async.testing import Simulator, run_in_thread

from ._loopback import LoopbackServer, read_requests

pytestmark = pytest.mark.anyio

MESSAGE = SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")
KEY = "sk-live-AIOHTTP/key+42"
OK_BODY = (
    b'{"messageId":"m","simulation":false,"results":{"sms":'
    b'{"accepted":true,"unicode":false,"parts":1,"reasons":[]}}}'
)


@pytest.fixture
def anyio_backend() -> str:
    """aiohttp runs on asyncio only (trio is refused: see the tests at the end)."""
    return "asyncio"


class _Server(LoopbackServer):
    """A loopback HTTP/1.1 server; each request gets ``answer`` (raw bytes, or a behaviour
    name). It keeps connections alive and counts connections and requests."""

    def __init__(self, answer: bytes | str) -> None:
        self.answer = answer
        self.requests = 0
        super().__init__(backlog=256)

    def handle(self, conn: socket.socket) -> None:
        for _ in read_requests(conn):
            self.requests += 1
            if self.answer == "reset":
                # RST instead of FIN: the client reads ECONNRESET.
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                return
            if self.answer == "hang up":
                return
            if self.answer == "hang":
                self.stop.wait()
                return
            assert isinstance(self.answer, bytes)
            conn.sendall(self.answer)
            if b"Connection: close" in self.answer or self.stop.is_set():
                return


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator[_Server]:
    s = _Server(request.param)
    yield s
    s.close()


def _ok(body: bytes = OK_BODY, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + extra
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def _client(url: str, *, retries: int = 0, **kwargs: object) -> AsyncQlara:
    return AsyncQlara(
        api_key=KEY,
        base_url=url,
        rate_limit=None,
        http_backend="aiohttp",
        retry_policy=RetryPolicy(max_retries=retries, backoff_base=0.0, jitter=0.0),
        **kwargs,  # type: ignore[arg-type]
    )


async def _send_error(url: str, *, retries: int = 0, **kwargs: object) -> QlaraError:
    async with _client(url, retries=retries, **kwargs) as client:
        with pytest.raises(QlaraError) as info:
            await client.send(MESSAGE)
    assert KEY not in str(info.value) and KEY not in repr(info.value)
    return info.value


async def test_refused_connection_is_not_ambiguous_and_is_retried() -> None:
    """Nothing listens: ConnectError, not sent, so retried even though nothing came back."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    error = await _send_error(f"http://127.0.0.1:{port}/api", retries=2)
    assert type(error) is APIConnectionError
    assert not error.ambiguous
    assert error.attempts == 3
    assert "ConnectorError" in str(error) and "3 attempts" in str(error)


@pytest.mark.parametrize("server", ["reset", "hang up"], indirect=True)
async def test_reset_or_hang_up_after_the_request_is_ambiguous(server: _Server) -> None:
    """The request arrived and no answer came: it may have been processed."""
    error = await _send_error(server.url, retries=1)
    assert type(error) is APIConnectionError
    assert error.ambiguous
    assert error.attempts == 2
    assert server.requests >= 2  # a send is retried under its one messageId


@pytest.mark.parametrize("server", ["hang"], indirect=True)
async def test_no_answer_is_an_ambiguous_timeout(server: _Server) -> None:
    error = await _send_error(server.url, timeout=0.3)
    assert type(error) is APITimeoutError
    assert error.ambiguous


@pytest.mark.parametrize(
    "server",
    [
        b"HTTP/1.1 abc\r\n\r\n",  # a status line that is not one
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{}",  # cut short
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",  # bad chunking
    ],
    indirect=True,
    ids=["bad-status-line", "truncated-body", "bad-chunks"],
)
async def test_a_malformed_answer_is_an_ambiguous_connection_error(server: _Server) -> None:
    error = await _send_error(server.url)
    assert type(error) is APIConnectionError
    assert error.ambiguous


@pytest.mark.parametrize(
    "server",
    [_ok(b'{"messageId": 1'), _ok(b"\x1f\x8b not gzip", b"Content-Encoding: gzip\r\n")],
    indirect=True,
    ids=["bad-json", "lying-encoding"],
)
async def test_a_bad_success_body_is_a_response_validation_error(server: _Server) -> None:
    error = await _send_error(server.url)
    assert type(error) is APIResponseValidationError


@pytest.mark.parametrize(
    "server",
    [
        _ok(b"x" * 4096),
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n"
        + b"x" * 4096
        + b"\r\n0\r\n\r\n",
    ],
    indirect=True,
    ids=["content-length", "chunked"],
)
async def test_a_success_body_over_the_cap_is_refused(server: _Server) -> None:
    error = await _send_error(server.url, max_response_size=1024)
    assert type(error) is APIResponseValidationError
    assert "max_response_size" in str(error)


@pytest.mark.parametrize(
    "server",
    [
        b"HTTP/1.1 500 Internal Server Error\r\nX-Request-Id: "
        + KEY.encode()
        + b"\r\nContent-Length: "
        + str(len(KEY) + 40 + 100_000).encode()
        + b'\r\n\r\n{"message": "bad key '
        + KEY.encode()
        + b'", "pad": "'
        + b"p" * 100_000
        + b'"}'
    ],
    indirect=True,
)
async def test_an_error_status_keeps_its_status_and_hides_the_key(server: _Server) -> None:
    """A 5xx after the retries: InternalServerError with an httpx.Response, the echoed key
    masked in the message and the request id, the huge body clipped."""
    error = await _send_error(server.url, retries=1)
    assert type(error) is InternalServerError
    assert isinstance(error.response, httpx.Response)
    assert error.response.status_code == 500
    assert error.request_id == "<secret>"
    assert len(str(error)) < 1000
    assert server.requests == 2


@pytest.mark.parametrize(
    "server",
    [b"HTTP/1.1 302 Found\r\nLocation: http://elsewhere.example/x\r\nContent-Length: 0\r\n\r\n"],
    indirect=True,
)
async def test_a_redirect_is_not_followed(server: _Server) -> None:
    error = await _send_error(server.url)
    assert isinstance(error, APIStatusError) and error.status_code == 302
    assert server.requests == 1


@pytest.mark.parametrize("server", [_ok()], indirect=True)
async def test_connections_are_kept_alive_and_reused(server: _Server) -> None:
    """50 sends one after another use one connection; 20 at once use at most 20."""
    async with _client(server.url) as client:
        for _ in range(50):
            assert (await client.send(MESSAGE)).accepted
        assert server.connections == 1
        await asyncio.gather(*(client.send(MESSAGE) for _ in range(20)))
        assert server.connections <= 20
        raw = await client.with_raw_response(client.send, MESSAGE)
        assert raw.status_code == 200 and raw.headers["content-type"] == "application/json"
    assert server.requests == 71


async def test_the_pool_grows_to_a_bulk_jobs_concurrency() -> None:
    sim = Simulator(api_keys=(KEY,))
    with run_in_thread(sim) as url:
        async with _client(url) as client:
            report = await client.bulk.run(
                (
                    SmsMessage(destination=f"+3932{i:08d}", sender="Brand", body="x")
                    for i in range(300)
                ),
                concurrency=150,
            )
            assert report.accepted == 300
            wire = client._transport.wire
            # The pool's size is the wire's (the connector is unlimited, so waiting for a
            # connection stays outside the attempt's deadline).
            assert wire is not None and wire.limit == 150  # type: ignore[attr-defined]
    assert sim.stats.processed == 300


def test_trio_is_refused_when_the_client_is_built() -> None:
    async def build() -> None:
        with pytest.raises(ValidationError, match="asyncio only") as info:
            AsyncQlara(api_key=KEY, base_url="http://127.0.0.1:9/api", http_backend="aiohttp")
        assert info.value.field == "http_backend"

    trio.run(build)


def test_trio_is_refused_on_the_first_request_of_a_client_built_outside() -> None:
    client = AsyncQlara(api_key=KEY, base_url="http://127.0.0.1:9/api", http_backend="aiohttp")

    async def send() -> None:
        with pytest.raises(ValidationError, match="asyncio only"):
            await client.send(MESSAGE)

    trio.run(send)


def test_bad_backend_choices_are_named() -> None:
    with pytest.raises(ValidationError, match="http_backend must be") as info:
        AsyncQlara(api_key=KEY, http_backend="requests")  # type: ignore[arg-type]
    assert info.value.field == "http_backend"
    with pytest.raises(ValidationError, match="not both"):
        AsyncQlara(api_key=KEY, http_backend="aiohttp", http_client=httpx.AsyncClient())


def test_missing_aiohttp_names_the_fast_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "aiohttp", None)
    monkeypatch.delitem(sys.modules, "qlara_async._aiohttp")
    with pytest.raises(ValidationError, match=r"qlara-async\[fast\]"):
        AsyncQlara(api_key=KEY, http_backend="aiohttp")


def test_only_timeouts_shorter_than_the_attempts_deadline_get_a_timer() -> None:
    """A timeout no shorter than the whole attempt's deadline can never fire first: it is left
    out (aiohttp would set and cancel a timer for it on every response)."""
    import httpx

    from qlara_async._aiohttp import _client_timeout

    plain = _client_timeout(httpx.Timeout(30.0), 30.0)
    assert (plain.total, plain.connect, plain.sock_connect, plain.sock_read) == (
        30.0,
        None,
        None,
        None,
    )
    short_read = _client_timeout(httpx.Timeout(10.0, read=2.0, connect=1.0), 10.0)
    assert (short_read.total, short_read.connect, short_read.sock_read) == (10.0, 1.0, 2.0)
    unbounded = _client_timeout(httpx.Timeout(None), None)
    assert (unbounded.total, unbounded.sock_read) == (None, None)
