"""Hostile review of the aiohttp backend (issue 12): each test runs the same misbehaving
loopback server against both backends, and states what the default httpx path does; every
test here fails on the aiohttp backend (one on the httpx backend) as reviewed.

Plain tests (``asyncio.run``): aiohttp runs on asyncio only, and two tests need two loops.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
import socket
import subprocess
import sys
import threading
import time
import traceback
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qlara_async import (
    APIResponseValidationError,
    AsyncQlara,
    QlaraError,
    RetryPolicy,
    SmsMessage,
)

from ._loopback import LoopbackServer, read_requests

KEY = "sk-live-HOSTILE/aiohttp+42"
MESSAGE = SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")
OK = (
    b'{"messageId":"m","simulation":false,"results":{"sms":'
    b'{"accepted":true,"unicode":false,"parts":1,"reasons":[]}}}'
)
BACKENDS = pytest.mark.parametrize("backend", ["httpx", "aiohttp"])

Handler = Callable[[socket.socket, int, bytes, bytes], Any]


def _resp(status: bytes = b"200 OK", body: bytes = OK, extra: bytes = b"") -> bytes:
    return (
        b"HTTP/1.1 "
        + status
        + b"\r\nContent-Type: application/json\r\n"
        + extra
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


class _Server(LoopbackServer):
    """Loopback HTTP/1.1 server (keep-alive); ``handler(conn, n, head, body)`` answers request
    number ``n``; returning ``"close"`` closes the connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[tuple[bytes, bytes]] = []
        super().__init__()

    def handle(self, conn: socket.socket) -> None:
        for head, body in read_requests(conn):
            with self.lock:
                self.requests.append((head, body))
                n = len(self.requests)
            if self.handler(conn, n, head, body) == "close":
                return


@pytest.fixture
def serve() -> Iterator[Callable[[Handler], _Server]]:
    servers: list[_Server] = []

    def make(handler: Handler) -> _Server:
        servers.append(_Server(handler))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


def _client(backend: str, url: str, *, retries: int = 0, **kwargs: Any) -> AsyncQlara:
    return AsyncQlara(
        api_key=KEY,
        base_url=url,
        rate_limit=None,
        http_backend=backend,  # type: ignore[arg-type]
        retry_policy=RetryPolicy(max_retries=retries, backoff_base=0.0, jitter=0.0),
        **kwargs,
    )


# -- leak ---------------------------------------------------------------------------------


@BACKENDS
def test_a_send_cut_by_wait_for_leaves_no_key_in_a_traceback_with_locals(
    backend: str, serve: Callable[[Handler], _Server]
) -> None:
    """httpx: clean. aiohttp: the session's default headers are merged into a local
    ``headers`` CIMultiDict in aiohttp's ``ClientSession._request`` frame, which the
    CancelledError's traceback (chained under the TimeoutError) carries: Sentry-style
    reporters capture frame locals and print ``'X-Api-Key': 'sk-live-...'``."""
    server = serve(lambda c, n, h, b: time.sleep(3))

    async def main() -> str:
        async with _client(backend, server.url, timeout=10) as client:
            try:
                await asyncio.wait_for(client.send(MESSAGE), 0.3)
            except BaseException as exc:  # whatever it is, it is printed
                return "".join(
                    traceback.TracebackException.from_exception(exc, capture_locals=True).format()
                )
        return ""

    text = asyncio.run(main())
    assert text
    assert KEY not in text


@BACKENDS
def test_a_looked_up_key_with_a_semicolon_stays_masked(
    backend: str, serve: Callable[[Handler], _Server]
) -> None:
    """``api_keys.find(value)`` masks ``value`` as ``{value}``. aiohttp is given the URL as a
    ``str``, so yarl re-quotes it (``%3B`` -> ``;``, ``%2B`` kept): aiohttp's
    ``ClientResponseError`` names ``url='.../authentication/sk-other;x%2By'``, a form the
    mask does not know, and it lands in the APIConnectionError's message."""

    def malformed(c: socket.socket, n: int, h: bytes, b: bytes) -> str:
        c.sendall(b"HTTP/1.1 200 OK\r\nX-A: \x00\r\n\r\n")
        return "close"

    server = serve(malformed)
    value = "sk-other-SECRET;x+y"

    async def main() -> str:
        async with _client(backend, server.url) as client:
            with pytest.raises(QlaraError) as info:
                await client.api_keys.find(value)
        return str(info.value) + repr(info.value)

    text = asyncio.run(main())
    assert "SECRET" not in text


# -- wrong result -------------------------------------------------------------------------


@BACKENDS
def test_a_path_parameter_is_sent_as_quoted(
    backend: str, serve: Callable[[Handler], _Server]
) -> None:
    """httpx sends ``contacts.get("a;b")`` to ``.../contacts/a%3Bb``; aiohttp re-quotes the
    URL and sends ``.../contacts/a;b`` (a matrix parameter to many servers: contact ``a``)."""
    server = serve(lambda c, n, h, b: c.sendall(_resp(body=b'{"id": 1}')))

    async def main() -> None:
        async with _client(backend, server.url) as client:
            try:
                await client.contacts.get("a;b")
            except QlaraError:
                pass

    asyncio.run(main())
    target = server.requests[0][0].split(b" ")[1]
    assert target.endswith(b"/contacts/a%3Bb"), target


@BACKENDS
def test_waiting_for_a_pooled_connection_does_not_eat_the_attempt_deadline(
    backend: str, serve: Callable[[Handler], _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """CHANGELOG: a float ``timeout`` does not bound the wait for a pooled connection, and the
    attempt deadline starts on the connection. With the pool shrunk to 2 (the same happens at
    the default 100 with 101 sends in flight: measured 150 sends, 0.8 s server, timeout 1:
    httpx 149 ok, aiohttp 50 ambiguous timeouts), 3 sends to a 0.6 s server with
    ``timeout=1.0``: httpx all succeed; aiohttp's ``ClientTimeout(total=deadline)`` starts
    before the pool wait, so the third times out *after it was written* (ambiguous, and
    re-posted under retries)."""
    monkeypatch.setattr("qlara_async._client.DEFAULT_MAX_CONNECTIONS", 2)

    def slow(c: socket.socket, n: int, h: bytes, b: bytes) -> None:
        time.sleep(0.6)
        c.sendall(_resp())

    server = serve(slow)

    async def main() -> list[Any]:
        async with _client(backend, server.url, timeout=1.0) as client:
            return await asyncio.gather(
                *[client.send(MESSAGE) for _ in range(3)], return_exceptions=True
            )

    results = asyncio.run(main())
    failures = [f"{type(r).__name__}: {r}"[:200] for r in results if isinstance(r, BaseException)]
    assert failures == []
    assert server.connections == 2


@BACKENDS
@pytest.mark.parametrize(
    "extra",
    [
        pytest.param(b"X-Big: " + b"a" * 10_000 + b"\r\n", id="one-10kB-header"),
        pytest.param(b"".join(b"X-H%d: v\r\n" % i for i in range(200)), id="200-headers"),
    ],
)
def test_a_success_with_large_headers_is_a_success(
    backend: str, extra: bytes, serve: Callable[[Handler], _Server]
) -> None:
    """httpx (h11) accepts a 10 kB header line or 200 header lines; aiohttp's parser limits
    (8,190 bytes a line, 128 headers) turn the accepted message into an ambiguous
    APIConnectionError, and every retry posts it again."""
    server = serve(lambda c, n, h, b: c.sendall(_resp(extra=extra)))

    async def main() -> str:
        async with _client(backend, server.url, retries=2) as client:
            return (await client.send(MESSAGE)).message_id

    assert asyncio.run(main()) == "m"
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    "backend",
    [
        "httpx",
        pytest.param(
            "aiohttp",
            # Not fixable above aiohttp: its parser (llhttp, in data_received) parses the
            # complete response and the leftover bytes in one feed, and the error on the
            # leftover discards the parsed response before aiohttp delivers it; nothing
            # public tells the two apart. The re-send is under the same messageId.
            marks=pytest.mark.xfail(strict=True, reason="aiohttp drops the parsed response"),
        ),
    ],
)
def test_a_body_shorter_than_the_rest_of_the_stream_is_not_resent(
    backend: str, serve: Callable[[Handler], _Server]
) -> None:
    """A 2xx whose Content-Length is 3 bytes short (the rest left on the keep-alive stream):
    httpx reads the declared bytes and reports APIResponseValidationError (the server did
    answer: no retry). aiohttp parses the leftover bytes as a next status line, fails the
    attempt as ambiguous, and re-posts the message on every retry."""
    short = _resp().replace(
        f"Content-Length: {len(OK)}".encode(), f"Content-Length: {len(OK) - 3}".encode()
    )
    server = serve(lambda c, n, h, b: c.sendall(short))

    async def main() -> None:
        async with _client(backend, server.url, retries=2) as client:
            with pytest.raises(APIResponseValidationError):
                await client.send(MESSAGE)

    asyncio.run(main())
    assert len(server.requests) == 1


@BACKENDS
def test_the_servers_reason_phrase_is_kept(
    backend: str, serve: Callable[[Handler], _Server]
) -> None:
    """httpx: "500 Oops for POST ...". aiohttp: ``_to_httpx`` drops the reason phrase, so the
    error says "500 Internal Server Error" (and a 999 just "999")."""
    server = serve(lambda c, n, h, b: c.sendall(_resp(status=b"500 Oops", body=b"{}")))

    async def main() -> str:
        async with _client(backend, server.url) as client:
            with pytest.raises(QlaraError) as info:
                await client.send(MESSAGE)
        return str(info.value)

    assert asyncio.run(main()).startswith("500 Oops for POST")


@BACKENDS
def test_the_raw_responses_headers_are_the_servers(
    backend: str, serve: Callable[[Handler], _Server]
) -> None:
    """``RawResponse.headers`` is what the server sent on both backends (aiohttp dropped
    ``Content-Encoding`` and ``Content-Length`` of a compressed body)."""
    body = gzip.compress(OK)
    server = serve(
        lambda c, n, h, b: c.sendall(_resp(body=body, extra=b"Content-Encoding: gzip\r\n"))
    )

    async def main() -> Any:
        async with _client(backend, server.url) as client:
            return await client.with_raw_response(client.send, MESSAGE)

    raw = asyncio.run(main())
    assert raw.parsed.message_id == "m"
    assert raw.headers["content-encoding"] == "gzip"
    assert raw.headers["content-length"] == str(len(body))


# -- contract -----------------------------------------------------------------------------


@BACKENDS
def test_the_proxy_environment_is_honoured(
    backend: str, serve: Callable[[Handler], _Server], monkeypatch: pytest.MonkeyPatch
) -> None:
    """httpx (trust_env) sends through ``HTTP_PROXY``; the aiohttp session is made without
    ``trust_env=True``, so switching backends silently bypasses the proxy."""
    proxy = serve(lambda c, n, h, b: c.sendall(_resp()))
    origin = serve(lambda c, n, h, b: c.sendall(_resp()))
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy.port}")
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy.port}")

    async def main() -> None:
        async with _client(backend, f"http://localhost:{origin.port}/api") as client:
            await client.send(MESSAGE)

    asyncio.run(main())
    assert len(proxy.requests) == 1 and origin.requests == []


def _discarding_server() -> tuple[socket.socket, list[int]]:
    """One connection: reads a request's headers, then discards Content-Length bytes (kept
    nowhere, so tracemalloc sees only the client), then answers 200 ``{}``."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    received: list[int] = []

    def run() -> None:
        conn, _ = sock.accept()
        with conn:
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(4096)
            head, _, rest = head.partition(b"\r\n\r\n")
            length = next(
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
            got = len(rest)
            while got < length:
                chunk = conn.recv(1 << 16)
                if not chunk:
                    break
                got += len(chunk)
            received.append(got)
            conn.sendall(_resp(body=b"{}"))
            time.sleep(0.5)

    threading.Thread(target=run, daemon=True).start()
    return sock, received


@BACKENDS
# Not ignored: aiohttp warned (ResourceWarning: "Sending a large body directly with raw bytes
# might lock the event loop") while the body was read whole; streamed, it has no cause to.
def test_an_upload_from_a_path_is_streamed_not_read_whole(backend: str, tmp_path: Path) -> None:
    """_uploads: "a path is opened again (and streamed, never read whole)". httpx: the client
    allocates ~1 MB at peak for a 20 MB upload. aiohttp: ``request.read()`` in
    ``AiohttpWire.exchange`` builds the whole multipart body in memory (a 150 MB contacts
    file measured at 480 MB peak RSS against 48 MB on httpx), synchronously on the loop."""
    path = tmp_path / "contacts.csv"
    row = b"x,+393201234567\n"
    path.write_bytes(b"name,phone\n" + row * (20_000_000 // len(row)))
    sock, received = _discarding_server()

    async def main() -> None:
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api"
        async with _client(backend, url, timeout=30) as client:
            try:
                await client.contacts.upload(str(path))
            except QlaraError:
                pass  # only the memory matters here

    tracemalloc.start()
    try:
        asyncio.run(main())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
        sock.close()
    assert received and received[0] > 20_000_000
    assert peak < 10_000_000, f"peak {peak / 1e6:.0f} MB for a 20 MB upload"


# -- duplicate (the httpx side of "use from a second event loop") --------------------------


@BACKENDS
def test_a_client_reused_on_a_second_event_loop_posts_each_send_once(
    backend: str, serve: Callable[[Handler], _Server]
) -> None:
    """aiohttp rebinds cleanly. httpx: the second ``asyncio.run`` writes the request on the
    first loop's pooled socket, then fails reading ("Event loop is closed") as ambiguous, and
    the retry posts the message a second time (3 requests for 2 sends; with
    ``max_retries=0`` the send fails outright)."""
    server = serve(lambda c, n, h, b: c.sendall(_resp()))
    client = _client(backend, server.url, retries=4)

    async def one() -> None:
        await client.send(MESSAGE)

    asyncio.run(one())
    asyncio.run(one())

    async def close() -> None:
        await client.aclose()

    asyncio.run(close())
    ids = [json.loads(body)["messageId"] for _, body in server.requests]
    assert len(ids) == 2 and len(set(ids)) == 2


# -- minor --------------------------------------------------------------------------------


def test_the_user_agent_names_the_backend_that_sends(serve: Callable[[Handler], _Server]) -> None:
    """The aiohttp backend sends ``User-Agent: qlara-async/... httpx/0.29.0 ...``."""
    server = serve(lambda c, n, h, b: c.sendall(_resp()))

    async def main() -> None:
        async with _client("aiohttp", server.url) as client:
            await client.send(MESSAGE)

    asyncio.run(main())
    agent = next(
        line
        for line in server.requests[0][0].split(b"\r\n")
        if line.lower().startswith(b"user-agent")
    )
    assert b"aiohttp" in agent and b"httpx" not in agent, agent


def test_a_broken_aiohttp_install_is_a_validation_error() -> None:
    """aiohttp importable but one of its own dependencies missing (a half-installed ``fast``
    extra): ``aiohttp_backend()`` re-raises any ImportError not named aiohttp/multidict/yarl,
    so ``AsyncQlara(http_backend="aiohttp")`` raises a bare ModuleNotFoundError."""
    code = (
        "import sys; sys.modules['aiohappyeyeballs'] = None\n"
        "from qlara_async import AsyncQlara, QlaraError\n"
        "try:\n"
        "    AsyncQlara(api_key='k', http_backend='aiohttp')\n"
        "except QlaraError:\n"
        "    print('qlara')\n"
        "except BaseException as e:\n"
        "    print(type(e).__name__)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "COVERAGE_PROCESS_START": ""},
    )
    assert out.stdout.strip() == "qlara", out.stdout + out.stderr


# -- hang (both backends: "close while sends are in flight", during a bulk job) -------------

_BULK_CLOSE = """
import asyncio, socket, threading, time, sys
from qlara_async import AsyncQlara, SmsMessage

OK = {ok!r}
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
sock.listen(256)

def handle(conn):
    data = b""
    with conn:
        while True:
            while b"\\r\\n\\r\\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, _, data = data.partition(b"\\r\\n\\r\\n")
            n = int(head.lower().split(b"content-length:")[1].split(b"\\r\\n")[0])
            while len(data) < n:
                data += conn.recv(65536)
            data = data[n:]
            time.sleep(0.2)
            conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Type: application/json\\r\\nContent-Length: "
                         + str(len(OK)).encode() + b"\\r\\n\\r\\n" + OK)

def serve():
    while True:
        conn, _ = sock.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()

threading.Thread(target=serve, daemon=True).start()
url = "http://127.0.0.1:%d/api" % sock.getsockname()[1]
message = SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")

async def main():
    client = AsyncQlara(api_key="sk-k", base_url=url, rate_limit=None, http_backend=sys.argv[1])

    answered = asyncio.Event()

    async def closer():
        await answered.wait()  # the job is under way: some sends done, others in flight
        await client.aclose()

    asyncio.get_running_loop().create_task(closer())
    report = await client.bulk.run(
        [message] * 200, concurrency=50, on_outcome=lambda outcome: answered.set()
    )
    print("done", report.total, report.accepted + report.rejected + report.failed + report.not_sent)

asyncio.run(main())
"""


@BACKENDS
def test_closing_the_client_during_a_bulk_job_ends_the_job(backend: str) -> None:
    """``aclose()`` while a bulk job runs (both backends): every send then fails at once with
    "the client is closed" (``Transport.request`` raises before any await and before the
    attempt is counted); the engine sees other messages failing, requeues without a bound
    (``counted`` never grows) and spins synchronously: the event loop is blocked at 100% CPU
    for good, so not even ``asyncio.wait_for`` can end it. Run in a subprocess with a
    timeout, since the loop cannot be interrupted."""
    script = _BULK_CLOSE.format(ok=OK)
    out: subprocess.CompletedProcess[str] | None = None
    try:
        out = subprocess.run(
            [sys.executable, "-c", script, backend],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pass  # failed below, outside the handler (the script's text is noise)
    if out is None:
        pytest.fail("bulk.run() never returned after aclose(): the event loop spins")
    assert out.stdout.split() == ["done", "200", "200"], out.stdout + out.stderr[-2000:]
