"""The aiohttp backend (``AsyncQlara(http_backend="aiohttp")``, the ``fast`` extra).

httpx's client layer costs more per request than the rest of the library together, and its
pool assignment grows with the number of requests in flight (encode/httpx#3215). This backend
sends on aiohttp's connection pool directly; everything above the wire stays the transport's
(limiter, retries, ``messageId``, error mapping, redaction, decoding), so both backends behave
the same. Only ``Wire.exchange`` differs, and it ends the way ``_httpx.exchange`` does: a
response with its body read under the same caps, or an ``AttemptLost`` that says whether the
request may have reached and been processed by the server.

What maps to what (the httpx path's terms in brackets):

* refused, unreachable, DNS failure, TLS failure before sending (``ConnectError``), a
  connect or pool timeout (``ConnectTimeout``/``PoolTimeout``): not sent, safe to retry;
* a read timeout or the attempt's deadline (``ReadTimeout``), a reset or a server that hung up
  (``RemoteProtocolError``/``ReadError``), a malformed status line or headers, a truncated or
  malformed body (``ClientPayloadError``): the request may have been processed (ambiguous).
  aiohttp does not say cheaply whether the whole request was written, so a failure after the
  connection was made is always counted ambiguous (the safe side: a non-idempotent call is not
  retried on it; a send is, under its one ``messageId``).

Deadlines: aiohttp's ``total`` timeout bounds each attempt (the largest of the connect, read
and write timeouts, as on the httpx path). The pool's size is kept by a semaphore of ours (the
connector itself is unlimited), taken before the attempt's timeout starts: waiting for a
connection is ours, not the server's, and does not count, as on the httpx path.

aiohttp runs on asyncio only: a client with this backend refuses trio when it is built (and on
its first request, when it was built outside any event loop).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterable, AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import anyio
import httpx
from aiohttp.payload import BytesPayload
from multidict import CIMultiDict, CIMultiDictProxy
from yarl import URL

from ._body import undo_encodings
from ._constants import MAX_ERROR_BODY_SIZE
from ._errors import AttemptLost, decode_error_body
from ._exceptions import ValidationError
from ._proxy import EnvironmentProxies

__all__ = ["AiohttpWire", "Head", "refuse_trio"]

# Headers httpx puts on a request it built that aiohttp sets itself from the bytes it sends.
_DROPPED = frozenset({"host", "content-length", "transfer-encoding", "connection"})
_CHUNK = 65536
# h11's (httpx's) cap is the whole head at 16 KiB; aiohttp's defaults (8,190 bytes a line, 128
# lines) refused heads httpx accepts, failing answered requests as ambiguous.
_HEAD_LIMIT = 16384


async def _headers_sent(_: Any, context: Any, __: Any) -> None:
    if context.trace_request_ctx is not None:
        context.trace_request_ctx["sent"] = True


_HEADERS_SENT = aiohttp.TraceConfig()
"""Marks an attempt's ``trace_request_ctx`` once its request's headers left (a tunnel's
CONNECT is not traced): before that, a failure is not sent."""
_HEADERS_SENT.on_request_headers_sent.append(_headers_sent)
_HEADERS_SENT.freeze()

_Route = tuple[URL | None, dict[str, str] | None, str | None]
"""A proxy, the headers of its CONNECT, and a ``Proxy-Authorization`` for the request."""


class _Masked(str):
    """The credential as a header value: a traceback printed with its locals (aiohttp's
    frames hold the merged headers) shows it masked."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<secret>'"


def refuse_trio() -> None:
    """``ValidationError`` when called under trio: aiohttp needs an asyncio event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        trio = sys.modules.get("trio")
        if trio is not None:
            try:
                trio.lowlevel.current_trio_token()
            except RuntimeError:
                return
            raise ValidationError(
                "http_backend='aiohttp' runs on asyncio only; under trio use the default"
                " http_backend='httpx'",
                field="http_backend",
            ) from None


class Head:
    """A 2xx response as the transport needs it: status and headers (case-insensitive).
    Building an ``httpx.Response`` for every success would cost what this backend saves; one
    is made only when asked for (``capture_responses``, ``with_raw_response``)."""

    __slots__ = ("_method", "_reason", "_url", "headers", "status_code")

    def __init__(
        self,
        status: int,
        headers: CIMultiDictProxy[str],
        method: str,
        url: str,
        reason: str | None = None,
    ) -> None:
        self.status_code = status
        self.headers = headers
        self._method = method
        self._url = url
        self._reason = reason

    def to_httpx(self, content: bytes | None) -> httpx.Response:
        """The same response as an ``httpx.Response`` holding the decoded body."""
        return _to_httpx(
            self.status_code, self.headers, content, self._method, self._url, self._reason
        )


def _to_httpx(
    status: int,
    headers: CIMultiDictProxy[str],
    content: bytes | None,
    method: str,
    url: str,
    reason: str | None = None,
) -> httpx.Response:
    # The body is already decoded: its Content-Encoding and length would make httpx decode
    # it again.
    kept = [(k, v) for k, v in headers.items() if k.lower() not in ("content-encoding",)]
    kept = [(k, v) for k, v in kept if k.lower() != "content-length"]
    response = httpx.Response(
        status,
        headers=kept,
        content=content or b"",
        request=httpx.Request(method, url),
        # The server's own phrase ("500 Oops"), as httpx keeps it.
        extensions={"reason_phrase": reason.encode("latin-1", "replace")} if reason else {},
    )
    # Then the headers as the server sent them, as on the httpx path (the body is read).
    response.headers = httpx.Headers(list(headers.items()))
    return response


class AiohttpWire:
    """One client's aiohttp session: made on the event loop that first uses it."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str],
        credential: Callable[[], tuple[str, str]],
        timeout: httpx.Timeout,
        deadline: float | None,
        max_response_size: int,
        max_connections: int,
        proxies: EnvironmentProxies | None = None,
    ) -> None:
        self._headers = dict(headers)
        self._credential = credential
        self._default_timeout = timeout
        self._default_client_timeout = _client_timeout(timeout, deadline)
        self._max_response_size = max_response_size
        self._error_cap = min(max_response_size, MAX_ERROR_BODY_SIZE)
        self._limit = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._slots = asyncio.Semaphore(max_connections)
        self._urls: dict[str, URL] = {}
        # Read once, when the client is made (as httpx reads them): a proxy it cannot use
        # is refused here, before anything is sent.
        self._environment = EnvironmentProxies() if proxies is None else proxies
        self._proxies: dict[tuple[str, str | None, int | None], _Route] = {}
        # With a proxy, the headers go with each request, not as the session's defaults:
        # aiohttp merges those into a tunnel's CONNECT too (the key, in clear, to the proxy).
        self._tunnels = not self._environment.empty
        self._sent_headers: CIMultiDict[str] = CIMultiDict()

    def _proxy(self, url: URL) -> _Route:
        """The proxy for ``url``'s origin (``_proxy``: the environment as read when the client
        was made, the same choice as the httpx backend's), looked up once per origin: its URL,
        and its credentials as the headers of the CONNECT (an https target) or of the request
        itself (http: aiohttp adds only ``proxy_auth`` there)."""
        origin = (url.scheme, url.host, url.explicit_port)
        found = self._proxies.get(origin)
        if found is None:
            proxy = self._environment.for_url(url.scheme, url.host or "", url.port)
            found = (None, None, None)
            if proxy is not None:
                # UTF-8 as httpx sends them (aiohttp's proxy_auth is Latin-1, skips an empty
                # user, and is deprecated), masked in any repr.
                value = proxy.authorization()
                masked = None if value is None else _Masked(value)
                if masked is not None and url.scheme == "https":
                    found = (URL(proxy.url), {"Proxy-Authorization": masked}, None)
                else:
                    found = (URL(proxy.url), None, masked)
            if len(self._proxies) < 256:
                self._proxies[origin] = found
        return found

    @property
    def session(self) -> aiohttp.ClientSession | None:
        """The open session, if one was made (tests check keep-alive through its connector)."""
        return self._session

    @property
    def limit(self) -> int:
        """How many connections the pool may hold (sends beyond it wait, outside deadlines)."""
        return self._limit

    def bind(self, loop: object) -> None:
        """A new event loop uses the client: the next request opens a session on it."""
        if not isinstance(loop, asyncio.AbstractEventLoop):
            raise ValidationError(
                "http_backend='aiohttp' runs on asyncio only; under trio use the default"
                " http_backend='httpx'",
                field="http_backend",
            )
        _abandon(self._session)
        self._session = None

    def reserve(self, connections: int) -> None:
        """Let the pool hold at least ``connections`` (a bulk job's concurrency), so no send
        waits for a connection another has."""
        if connections <= self._limit:
            return
        for _ in range(connections - self._limit):
            self._slots.release()  # an asyncio.Semaphore grows by releases
        self._limit = connections

    def _open(self) -> aiohttp.ClientSession:
        name, value = self._credential()
        # Unlimited: ``_slots`` keeps the pool's size, so its wait is outside the deadline.
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300)
        self._slots = asyncio.Semaphore(self._limit)  # one event loop's, as the session
        # The credential goes into the session's default headers, masked in any repr: no
        # frame of ours holds a headers dict with it, as on the httpx path. (With a proxy,
        # into each request's: see _tunnels.)
        ours = {**self._headers, name: _Masked(value)}
        self._sent_headers = CIMultiDict(ours if self._tunnels else {})
        session = aiohttp.ClientSession(
            connector=connector,
            headers=None if self._tunnels else ours,
            trace_configs=[_HEADERS_SENT] if self._tunnels else None,
            # Proxies from the environment are looked up once per origin (_proxy), as httpx
            # reads them once per client: with trust_env aiohttp reads them, and ~/.netrc,
            # in a worker thread for every request (two thread hops per send: the backend's
            # throughput fell to a third). Nor is ~/.netrc sent to the API, as httpx does not.
            trust_env=False,
            max_line_size=_HEAD_LIMIT,
            max_field_size=_HEAD_LIMIT,
            max_headers=_HEAD_LIMIT // 4,
            # Bodies are decoded here, bounded (see _body): aiohttp's own decoding is not.
            auto_decompress=False,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=self._default_client_timeout,
            raise_for_status=False,
        )
        name = value = ""
        ours.clear()
        self._session = session
        return session

    async def aclose(self) -> None:
        """Close the session's connections (best effort, as for the httpx client)."""
        session, self._session = self._session, None
        if session is None:
            return
        if (
            session.connector is not None
            and session.connector._loop is not asyncio.get_running_loop()
        ):
            _abandon(session)
        else:
            await session.close()

    async def exchange(
        self,
        method: str,
        url: str,
        content: bytes | None,
        build: Callable[[], httpx.Request] | None,
        timeout: httpx.Timeout,
        deadline: float | None,
        redact: Callable[[str], str],
    ) -> tuple[Head | httpx.Response, bytes | None, Any, str]:
        """One attempt, as ``_httpx.exchange``: the response, a 2xx's body (``None`` when
        it cannot be used, and why), any other status's body decoded and scrubbed; or
        ``AttemptLost``. ``build`` makes the request with httpx (a query, a form, an upload:
        the calls off the hot path) and its bytes are sent as they are."""
        session = self._session
        if session is None:
            session = self._open()
        elif session.closed:
            raise AttemptLost(
                RuntimeError("the HTTP session is closed"),
                sent=False,
                ambiguous=False,
                reason="session closed",
            )
        headers: Any = None
        # Sent as quoted (``a%3Bb`` stays so): aiohttp would re-quote a str.
        target = self._urls.get(url)
        if target is None:
            target = URL(url, encoded=True)
            if len(self._urls) < 256:
                self._urls[url] = target
        data: Any = None
        if build is not None:
            request = build()  # Unbuildable (bad input) goes up as it is
            dropped = _DROPPED
            if isinstance(request.stream, httpx.ByteStream):
                data = request.read()
            else:
                # An upload: streamed from the file as httpx does, never read whole (its
                # Content-Length, when httpx knows it, is sent as is).
                data = _stream(request.stream)  # type: ignore[arg-type]
                dropped = _DROPPED - {"content-length"}
            headers = [(k, v) for k, v in request.headers.items() if k.lower() not in dropped]
            target = URL(str(request.url), encoded=True)
        elif content is not None:
            # The payload made directly, with its Content-Type: aiohttp's payload registry
            # lookup and a per-request headers merge were a tenth of this backend's own time.
            data = BytesPayload(content, content_type="application/json")
        client_timeout = (
            self._default_client_timeout
            if timeout is self._default_timeout
            else _client_timeout(timeout, deadline)
        )
        proxy, proxy_headers, proxy_authorization = self._proxy(target)
        sent: dict[str, bool] | None = None
        if self._tunnels:
            merged = self._sent_headers.copy()
            merged.update(headers or ())
            if proxy_authorization is not None:
                merged["Proxy-Authorization"] = proxy_authorization
            headers, sent = merged, {"sent": False}  # (set by _HEADERS_SENT)
        slots = self._slots
        try:
            if timeout.pool is None or not slots.locked():
                await slots.acquire()  # a free slot is taken without a wait
            else:
                with anyio.fail_after(timeout.pool):  # (asyncio.timeout needs Python 3.11)
                    await slots.acquire()
        except TimeoutError as exc:
            raise AttemptLost(
                exc, sent=False, ambiguous=False, reason="PoolTimeout", timeout=True
            ) from exc
        try:
            if session.closed:
                # Closed while this attempt waited for a connection: nothing left.
                raise AttemptLost(
                    RuntimeError("the HTTP session is closed"),
                    sent=False,
                    ambiguous=False,
                    reason="session closed",
                )
            async with session.request(
                method,
                target,
                data=data,
                headers=headers,
                allow_redirects=False,
                timeout=client_timeout,
                proxy=proxy,
                proxy_headers=proxy_headers,
                trace_request_ctx=sent,
            ) as response:
                status = response.status
                ok = 200 <= status < 300
                try:
                    body = await self._read(response, ok)
                except httpx.DecodingError as exc:
                    # The server answered in an encoding that lies: processed, but unusable.
                    problem = f"the response body cannot be decoded ({exc})" if ok else ""
                    return self._response(response, None, method, url), None, None, problem
        except AttemptLost:
            raise
        except aiohttp.ConnectionTimeoutError as exc:
            raise AttemptLost(
                exc, sent=False, ambiguous=False, reason="ConnectTimeout", timeout=True
            ) from exc
        except aiohttp.ClientConnectorError as exc:
            raise AttemptLost(exc, sent=False, ambiguous=False, reason="ConnectError") from exc
        except aiohttp.InvalidURL as exc:
            raise AttemptLost(exc, sent=False, ambiguous=False, reason="InvalidURL") from exc
        except Exception as exc:
            if sent is not None and not sent["sent"]:
                # Before the request's headers left: a proxy that refused or hung up on the
                # tunnel's CONNECT (ClientHttpProxyError, a disconnect), a timeout there.
                raise AttemptLost(
                    exc,
                    sent=False,
                    ambiguous=False,
                    reason=type(exc).__name__,
                    timeout=isinstance(exc, asyncio.TimeoutError),
                ) from exc
            if isinstance(exc, asyncio.TimeoutError):
                # sock_read or the attempt's deadline: the request was on its way or written.
                raise AttemptLost(
                    exc if str(exc) else TimeoutError(f"no complete response within {deadline:g}s"),
                    sent=True,
                    ambiguous=True,
                    reason="ReadTimeout",
                    timeout=True,
                ) from exc
            # Reset, hung up, a malformed status line or headers (aiohttp's
            # ClientResponseError), a body cut short or malformed (ClientPayloadError), or a
            # session closed under the request: the server may have processed it.
            raise AttemptLost(exc, sent=True, ambiguous=True, reason=type(exc).__name__) from exc
        finally:
            slots.release()
        if ok:
            head = Head(status, response.headers, method, url, response.reason)
            if body is None:
                too_big = f"the response body is larger than max_response_size ({self._max_response_size} bytes)"
                return head, None, None, too_big
            return head, body, None, ""
        return (
            self._response(response, body, method, url),
            None,
            decode_error_body(body, redact),
            "",
        )

    def _response(
        self,
        response: aiohttp.ClientResponse,
        body: bytes | None,
        method: str,
        url: str,
    ) -> Head | httpx.Response:
        if 200 <= response.status < 300:
            return Head(response.status, response.headers, method, url, response.reason)
        return _to_httpx(response.status, response.headers, body, method, url, response.reason)

    async def _read(self, response: aiohttp.ClientResponse, ok: bool) -> bytes | None:
        """The body, decoded and capped exactly as ``read_capped`` does on the httpx path."""
        cap = self._max_response_size if ok else self._error_cap
        encoding = response.headers.get("Content-Encoding", "")
        declared = response.content_length
        if declared is not None and declared <= cap:
            # The common case: one read of a body of known, acceptable size.
            return undo_encodings(await response.read(), False, encoding, cap, truncate=not ok)
        if ok and declared is not None:
            response.close()  # not read: the connection cannot be reused
            return None
        chunks: list[bytes] = []
        size = 0
        over = False
        stream = response.content
        while True:
            chunk = await stream.read(_CHUNK)
            if not chunk:
                break
            size += len(chunk)
            if size > cap:
                over = True
                chunks.append(chunk[: len(chunk) - (size - cap)])
                response.close()
                break
            chunks.append(chunk)
        return undo_encodings(b"".join(chunks), over, encoding, cap, truncate=not ok)


def _abandon(session: aiohttp.ClientSession | None) -> None:
    """Close a session whose event loop has ended: its sockets belong to that loop, so they
    can only be dropped, synchronously (aiohttp's ``close()`` would need the old loop)."""
    if session is None or session.closed or session.connector is None:
        return
    for conns in list(session.connector._conns.values()):
        for protocol, _ in conns:
            transport: Any = protocol.transport
            try:
                # What the ended loop would have run to close the socket: now, not at GC.
                transport._call_connection_lost(None)
            except Exception:  # best effort: asyncio's internals
                pass
    try:
        session.connector._close()
    except Exception:  # best effort, as any close: the loop that owned them is gone
        pass


def _client_timeout(timeout: httpx.Timeout, deadline: float | None) -> aiohttp.ClientTimeout:
    # The pool wait is outside (``_slots``): ``connect`` is the connection's own. A timeout
    # no shorter than the whole attempt's deadline adds nothing but a timer per request (a
    # read timer is set and cancelled for every response: a tenth of the loop's timer work).
    def within(value: float | None) -> float | None:
        return None if value is None or (deadline is not None and value >= deadline) else value

    return aiohttp.ClientTimeout(
        total=deadline,
        connect=within(timeout.connect),
        sock_connect=within(timeout.connect),
        sock_read=within(timeout.read),
    )


async def _stream(body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
    async for chunk in body:
        yield chunk
