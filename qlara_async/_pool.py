"""The library's own httpx client and its connection pool (the default backend's).

``own_client`` makes the ``httpx.AsyncClient`` of an ``AsyncQlara`` not given one:
``PoolShards`` as its transport (small httpcore pools, one wait queue, the environment's
proxies as ``_proxy`` reads them), one SSL context per process, no cookie jar. ``drop_pool``
lets any httpx client (ours or a given one) start over on a new event loop.
"""

from __future__ import annotations

import os
import ssl
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

import anyio
import httpx

try:  # httpcore's per-pool choice of async library (see drop_pool)
    from httpcore._backends.auto import AutoBackend as _AutoBackend
except ImportError:  # pragma: no cover - another httpcore layout: nothing to reset
    _AutoBackend = None  # type: ignore[assignment,misc]

from ._exceptions import ValidationError
from ._proxy import EnvironmentProxies

__all__ = ["NoCookies", "PoolShards", "drop_pool", "own_client"]


def own_client(
    limits: httpx.Limits, timeout: httpx.Timeout, *, proxies: EnvironmentProxies | None
) -> httpx.AsyncClient:
    """The httpx client the library makes for itself: ``PoolShards`` as its transport, sending
    through the environment's ``proxies`` as ``_proxy`` reads them (``None``: a client that
    only builds requests, for the aiohttp backend, which reads them itself); no cookie jar,
    no ``~/.netrc``. One SSL context serves every such client of the process (making one
    took ~30 ms, per client)."""
    context = _ssl_context()
    client = httpx.AsyncClient(limits=limits, timeout=timeout, verify=context, trust_env=False)
    client._transport = PoolShards(limits, ssl_context=context, proxies=proxies)
    # The API sets no cookies that matter; parsing every response's for a jar was a fifth of
    # httpx's time per send. (A given http_client keeps its own jar.)
    client._cookies = NoCookies()
    return client


_SSL: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def _ssl_context() -> ssl.SSLContext:
    # httpx's default context; it reads SSL_CERT_FILE / SSL_CERT_DIR, hence the key.
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _SSL.get(key)
    if context is None:
        if not key[0] and key[1] and not os.path.isdir(key[1]):
            # OpenSSL takes a missing directory without a word; every HTTPS send would fail.
            raise ValidationError(
                "cannot load the CA certificates named by SSL_CERT_DIR: no such directory",
                field="SSL_CERT_DIR",
            )
        try:
            context = httpx.create_ssl_context()
        except (OSError, ssl.SSLError) as exc:
            # A CA bundle the environment names but that is missing or unreadable.
            field = "SSL_CERT_FILE" if key[0] else "SSL_CERT_DIR"
            reason = getattr(exc, "strerror", None) or type(exc).__name__
            raise ValidationError(
                f"cannot load the CA certificates named by {field}: {reason}", field=field
            ) from None
        _SSL[key] = context
    return context


class PoolShards(httpx.AsyncBaseTransport):
    """The library's own connection pool: many small httpcore pools instead of one large one.

    httpcore's pool matches every request in flight against every connection on each change
    (encode/httpx#3215, openai-python#1596): at 64 sends in flight on one pool of 100
    connections that costs more than the rest of a send together, and throughput falls as
    concurrency rises. Here a request goes to the first pool with a free connection (so
    sequential sends keep reusing one connection); each pool holds ``shard_size`` connections
    (the last one what is left), together exactly ``limits.max_connections`` (``None``: no
    limit), and their keep-alive connections together at most
    ``limits.max_keepalive_connections``. Past that, requests wait here, first come first
    served, for whichever pool frees a connection first, up to the request's pool timeout
    (``httpx.PoolTimeout``). A pool is made when first needed, and all share one SSL context.
    A request counts against its pool until its response is closed. A request ``proxies``
    sends through a proxy goes to that proxy's own ``PoolShards`` (whose pools connect
    through it). After ``aclose()`` nothing is sent: waiters and new requests fail
    (``ConnectError``).
    """

    def __init__(
        self,
        limits: httpx.Limits,
        *,
        ssl_context: ssl.SSLContext,
        shard_size: int = 4,
        proxies: EnvironmentProxies | None = None,
        proxy: httpx.Proxy | None = None,
    ) -> None:
        self._limits = limits
        self._proxy = proxy
        self._env = None if proxies is None or proxies.empty else proxies
        self._closed = False
        total = limits.max_connections
        self._size = max(1, shard_size if total is None else min(shard_size, total))
        self._ssl = ssl_context
        self.reset()

    def reset(self) -> None:
        """Start over with no pool: the event loop that used the pools has ended (their
        connections, locks and network backend were that loop's). Streams still open from
        it free nothing here."""
        self.shards: list[httpx.AsyncHTTPTransport] = []
        """The pools made so far."""
        self._loads: list[int] = []
        self._caps: list[int] = []
        self._waiters: deque[_Waiter] = deque()
        self._routes: dict[tuple[str, str, int | None], PoolShards | None] = {}
        self.proxied: dict[str, PoolShards] = {}
        """One ``PoolShards`` per proxy used so far (its shards connect through the proxy)."""

    def _route(self, url: httpx.URL) -> PoolShards | None:
        """The proxy's pool for ``url``'s origin, or ``None`` to connect directly."""
        assert self._env is not None
        origin = (url.scheme, url.host, url.port)
        if origin in self._routes:
            return self._routes[origin]
        proxy = self._env.for_url(*origin)
        pool = None
        if proxy is not None:
            pool = self.proxied.get(proxy.url)
            if pool is None:
                pool = self.proxied[proxy.url] = PoolShards(
                    self._limits,
                    ssl_context=self._ssl,
                    shard_size=self._size,
                    proxy=httpx.Proxy(proxy.url, auth=proxy.credentials),
                )
        if len(self._routes) < 256:
            self._routes[origin] = pool
        return pool

    def _pick(self) -> int:
        """The first pool with a free connection, counted as taken; -1 when all are full."""
        loads, caps = self._loads, self._caps
        for i, load in enumerate(loads):
            if load < caps[i]:
                loads[i] = load + 1
                return i
        whole, made = self._limits, len(loads) * self._size
        total, kept = whole.max_connections, whole.max_keepalive_connections
        if total is not None and made >= total:
            return -1
        cap = self._size if total is None else min(self._size, total - made)
        keepalive = cap if kept is None else max(0, min(cap, kept - made))
        limits = httpx.Limits(
            max_connections=cap,
            max_keepalive_connections=keepalive,
            keepalive_expiry=whole.keepalive_expiry,
        )
        self.shards.append(
            httpx.AsyncHTTPTransport(verify=self._ssl, limits=limits, proxy=self._proxy)
        )
        caps.append(cap)
        loads.append(1)
        return len(loads) - 1

    async def _wait(self, request: httpx.Request) -> int:
        """Wait for a pool to free a connection (handed over by ``_release``, in order)."""
        waiter = _Waiter()
        waiters, loads = self._waiters, self._loads  # (reset() or aclose() may replace them)
        waiters.append(waiter)
        timeout = request.extensions.get("timeout", {}).get("pool")
        try:
            with anyio.fail_after(timeout):
                await waiter.event.wait()
        except BaseException as exc:
            timed_out = isinstance(exc, TimeoutError)
            if waiter.index == -1:  # nothing handed over: leave the queue
                if waiter in waiters:
                    waiters.remove(waiter)
                if timed_out:
                    raise httpx.PoolTimeout(
                        f"no connection free within {timeout:g}s", request=request
                    ) from None
            elif waiter.index >= 0:
                if timed_out:
                    return waiter.index  # handed a connection as the time ran out: take it
                self._release(loads, waiter.index)  # cancelled: on to the next
            elif timed_out:  # -2: the pools were closed
                raise _closed(request) from None
            raise
        if waiter.index == -2:
            raise _closed(request)
        return waiter.index

    def _release(self, loads: list[int], index: int) -> None:
        if loads is not self._loads:
            return  # a stream of the pools before reset()
        waiters = self._waiters
        if waiters and not self._closed:
            waiter = waiters.popleft()
            waiter.index = index  # the count passes on to the waiter
            waiter.event.set()
        else:
            loads[index] -= 1

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._env is not None:
            pool = self._route(request.url)
            if pool is not None:
                return await pool.handle_async_request(request)
        if self._closed:
            raise _closed(request)
        i = self._pick()
        if i < 0:
            i = await self._wait(request)
            if self._closed:  # handed a connection just before aclose(): not sent
                self._release(self._loads, i)
                raise _closed(request)
        loads = self._loads
        try:
            response = await self.shards[i].handle_async_request(request)
        except BaseException:
            self._release(loads, i)
            raise
        response.stream = _Counted(response.stream, self, loads, i)  # type: ignore[arg-type]
        return response

    async def aclose(self) -> None:
        self._closed = True
        waiters, self._waiters = self._waiters, deque()
        for waiter in waiters:  # each wakes to find the pools closed
            waiter.index = -2
            waiter.event.set()
        for shard in self.shards:
            await shard.aclose()
        for pools in self.proxied.values():
            await pools.aclose()


def _closed(request: httpx.Request) -> httpx.ConnectError:
    return httpx.ConnectError(
        "the client was closed while the request waited for a connection", request=request
    )


class _Waiter:
    __slots__ = ("event", "index")

    def __init__(self) -> None:
        self.event = anyio.Event()
        self.index = -1
        """The pool handed over, once one is."""


class _Counted(httpx.AsyncByteStream):
    """A response stream that frees its pool's count once, when closed."""

    __slots__ = ("_index", "_loads", "_open", "_owner", "_stream")

    def __init__(
        self, stream: httpx.AsyncByteStream, owner: PoolShards, loads: list[int], index: int
    ) -> None:
        self._stream = stream
        self._owner = owner
        self._loads = loads
        self._index = index
        self._open = True

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._stream.__aiter__()

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()  # the connection goes back to its pool first
        finally:
            if self._open:
                self._open = False
                self._owner._release(self._loads, self._index)


class NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing (the client's own httpx pool: the API sets no cookie that matters, and parsing every response's was a fifth of httpx's time per send)."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


def drop_pool(http: httpx.AsyncClient) -> None:
    """Forget the pooled connections of an event loop that has ended (closing them properly
    needs that loop), so the next request connects afresh on the current one. A pool also
    forgets the async library it found in use (httpcore keeps it: after ``trio.run`` a pool
    would call trio from asyncio forever)."""
    transports: list[Any] = [*http._mounts.values()]
    pending = [http._transport]
    while pending:  # PoolShards, and the PoolShards of its proxies, start over
        transport = pending.pop()
        if isinstance(transport, PoolShards):
            transports += transport.shards
            pending += transport.proxied.values()
            transport.reset()
        else:
            transports.append(transport)
    for transport in transports:
        pool = getattr(transport, "_pool", None)
        connections = getattr(pool, "_connections", None)
        if isinstance(connections, list):
            for connection in connections:
                _close_socket(connection)
            connections.clear()
        requests = getattr(pool, "_requests", None)
        if isinstance(requests, list):
            requests.clear()  # waiters of the ended loop, which nothing will wake
        backend = getattr(pool, "_network_backend", None)
        if type(backend) is _AutoBackend:
            pool._network_backend = _AutoBackend()  # type: ignore[union-attr]


def _close_socket(connection: Any) -> None:
    # What the ended loop would have run to close the socket: best effort, these are other
    # libraries' internals. asyncio: the transport under anyio's stream, under httpcore's;
    # trio: the socket under trio's stream.
    try:
        node = connection
        for _ in range(4):  # a proxy's connection wraps the one that holds the stream
            if hasattr(node, "_network_stream"):
                break
            node = node._connection
        stream = node._network_stream._stream
        while hasattr(stream, "transport_stream"):  # TLS, maybe inside a proxy's TLS
            stream = stream.transport_stream
        transport = getattr(stream, "_transport", None)
        if transport is not None:
            _close_transport(transport)
        else:
            # trio's socket.close() needs a running trio: close the stdlib socket under it.
            getattr(stream.socket, "_sock", stream.socket).close()
    except Exception:
        pass


def _close_transport(transport: Any) -> None:
    # asyncio's own close, done now: marked closing and out of its loop's selector, so a loop
    # that is not closed (left by run_until_complete) takes a new socket on the same
    # descriptor ("File descriptor N is used by transport" otherwise); then the socket closed.
    transport._closing = True
    loop = transport._loop
    try:
        if loop is not None and not loop.is_closed():
            loop._remove_reader(transport._sock_fd)
            loop._remove_writer(transport._sock_fd)
    except Exception:
        pass
    transport._call_connection_lost(None)
