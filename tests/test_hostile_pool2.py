"""Hostile review (second round) of the pools and proxies commit: ``PoolShards``, ``drop_pool``,
``own_client``/``_ssl_context`` and the aiohttp backend's ``EnvironmentProxies``.

Each test pins one defect; its docstring says what is wrong, how bad it is and what the correct
behaviour is. Plain tests (``asyncio.run``), with the loopback servers of
``tests/test_hostile_pool``.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import os
import socket
import threading
import traceback
import warnings
from collections.abc import Iterator

import httpx
import pytest
from yarl import URL

from qlara_async import (
    APIConnectionError,
    AsyncQlara,
    QlaraError,
    ValidationError,
)
from qlara_async._pool import PoolShards
from tests.test_hostile_pool import MESSAGE, _client, _Server, _settled, _shards, _until

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")


@pytest.fixture
def server() -> Iterator[_Server]:
    s = _Server()
    yield s
    s.close()


def _proxy_authorization(head: bytes) -> str | None:
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"proxy-authorization":
            scheme, _, token = value.strip().partition(b" ")
            assert scheme.lower() == b"basic"
            return base64.b64decode(token).decode("utf-8", "replace")
    return None


# --- PoolShards -------------------------------------------------------------------------


def test_a_send_queued_for_a_connection_is_not_sent_after_aclose(
    server: _Server, clean_env: pytest.MonkeyPatch
) -> None:
    """Severity: medium. A send waiting in ``PoolShards`` for a connection when ``aclose()``
    runs is handed the connection freed by the in-flight send that the close broke, and goes
    out *after* ``aclose()`` returned, on a new connection that nothing ever closes (a leaked
    socket: ``ResourceWarning: unclosed transport``). ``exchange`` checks ``http.is_closed``
    only before the wait, and ``PoolShards.aclose`` neither wakes nor refuses its waiters.

    Correct (as the aiohttp backend does, "closed while this attempt waited for a
    connection"): the queued send fails with ``APIConnectionError`` (not sent, not
    ambiguous), the server never sees it, and no connection is left open."""

    async def main() -> BaseException | None:
        gate = server.gate("/api/message")
        client = _client("httpx", server.url)
        pools = client._http._transport = _shards(httpx.Limits(max_connections=1))
        first = asyncio.ensure_future(client.send(MESSAGE))
        await _until(server, lambda: server.held == 1)
        queued = asyncio.ensure_future(client.send(MESSAGE))
        await _settled(lambda: len(pools._waiters) == 1)
        await client.aclose()
        gate.set()
        outcomes = await asyncio.gather(first, queued, return_exceptions=True)
        await _until(server, lambda: server.open == 0 or len(server.requests) > 1)
        await pools.aclose()  # (the connection opened after aclose(): not left to warn later)
        return outcomes[1] if isinstance(outcomes[1], BaseException) else None

    error = asyncio.run(main())
    assert len(server.requests) == 1, "the queued send went out after aclose()"
    assert isinstance(error, APIConnectionError)
    assert not error.ambiguous


class _TwoConnections(_Server):
    """``_Server`` that accepts two connections and then stops accepting (a thread blocked in
    ``accept()`` holds the lowest free descriptor)."""

    def _accept(self) -> None:
        for _ in range(2):
            conn, _ = self.sock.accept()
            with self.lock:
                self.connections += 1
                self.open += 1
                self.lock.notify_all()
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()


def test_a_loop_the_client_left_still_accepts_a_socket_on_a_reused_descriptor(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """Severity: low. A client used on a loop that is not closed (``loop.run_until_complete``)
    and then under ``asyncio.run``: ``drop_pool``'s ``_close_socket`` closes the first loop's
    keep-alive socket with ``transport._call_connection_lost`` behind asyncio's back, so the
    transport is never marked closing and stays in that loop's ``_transports`` map (and its
    selector). Once the OS hands that descriptor to a new socket, the first loop refuses it:
    ``RuntimeError: File descriptor N is used by transport <_SelectorSocketTransport closed
    fd=N>`` -- for the client's own next connection on that loop (seen as a failed send,
    ``APIConnectionError``, when ``max_retries=0``; retries hide it) and for any unrelated
    socket of the application on that loop, until a cyclic garbage collection happens to free
    the stale transport. (Here the reuse is forced with ``dup2`` so that the test does not
    depend on which descriptor the OS picks, and the collector is paused for the test so that
    it does not depend on when a collection runs.)

    Correct: leaving a loop that is not closed leaves it usable: close its transports through
    ``transport.abort()``/``close()`` (or leave them to that loop) rather than under it."""
    server = _TwoConnections()
    listener = socket.create_server(("127.0.0.1", 0))  # connects land in its backlog
    client = _client("httpx", server.url)

    async def send() -> bool:
        return (await client.send(MESSAGE)).accepted

    loop = asyncio.new_event_loop()
    gc.disable()  # the closed transport lives in a reference cycle until a collection runs
    try:
        assert loop.run_until_complete(send())
        descriptors = list(loop._transports)  # type: ignore[attr-defined]
        assert descriptors  # the keep-alive connection
        assert asyncio.run(send())  # the client moves on: the first loop's socket is closed
        asyncio.run(client.aclose())  # and the second loop's, so that nothing holds the fd

        async def connect_on(descriptor: int) -> None:
            reused = socket.socket()
            if reused.fileno() != descriptor:  # the OS reusing the freed descriptor
                os.dup2(reused.fileno(), descriptor)
                reused.close()
                reused = socket.socket(fileno=descriptor)
            reused.setblocking(False)
            try:
                await loop.sock_connect(reused, listener.getsockname())
            finally:
                reused.close()

        server.wait_until(lambda: server.open == 0, timeout=5)  # its sockets are ours
        for descriptor in descriptors:
            with pytest.raises(OSError):
                os.fstat(descriptor)  # closed, free for reuse
            loop.run_until_complete(connect_on(descriptor))
    finally:
        gc.enable()
        loop.close()
        listener.close()
        server.close()


# --- own_client: the httpx backend's proxies ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("NO_PROXY", "localhost,127.0.0.1,[::1]"),  # a common NO_PROXY, no proxy even set
        ("NO_PROXY", "[::1]:8080"),  # a form _proxy.py itself documents and tests
        ("NO_PROXY", "2001:db8::/32"),
        ("HTTPS_PROXY", "http://user:s3cr3t@proxy.test:notaport"),
    ],
)
def test_an_unparsable_proxy_variable_never_escapes_as_a_raw_httpx_error(
    clean_env: pytest.MonkeyPatch, name: str, value: str
) -> None:
    """Severity: medium. With the default backend, ``AsyncQlara()`` raises a raw
    ``httpx.InvalidURL`` ("Invalid port: ':1]'") when ``NO_PROXY`` holds a bracketed IPv6
    address or an IPv6 network, even with no proxy configured at all, or when a proxy URL
    does not parse. ``own_client`` turns only ``ImportError``/``ValueError`` from
    ``httpx.AsyncClient()`` into a ``ValidationError``; ``httpx.InvalidURL`` is neither.
    (The aiohttp backend accepts the same ``NO_PROXY``.)

    Correct: every failure is a ``QlaraError``, here a ``ValidationError`` naming the
    variable without its password (or, for ``NO_PROXY``, a client that works)."""
    clean_env.setenv(name, value)
    try:
        AsyncQlara(api_key="k", base_url="https://api.test/api")
    except QlaraError as exc:
        assert isinstance(exc, ValidationError)
        assert name in str(exc) and "s3cr3t" not in str(exc)
    # anything else (httpx.InvalidURL today) propagates and fails the test


@pytest.mark.parametrize("backend", ["httpx", "aiohttp"])
@pytest.mark.parametrize("password", ["s3cr3t#1", "s3cr3t?1", "s3cr3t/1"])
def test_a_proxy_password_with_a_url_delimiter_never_shows_in_an_error(
    clean_env: pytest.MonkeyPatch, backend: str, password: str
) -> None:
    """Severity: high. A proxy password holding a character that ends a URL's authority
    (``#``, ``?``, ``/``: people paste passwords unquoted) makes the URL parse with
    ``user:s3cr3t`` as *host:port*, and the parser's error names the "port": the password.
    httpx backend: ``AsyncQlara()`` raises a raw ``httpx.InvalidURL: Invalid port:
    's3cr3t'`` (``own_client`` does not catch ``InvalidURL``); aiohttp backend: ``send()``
    raises a raw ``ValueError`` whose traceback shows ``invalid literal for int() with base
    10: 's3cr3t'`` (``AiohttpWire._proxy`` parses outside any handling). The password ends up
    in logs and crash reports.

    Correct: a ``ValidationError`` naming the variable (``HTTP_PROXY``), with neither the
    password nor the parser's exception (chained or in the message) in what is raised."""
    clean_env.setenv("HTTP_PROXY", f"http://user:{password}@127.0.0.1:3128")

    async def main() -> None:
        async with _client(backend, "http://localhost:9/api") as client:
            await client.send(MESSAGE)

    with pytest.raises(BaseException) as info:
        asyncio.run(main())
    shown = "".join(traceback.format_exception(info.value))
    assert "s3cr3t" not in shown
    assert isinstance(info.value, ValidationError)


def test_a_missing_ssl_cert_dir_is_a_validation_error_naming_it(
    clean_env: pytest.MonkeyPatch, tmp_path: os.PathLike[str]
) -> None:
    """Severity: low. ``SSL_CERT_DIR`` naming a directory that does not exist makes httpx
    drop its certifi bundle for a CA directory with nothing in it: ``AsyncQlara()`` succeeds
    and every HTTPS send then fails with a certificate error that names nothing. A missing
    ``SSL_CERT_FILE`` is a ``ValidationError`` naming the variable (finding 3), and
    ``_ssl_context`` has the ``SSL_CERT_DIR`` branch for it, but ``load_verify_locations``
    never fails for a missing ``capath``, so that branch cannot be reached.

    Correct: like ``SSL_CERT_FILE``, a ``SSL_CERT_DIR`` that is not a readable directory is
    a ``ValidationError`` with ``field == "SSL_CERT_DIR"`` when the client is made."""
    clean_env.setenv("SSL_CERT_DIR", os.path.join(tmp_path, "no-such-dir"))
    with pytest.raises(ValidationError) as info:
        AsyncQlara(api_key="k", base_url="https://api.test/api")
    assert info.value.field == "SSL_CERT_DIR"


# --- the aiohttp backend's proxies ---------------------------------------------------------


@pytest.mark.parametrize(
    "proxy",
    [
        "http://user:s3cr3t@127.0.0.1:notaport",
        "http://user:s3cr3t@127.0.0.1:99999",
        "http://user:s3cr3t@",
        "http://user:s3cr3t@[::1:3128",
    ],
)
def test_aiohttp_an_unparsable_proxy_url_is_a_qlara_error(
    clean_env: pytest.MonkeyPatch, proxy: str
) -> None:
    """Severity: medium. With ``http_backend="aiohttp"`` a proxy URL that yarl cannot parse
    (a bad or out-of-range port, no host, a broken IPv6 literal) is accepted when the client
    is made, then every ``send()`` raises a raw ``ValueError`` ("Port out of range 0-65535",
    "Invalid URL: port can't be converted to integer"): ``AiohttpWire._proxy`` calls
    ``URL(proxy)`` outside ``exchange``'s error handling, and ``EnvironmentProxies`` checks
    only the scheme.

    Correct: a ``ValidationError`` naming the variable, without the password, when the client
    is made (as ``_aiohttp`` says: "a proxy it cannot use is refused here, before anything is
    sent"); at the very least every failure of ``send()`` is a ``QlaraError``."""
    clean_env.setenv("HTTP_PROXY", proxy)

    async def main() -> None:
        async with _client("aiohttp", "http://localhost:9/api") as client:
            await client.send(MESSAGE)

    with pytest.raises(QlaraError) as info:
        asyncio.run(main())
    assert "s3cr3t" not in str(info.value)


@pytest.mark.parametrize(
    "credentials",
    ["user:пароль", ":token"],
    ids=["outside-latin-1", "password-only"],
)
def test_aiohttp_sends_the_proxy_credentials_httpx_sends(
    clean_env: pytest.MonkeyPatch, credentials: str
) -> None:
    """Two findings, one check against httpx as the reference.

    Severity: medium. ``HTTP_PROXY=http://user:пароль@proxy``: httpx sends
    ``Proxy-Authorization`` with the credentials in UTF-8 and the send goes through; the
    aiohttp backend built ``aiohttp.BasicAuth.from_url`` (Latin-1), whose encoding raised
    ``UnicodeEncodeError`` in ``session.request``, filed under "the server may have processed
    it" although nothing reached the proxy (and its ``repr`` held ``"user:пароль"``).

    Severity: low. ``HTTP_PROXY=http://:token@proxy`` (an empty user name, a token as the
    password, as several proxies take it): httpx sends ``Proxy-Authorization`` for ``:token``;
    the aiohttp backend sent none (``BasicAuth`` only ``if parsed.user``), so the proxy
    answered 407.

    Correct: the same ``Proxy-Authorization`` as httpx."""
    proxy = _Server()
    clean_env.setenv("HTTP_PROXY", f"http://{credentials}@127.0.0.1:{proxy.port}")

    async def main(backend: str) -> None:
        async with _client(backend, "http://localhost:9/api") as client:
            await client.send(MESSAGE)

    try:
        asyncio.run(main("httpx"))  # the reference
        asyncio.run(main("aiohttp"))
    finally:
        proxy.close()
    assert [_proxy_authorization(head) for head in proxy.requests] == [credentials] * 2


def test_aiohttp_a_proxy_with_credentials_uses_no_deprecated_aiohttp_api(
    clean_env: pytest.MonkeyPatch,
) -> None:
    """Severity: low. ``AiohttpWire.exchange`` passes the proxy's credentials as
    ``session.request(proxy_auth=...)``, which aiohttp 3.14 deprecates ("will be removed in
    v4"; the ``fast`` extra asks for ``aiohttp>=3.10`` with no upper bound): every send
    through a proxy with a password warns, and under ``-W error::DeprecationWarning`` (this
    repository's own ``filterwarnings = ["error"]``) every such send fails as
    ``APIConnectionError(ambiguous=True)`` although nothing was sent. The existing proxy
    tests use proxies without credentials, so the suite never sees it.

    Correct: ``proxy_headers={"Proxy-Authorization": ...}`` (what aiohttp's message says),
    no warning, and the proxy receives the credentials."""
    proxy = _Server()
    clean_env.setenv("HTTP_PROXY", f"http://user:pass@127.0.0.1:{proxy.port}")

    async def main() -> None:
        async with _client("aiohttp", "http://localhost:9/api") as client:
            await client.send(MESSAGE)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            asyncio.run(main())
    finally:
        proxy.close()
    assert [_proxy_authorization(head) for head in proxy.requests] == ["user:pass"]


def _httpx_backend_choice(url: str) -> str | None:
    client = _client("httpx", "http://localhost:9/api")
    pools = client._http._transport
    assert isinstance(pools, PoolShards)
    found = None if pools._env is None else pools._route(httpx.URL(url))
    if found is None:
        return None
    assert found._proxy is not None  # a proxy's PoolShards connects through it
    proxy = found._proxy.url
    return f"{proxy.scheme}://{proxy.host}:{proxy.port}"


@pytest.mark.parametrize(
    ("no_proxy", "url"),
    [
        ("10.0.0.0/8", "http://10.1.2.3/api"),
        ("127.0.0.0/8", "http://127.0.0.1:8080/api"),
        ("example.com:443", "https://example.com/api"),
        ("*.example.com", "https://api.example.com/api"),
        ("https://example.com", "https://api.example.com/api"),
        ("localhost.", "http://localhost:8080/api"),
        ("0:0:0:0:0:0:0:1", "http://[::1]:8080/api"),
        ("other.test", "https://api.test/api"),
        ("api.test", "https://api.test/api"),
    ],
)
def test_aiohttp_chooses_the_proxy_httpx_chooses(
    clean_env: pytest.MonkeyPatch, no_proxy: str, url: str
) -> None:
    """Severity: low. The commit says the aiohttp backend "reads proxies by httpx's rules"
    so that "both backends send through the same proxy", but ``_proxy.py`` implements curl's
    rules where they differ: IP networks (httpx matches only the network's own address),
    a port equal to the scheme's default (httpx compares it with the URL's port, which is
    ``None`` for a default port), ``*.domain`` (httpx matches nothing), a URL entry's
    subdomains, trailing dots, IPv6 spellings. For these environments the httpx backend sends
    through the proxy and the aiohttp backend goes direct (around a proxy that may be
    mandatory), so switching ``http_backend`` changes the route.

    Correct: with httpx as the reference, the same choice as httpx (or, if curl's reading is
    wanted, the same choice from both backends, i.e. the httpx backend's mounts built from
    ``_proxy.py`` too, and the docs saying so).

    Fixed the second way: the library's own httpx client routes through ``_proxy.py`` too
    (``PoolShards``), so both backends make the same, curl-like choice; stock httpx's reading
    is what a given ``http_client`` gets. The cases below are the ones where the two differed,
    plus the plain ones."""
    clean_env.setenv("ALL_PROXY", "http://proxy.test:3128")
    clean_env.setenv("NO_PROXY", no_proxy)
    client = _client("aiohttp", "http://localhost:9/api")
    found = client._transport.wire._proxy(URL(url))[0]  # type: ignore[union-attr]
    ours = None if found is None else f"{found.scheme}://{found.host}:{found.port}"
    assert ours == _httpx_backend_choice(url)
