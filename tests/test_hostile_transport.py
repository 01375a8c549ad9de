"""The request path against a hostile or broken server: every failure is a ``QlaraError``.

Each test pins a finding of the hardening review (issue 7); the number is in its docstring.
Unit tests run over ``httpx.MockTransport``; the ones that need a real socket (a trickling
response, a client closed with a request in flight) use a raw loopback server.
"""

from __future__ import annotations

import gc
import gzip
import logging
import pickle
import socket
import threading
import traceback
import zlib
from collections.abc import Iterator

import anyio
import anyio.to_thread
import httpx
import pytest

import qlara_async
from qlara_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AsyncQlara,
    AuthenticationError,
    InternalServerError,
    QlaraError,
    RateLimitError,
    RetryPolicy,
    SmsMessage,
)

from ._fakes import SMS_OK, make_client

pytestmark = pytest.mark.anyio

MESSAGE = SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")
KEY = "sk-live-HOSTILE/key+42"


# httpx leaves a mock ByteStream's generator unclosed when decoding fails or reading stops early
# (a socket's stream closes properly); under trio that surfaces as an unraisable warning.
_MOCK_STREAM_LEAK = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@_MOCK_STREAM_LEAK
async def test_lying_content_encoding_is_a_typed_error() -> None:
    """2. A 200 whose Content-Encoding lies raises APIResponseValidationError, not httpx's
    DecodingError."""

    def handler(request: httpx.Request) -> httpx.Response:
        # A stream, as from a socket: httpx decodes it as it is read.
        return httpx.Response(
            200, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"not gzip")
        )

    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(APIResponseValidationError) as info:
            await client.send(MESSAGE)
    assert "cannot be decoded" in str(info.value)


@_MOCK_STREAM_LEAK
async def test_lying_encoding_on_an_error_keeps_the_status() -> None:
    """2. A 503 with an undecodable body is still a 503 (retried, then InternalServerError)."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            503, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"garbage")
        )

    client, _, _ = make_client(handler, max_retries=1)
    async with client:
        with pytest.raises(InternalServerError) as info:
            await client.send(MESSAGE)
    assert info.value.attempts == 2 and info.value.body is None


async def test_redirects_are_never_followed_even_by_a_following_http_client() -> None:
    """7 (and 2: TooManyRedirects). With ``http_client=AsyncClient(follow_redirects=True)`` a
    307 to another host is not followed: the key and the message never leave for it."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(307, headers={"Location": "https://evil.test/steal?x=1"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler), follow_redirects=True)
    client, _, _ = make_client(handler, http_client=http, api_key=KEY)
    async with client:
        with pytest.raises(APIStatusError) as info:
            await client.send(MESSAGE)
    assert [r.url.host for r in seen] == ["api.test"]
    assert info.value.status_code == 307
    assert "evil.test" in str(info.value) and "redirect" in str(info.value)
    await http.aclose()


async def test_credential_echoed_with_json_escapes_is_redacted() -> None:
    """8. A key echoed as JSON with escapes (``\\/``, ``\\u0041``) is scrubbed from ``.body``,
    the message and the traceback's locals."""
    escaped = KEY.replace("/", "\\/").replace("k", "\\u006b")

    def handler(request: httpx.Request) -> httpx.Response:
        raw = '{"status": 401, "message": "bad key ' + escaped + '", "echo": ["' + escaped + '"]}'
        return httpx.Response(401, content=raw.encode())

    client, _, _ = make_client(handler, api_key=KEY)
    async with client:
        with pytest.raises(AuthenticationError) as info:
            await client.send(MESSAGE)
    exc = info.value
    tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
    blob = "\n".join(
        [str(exc), repr(exc), repr(exc.body), *(repr(f.locals) for f in tb.stack), *tb.format()]
    )
    assert KEY not in blob
    assert exc.body["message"] == "bad key <secret>"


async def test_errors_pickle_without_the_secret() -> None:
    """9. Every error pickles and unpickles (Celery, arq, multiprocessing), keeping status,
    request id, body, attempts and retry_after, and the pickle holds no credential."""

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sms/send"):
            return httpx.Response(
                429,
                headers={"Retry-After": "5000", "X-Request-Id": "rq-1"},
                json={"message": "slow down"},
            )
        return httpx.Response(400, json={"status": "fail", "data": {"destination": "bad"}})

    client, _, _ = make_client(handler, api_key=KEY)
    errors: list[QlaraError] = []
    async with client:
        # The 400 first: after the long 429 every call fails fast (a cooldown error, no response).
        for call in (client._api.get("/x", cast=dict), client.send(MESSAGE)):
            try:
                await call
            except QlaraError as exc:
                errors.append(exc)
    assert len(errors) == 2
    for exc in errors:
        data = pickle.dumps(exc)
        assert KEY.encode() not in data
        back = pickle.loads(data)
        assert type(back) is type(exc)
        assert str(back) == str(exc)
        assert back.attempts == exc.attempts
        assert isinstance(back, APIStatusError) and isinstance(exc, APIStatusError)
        assert (back.status_code, back.request_id, back.body) == (
            exc.status_code,
            exc.request_id,
            exc.body,
        )
        assert back.response is None and back.request is None
    bad, rate = pickle.loads(pickle.dumps(errors[0])), pickle.loads(pickle.dumps(errors[1]))
    assert isinstance(rate, RateLimitError) and rate.retry_after == 5000
    assert bad.field_errors == {"destination": "bad"}


def test_simple_errors_pickle() -> None:
    """9. Errors built by hand (keyword-only constructors) round-trip too."""
    for exc in (
        qlara_async.ValidationError("bad", field="destination"),
        APIConnectionError("gone", ambiguous=True),
        APITimeoutError("slow"),
    ):
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is type(exc) and str(back) == str(exc)
        assert back.__dict__.keys() >= {"message"}
    assert pickle.loads(pickle.dumps(APIConnectionError("x", ambiguous=True))).ambiguous


def test_public_errors_name_the_public_module() -> None:
    """26. Tracebacks read ``qlara_async.AuthenticationError``, not a private module path."""
    for name in qlara_async.__all__:
        obj = getattr(qlara_async, name)
        if isinstance(obj, type) and issubclass(obj, BaseException):
            assert obj.__module__ in ("qlara_async", "qlara_async.bulk"), name
    formatted = "".join(traceback.format_exception_only(AuthenticationError("x", body=None)))
    assert formatted.startswith("qlara_async.AuthenticationError")


async def test_connection_error_names_host_cause_and_attempts() -> None:
    """26. ``POST .../sms/send failed: ConnectError`` said none of where, why or how often."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused")

    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(APIConnectionError) as info:
            await client.send(MESSAGE)
    text = str(info.value)
    assert "https://api.test/api/message-server/sms/send" in text
    assert "Connection refused" in text and "after 5 attempts" in text
    assert info.value.url == "https://api.test/api/message-server/sms/send"
    assert info.value.method == "POST"


@_MOCK_STREAM_LEAK
async def test_oversized_success_body_is_refused_not_buffered() -> None:
    """24. A 200 larger than ``max_response_size`` raises instead of filling memory; the
    stream is read no further than the cap."""
    served = 0

    async def body() -> Iterator[bytes]:  # type: ignore[misc]
        nonlocal served
        for _ in range(1000):
            served += 1
            yield b"x" * 65536

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body())

    client, _, _ = make_client(handler, max_response_size=1 << 20)
    async with client:
        with pytest.raises(APIResponseValidationError, match="max_response_size"):
            await client.send(MESSAGE)
    assert served <= 20  # 1 MiB is 16 chunks of 64 KiB; the other 980 were never produced


async def test_huge_error_text_is_clipped() -> None:
    """24. A 5 MB JSON ``message`` does not land whole in ``str(error)``."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(400, json={"message": "y" * 5_000_000})

    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(qlara_async.BadRequestError) as info:
            await client.send(MESSAGE)
    assert len(str(info.value)) < 1000
    assert "more characters" in str(info.value)


async def test_long_cooldown_fails_other_calls_fast() -> None:
    """25. A 429 asking for longer than ``max_retry_after`` pauses the client; meanwhile other
    calls fail at once with RateLimitError(retry_after=remaining) instead of stalling."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(429, headers={"Retry-After": "3600"})

    client, limiter, clock = make_client(handler)
    async with client:
        with pytest.raises(RateLimitError) as first:
            await client.send(MESSAGE)
        assert first.value.retry_after == 3600
        clock.advance(100)
        with pytest.raises(RateLimitError) as second:
            await client.send(MESSAGE)
    assert len(seen) == 1  # the second call never left
    assert second.value.retry_after == pytest.approx(3500)
    assert second.value.response is None and second.value.status_code == 429
    assert "cooldown" in str(second.value)


async def test_waiters_already_queued_fail_fast_when_a_long_cooldown_starts() -> None:
    """25. Calls already waiting in the limiter when the long pause begins fail fast too."""
    from qlara_async import LocalLimiter, ManualClock, RateLimit

    clock = ManualClock()
    limiter = LocalLimiter(RateLimit((1, 10.0)), clock=clock)
    first = await limiter.acquire()
    results: list[object] = []

    async def wait() -> None:
        try:
            results.append(await limiter.acquire(max_pause=300))
        except Exception as exc:
            results.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(wait)
        await anyio.wait_all_tasks_blocked()
        limiter.pause(3600)
        await anyio.wait_all_tasks_blocked()
    first.release(status=429)
    from qlara_async._limiter import CooldownTooLong

    assert len(results) == 1 and isinstance(results[0], CooldownTooLong)


async def test_bad_retry_after_values_never_escape_untyped() -> None:
    """1. An absurd Retry-After date or a body ``retryAfter`` of 400 digits is a wait, not an
    OverflowError."""
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "Wed, 21 Oct 99999 07:28:00 +9999"}),
            httpx.Response(429, content=b'{"retryAfter": ' + b"9" * 400 + b"}"),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers)

    client, _, _ = make_client(handler, retry_policy=RetryPolicy(max_retries=1))
    async with client:
        with pytest.raises(RateLimitError) as info:
            await client.send(MESSAGE)
    assert info.value.retry_after is not None and info.value.retry_after > 300


# --- real sockets ---------------------------------------------------------------------------


class _RawServer:
    """A loopback server that reads a request and then does what the test says."""

    def __init__(self, behaviour: str) -> None:
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.requests = 0
        self.stop = threading.Event()
        self.arrived = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/api"

    def _serve(self) -> None:
        self.sock.settimeout(0.1)
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests += 1
            self.arrived.set()
            if self.behaviour == "bomb":
                body = _double_gzip_zeros(64 << 20)
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip, gzip\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                self.stop.wait()
            elif self.behaviour == "trickle":
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n")
                while not self.stop.wait(0.2):
                    try:
                        conn.sendall(b" ")
                    except OSError:
                        return
            else:  # hang: never answer
                self.stop.wait()

    def close(self) -> None:
        self.stop.set()
        self.sock.close()
        self.thread.join()


@pytest.fixture
def raw_server(request: pytest.FixtureRequest) -> Iterator[_RawServer]:
    server = _RawServer(request.param)
    yield server
    server.close()


@pytest.mark.parametrize("raw_server", ["trickle"], indirect=True)
async def test_a_trickling_response_is_bounded_by_the_deadline(
    http_backend: str, raw_server: _RawServer
) -> None:
    """23. A response that sends a byte every 0.2 s never trips a 0.5 s read timeout; the
    per-attempt deadline ends it, as an ambiguous timeout (the request was written)."""
    async with AsyncQlara(
        api_key="k",
        base_url=raw_server.url,
        rate_limit=None,
        http_backend=http_backend,
        timeout=0.5,
        retry_policy=RetryPolicy(max_retries=0),
    ) as client:
        with pytest.raises(APITimeoutError) as info:
            await client.send(MESSAGE)
    assert info.value.ambiguous
    assert raw_server.requests == 1


@pytest.mark.parametrize("raw_server", ["bomb"], indirect=True)
async def test_a_compression_bomb_is_refused_without_inflating_it(
    http_backend: str, raw_server: _RawServer
) -> None:
    """A 200 of 64 MiB of zeros gzipped twice (a few kB on the wire) stops at the size cap:
    each decoding step is bounded, instead of httpx inflating all of it first (1.9 GB RSS
    for a 1.7 kB body in the hostile review)."""
    async with AsyncQlara(
        api_key="k",
        base_url=raw_server.url,
        rate_limit=None,
        http_backend=http_backend,
        max_response_size=1 << 20,
        retry_policy=RetryPolicy(max_retries=0),
    ) as client:
        with pytest.raises(APIResponseValidationError, match="max_response_size"):
            await client.send(MESSAGE)


@pytest.mark.parametrize("raw_server", ["hang"], indirect=True)
def test_two_event_loops_at_once_are_refused_not_hung(
    http_backend: str, raw_server: _RawServer
) -> None:
    """A client in use on one loop (thread) and called from another loop at the same time got
    every call stuck on the first loop's limiter; now the second loop gets a clear error."""
    import asyncio

    client = AsyncQlara(
        api_key="k",
        base_url=raw_server.url,
        retry_policy=RetryPolicy(max_retries=0),
        http_backend=http_backend,
    )
    first: list[BaseException] = []

    def other_thread() -> None:
        async def send() -> None:
            try:
                await client.send(MESSAGE)
            except BaseException as exc:
                first.append(exc)

        asyncio.run(send())

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert raw_server.arrived.wait(10)
    with pytest.raises(APIConnectionError, match="another event loop"):
        asyncio.run(client.send(MESSAGE))
    raw_server.stop.set()  # the first call's server hangs up: its loop ends
    thread.join(10)
    assert not thread.is_alive()
    assert len(first) == 1 and isinstance(first[0], APIConnectionError)
    asyncio.run(client.aclose())


@pytest.mark.parametrize("raw_server", ["hang"], indirect=True)
async def test_aclose_with_a_send_in_flight(raw_server: _RawServer, http_backend: str) -> None:
    """3. Closing the client under a send in flight gives that caller an ambiguous
    APIConnectionError (the server may have the message), and later calls a clear error."""
    client = AsyncQlara(
        api_key="k", base_url=raw_server.url, rate_limit=None, http_backend=http_backend
    )
    errors: list[BaseException] = []

    async def send() -> None:
        try:
            await client.send(MESSAGE)
        except BaseException as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(send)
        await anyio.to_thread.run_sync(raw_server.arrived.wait)
        await client.aclose()
    assert len(errors) == 1 and isinstance(errors[0], APIConnectionError)
    assert errors[0].ambiguous
    assert raw_server.requests == 1  # closed: not retried
    with pytest.raises(APIConnectionError, match="client is closed"):
        await client.send(MESSAGE)


async def test_a_closed_http_client_is_a_clear_error() -> None:
    """3. A given ``http_client`` the caller already closed: APIConnectionError, not RuntimeError."""
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)))
    await http.aclose()
    client, _, _ = make_client(lambda r: httpx.Response(200, json=SMS_OK), http_client=http)
    with pytest.raises(APIConnectionError, match="closed") as info:
        await client.send(MESSAGE)
    assert not info.value.ambiguous


# The first loop's pooled connection dies with its loop; the socket is reclaimed by the GC.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
def test_a_client_reused_from_a_second_event_loop() -> None:
    """3. A client used on one event loop and then another: a result or a QlaraError."""
    import asyncio

    from qlara_async.testing import Simulator, run_in_thread

    sim = Simulator(None, api_keys=("k",))
    with run_in_thread(sim) as url:
        client = AsyncQlara(api_key="k", base_url=url, rate_limit=None)
        outcomes: list[object] = []
        for _ in range(2):

            async def one() -> None:
                try:
                    outcomes.append((await client.send(MESSAGE)).accepted)
                except QlaraError as exc:
                    outcomes.append(exc)

            asyncio.run(one())
        asyncio.run(client.aclose())
    gc.collect()  # reclaim the dead loop's socket here, under this test's warning filters
    assert outcomes[0] is True
    assert outcomes[1] is True or (
        isinstance(outcomes[1], APIConnectionError) and outcomes[1].ambiguous
    )


def _double_gzip_zeros(size: int) -> bytes:
    """``size`` zero bytes gzipped twice: a few kB on the wire, built without holding them."""
    inner = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    once = b"".join(inner.compress(block) for _ in range(size >> 20)) + inner.flush()
    return gzip.compress(once, 9)


def test_response_validation_error_lives_in_the_error_tree() -> None:
    """35. ``APIResponseValidationError`` was defined in ``_transport.py`` and missing from the
    tree drawn in ``_exceptions.py``."""
    from qlara_async import _exceptions, _limiter

    assert _exceptions.APIResponseValidationError is APIResponseValidationError
    assert "APIResponseValidationError" in (_exceptions.__doc__ or "")
    assert issubclass(APIResponseValidationError, qlara_async.APIError)
    # One permit class for both limiters (their release() was the same code twice).
    assert not hasattr(_limiter, "_LocalPermit") and not hasattr(_limiter, "_NullPermit")


# --- the second hostile review -------------------------------------------------------------


async def test_echoes_in_headers_and_reason_phrase_reach_no_log_or_attribute(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """R3/R4/R13. A key echoed in X-Request-Id, the reason phrase, or base64-encoded in the
    body: not in any log record (httpx, httpcore at DEBUG), ``request_id``, or the pickle."""
    import base64

    b64 = base64.b64encode(KEY.encode()).decode()

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            401,
            headers={"X-Request-Id": KEY},
            json={"message": f"bad key {b64}"},
            extensions={"reason_phrase": f"Bad {KEY}".encode()},
        )

    caplog.set_level(logging.DEBUG)
    client, _, _ = make_client(handler, api_key=KEY)
    async with client:
        with pytest.raises(AuthenticationError) as info:
            await client.send(MESSAGE)
        logging.getLogger("httpcore.http11").debug("echo %s", KEY)  # as httpcore would
    exc = info.value
    assert caplog.records
    assert all(KEY not in r.getMessage() and b64 not in r.getMessage() for r in caplog.records)
    assert exc.request_id == "<secret>"
    assert KEY not in str(exc) and b64 not in str(exc)
    assert KEY.encode() not in pickle.dumps(exc) and b64.encode() not in pickle.dumps(exc)


async def test_httpx_exceptions_quoting_the_server_are_not_chained() -> None:
    """R5. httpx's error text (and httpcore's frames under it) quote what the server sent:
    the APIConnectionError names the cause, scrubbed, and chains nothing."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError(f"illegal header line: bytearray(b'X-{KEY} bad')")

    client, _, _ = make_client(handler, api_key=KEY, max_retries=0)
    async with client:
        with pytest.raises(APIConnectionError) as info:
            await client.send(MESSAGE)
    exc = info.value
    assert exc.__cause__ is None and exc.__suppress_context__
    tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
    blob = "".join(tb.format()) + "".join(repr(f.locals) for f in tb.stack)
    assert KEY not in blob and "RemoteProtocolError" in str(exc)


async def test_a_body_echoing_the_key_is_not_in_traceback_locals() -> None:
    """R5. A 2xx that echoes the key and is not a send result: no frame local holds it."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"status": KEY})

    client, _, _ = make_client(handler, api_key=KEY)
    async with client:
        with pytest.raises(APIResponseValidationError) as info:
            await client.send(MESSAGE)
    tb = traceback.TracebackException.from_exception(info.value, capture_locals=True)
    assert KEY not in "".join(tb.format())


async def test_a_send_error_carries_the_message_id() -> None:
    """R12. After an ambiguous failure the caller learns the id to send again under."""

    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("lost")

    client, _, _ = make_client(handler, max_retries=0)
    async with client:
        with pytest.raises(APIConnectionError) as info:
            await client.send(MESSAGE)
    assert info.value.ambiguous and info.value.message_id
    assert pickle.loads(pickle.dumps(info.value)).message_id == info.value.message_id
