"""The httpx backend's one attempt on the wire (the default; ``Transport`` calls it).

It turns whatever comes out of httpx (its ``TransportError`` family, a ``DecodingError`` from a
lying ``Content-Encoding``, a ``RuntimeError`` from a client closed under a request or used
from another event loop) into a response or an ``AttemptLost`` that says whether the request
may have been processed; ``_aiohttp`` is the same for aiohttp.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Generator
from typing import Any

import anyio
import httpx

from ._body import read_capped
from ._constants import MAX_ERROR_BODY_SIZE
from ._errors import AttemptLost as _Lost
from ._errors import decode_error_body
from ._pool import NoCookies

__all__ = [
    "HeaderAuth",
    "RequestBuilder",
    "exchange",
]

# Failures where the request cannot have reached the server: safe to retry anything. (A proxy
# refusing the tunnel is told by the trace: nothing of the API's request had started.)
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# Failures while writing: the server never saw a whole request, so it cannot have processed it.
_PARTLY_SENT = (httpx.WriteError, httpx.WriteTimeout)


async def exchange(
    http: httpx.AsyncClient,
    request: httpx.Request,
    auth: httpx.Auth,
    deadline: float | None,
    redact: Callable[[str], str],
    max_response_size: int,
    scope_class: Callable[[], anyio.CancelScope] = anyio.CancelScope,
) -> tuple[httpx.Response, bytes | None, Any, str]:
    """One attempt on the wire: the response, a 2xx's body (``None`` when it cannot be
    used, and why), and any other status's body decoded with credentials scrubbed (so no
    frame of the request path holds an echoed credential); or ``_Lost`` with what is known
    of the request's fate.

    Redirects are never followed, whatever the ``http_client`` says: following one would
    hand the credential header and the message to another host. The attempt's deadline
    starts when httpcore reports the first step on a connection (so the wait for a
    pooled connection, which is ours and not the server's, does not count). ``scope_class``
    is the running backend's own ``CancelScope`` class (``anyio.CancelScope()`` looks the
    backend up on every call).
    """
    if http.is_closed:
        # Nothing can leave: the caller closed the http_client it gave us.
        raise _Lost(
            RuntimeError("the http_client is closed"),
            sent=False,
            ambiguous=False,
            reason="http_client closed",
        )
    attempt = _Attempt()
    scope = scope_class()
    request.extensions["trace"] = attempt.tracer(scope, deadline)
    response: httpx.Response | None = None
    try:
        with scope:
            if _DIRECT and not (http._event_hooks["request"] or http._event_hooks["response"]):
                response = await _send_direct(http, request, auth)
            else:
                response = await http.send(request, auth=auth, stream=True, follow_redirects=False)
            try:
                body = await read_capped(
                    response,
                    max_response_size
                    if 200 <= response.status_code < 300
                    else min(max_response_size, MAX_ERROR_BODY_SIZE),
                    truncate=not 200 <= response.status_code < 300,
                )
            finally:
                await response.aclose()
    except httpx.DecodingError as exc:
        # The server answered (so it processed the request) in an encoding that lies.
        if response is not None:
            if 200 <= response.status_code < 300:
                return response, None, None, f"the response body cannot be decoded ({exc})"
            return response, None, None, ""
        raise _Lost(exc, sent=True, ambiguous=True, reason="DecodingError") from exc
    except httpx.TransportError as exc:
        sent = not isinstance(exc, _NOT_SENT)
        ambiguous = sent and not isinstance(exc, _PARTLY_SENT)
        if attempt.traced and not attempt.started:
            sent = ambiguous = False  # e.g. a proxy that hung up on the tunnel's CONNECT
        raise _Lost(exc, sent=sent, ambiguous=ambiguous, reason=type(exc).__name__) from exc
    except Exception as exc:
        # What httpx, httpcore or the loop raise outside the TransportError family: a
        # client closed with the request in flight, a client used from another event loop,
        # a transport that breaks its contract. The fate is unknown unless httpcore's trace
        # showed the request never reached a connection.
        unknown = attempt.written or not attempt.traced
        raise _Lost(exc, sent=unknown, ambiguous=unknown, reason=type(exc).__name__) from exc
    if scope.cancelled_caught:
        # The deadline struck: unknown fate once the whole request was written.
        raise _Lost(
            httpx.ReadTimeout(f"no complete response within {deadline:g}s"),
            sent=attempt.started,
            ambiguous=attempt.written,
            reason="deadline",
            timeout=True,
        )
    assert response is not None
    if 200 <= response.status_code < 300:
        too_big = f"the response body is larger than max_response_size ({max_response_size} bytes)"
        return response, body, None, "" if body is not None else too_big
    return response, None, decode_error_body(body, redact), ""


# httpx's client layer, as used here (one auth step, no redirects, a streamed response), is
# most of a send's own CPU time: AsyncClient.send runs three nested generators and a context
# manager around the transport's one call. _send_direct makes that call itself, doing what
# AsyncClient._send_single_request does around it (the bound stream, cookies, the default
# encoding, httpx's INFO log line). It needs these httpx internals; without them (another httpx
# release) every send goes through AsyncClient.send as before.
_BoundStream: Any = getattr(httpx._client, "BoundAsyncStream", None)
_DIRECT = _BoundStream is not None and all(
    hasattr(httpx.AsyncClient, name) for name in ("_transport_for_url",)
)
_httpx_log = logging.getLogger("httpx")


async def _send_direct(
    http: httpx.AsyncClient, request: httpx.Request, auth: httpx.Auth
) -> httpx.Response:
    """``http.send(request, auth=auth, stream=True, follow_redirects=False)`` for an auth of
    one step (the library's header auth) and a client without event hooks."""
    if type(auth) is HeaderAuth:
        auth.apply(request)  # what its flow does, without two generators per send
    else:
        flow = auth.async_auth_flow(request)
        request = await flow.__anext__()
        await flow.aclose()
    transport = http._transport_for_url(request.url)
    start = time.perf_counter()
    try:
        response = await transport.handle_async_request(request)
    except httpx.RequestError as exc:
        exc.request = request
        raise
    response.request = request
    response.stream = _BoundStream(response.stream, response=response, start=start)
    # A response without Set-Cookie changes no jar, but httpx builds urllib's request and
    # response objects to find that out: a tenth of a send's time, skipped.
    if not isinstance(http._cookies, NoCookies) and (
        "set-cookie" in response.headers or "set-cookie2" in response.headers
    ):
        http.cookies.extract_cookies(response)
    response.default_encoding = http._default_encoding
    if _httpx_log.isEnabledFor(logging.INFO):
        _httpx_log.info(
            'HTTP Request: %s %s "%s %d %s"',
            request.method,
            request.url,
            response.http_version,
            response.status_code,
            response.reason_phrase,
        )
    return response


class HeaderAuth(httpx.Auth):
    """Adds the credential header inside httpx, as the request leaves: our frames never build a
    headers dict holding it (the ``httpx.Request`` object does hold it once sent; its repr does
    not show headers). ``value`` reads the credential when it is needed."""

    def __init__(self, name: str, value: Callable[[], str]) -> None:
        self._name = name
        self._value = value

    def apply(self, request: httpx.Request) -> None:
        """Set the header on ``request``."""
        request.headers[self._name] = self._value()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        self.apply(request)
        yield request

    def __repr__(self) -> str:
        return f"<{self._name} auth>"


class RequestBuilder:
    """Builds a request the way ``AsyncClient.build_request`` does, at a fraction of its cost,
    for the calls that make up nearly every send: a JSON body (or none), no query, no upload.

    ``build_request`` merges the client's headers, cookies and query into new objects, parses
    the URL and runs ``Request``'s header preparation (each header looked up and re-encoded)
    for every request: about a fifth of a send's CPU time over a fast connection. Here the
    merged headers are made once per URL, with ``Host`` first as httpx puts it, and each request
    is built from them through ``Request(stream=...)`` (which takes its headers as given) plus
    its own ``Content-Length``: the same method, URL, headers in the same order, body and
    timeout extension as ``build_request`` would give (``tests/test_httpx.py`` compares them).
    A client whose own headers change has its templates made again; one with cookies or a
    default query (which httpx must merge) returns ``None``, and the caller uses httpx.
    """

    __slots__ = ("_http", "_seen", "_templates", "_timeout", "_timeout_dict")

    def __init__(self, http: httpx.AsyncClient) -> None:
        self._http = http
        self._seen: list[tuple[bytes, bytes]] | None = None
        # (url, id(headers)) -> (headers, its URL, the merged headers with and without a body),
        # the dict kept so that an id reused by another dict cannot pick up its template.
        # Nones: use httpx.
        self._templates: dict[
            tuple[str, int],
            tuple[dict[str, str], httpx.URL | None, httpx.Headers | None, httpx.Headers | None],
        ] = {}
        self._timeout: httpx.Timeout | None = None
        self._timeout_dict: dict[str, float | None] = {}

    def build(
        self,
        method: str,
        url: str,
        content: bytes | None,
        headers: dict[str, str],
        timeout: httpx.Timeout,
    ) -> httpx.Request | None:
        """The request, or ``None`` where httpx's own ``build_request`` must make it.

        ``headers`` must be one of a few dicts that live as long as the builder (the
        transport's own): templates are kept per URL and per dict.
        """
        method = method.upper()  # as Request does, before the bodiless-POST rule below
        http = self._http
        if http.cookies or http.params:
            return None
        seen = http.headers.raw
        if seen != self._seen:
            # The client's headers changed (or this is the first request): start again.
            self._templates.clear()
            self._seen = seen
        key = (url, id(headers))
        template = self._templates.get(key)
        if template is None or template[0] is not headers:
            template = (headers, *self._template(url, headers))
            if len(self._templates) < 256:
                self._templates[key] = template
        _, parsed, merged, bodiless = template
        if parsed is None or merged is None or bodiless is None:
            return None
        if timeout is not self._timeout:
            # Kept for the last Timeout object seen (the client's own, nearly always).
            self._timeout, self._timeout_dict = timeout, timeout.as_dict()
        extensions = self._timeout_dict
        request = httpx.Request(
            method,
            parsed,
            headers=merged if content or method not in ("POST", "PUT", "PATCH") else bodiless,
            stream=httpx.ByteStream(content or b""),
            extensions={"timeout": extensions},
        )
        if content:
            request.headers["Content-Length"] = str(len(content))
        request.read()
        return request

    def _template(
        self, url: str, headers: dict[str, str]
    ) -> tuple[httpx.URL, httpx.Headers, httpx.Headers] | tuple[None, None, None]:
        try:
            parsed = httpx.URL(url)
            merged = httpx.Headers(self._http.headers)
            merged.update(headers)
        except (httpx.InvalidURL, UnicodeError, TypeError, ValueError):
            return None, None, None  # httpx raises it again, for the caller to report
        if parsed.is_relative_url or not parsed.host:
            return None, None, None
        if "Content-Length" in merged or "Transfer-Encoding" in merged:
            return None, None, None  # httpx's rules for these apply
        # Request's own order: Host (unless given), a bodiless POST's Content-Length: 0, the
        # merged headers; a body's Content-Length is added last, per request.
        host = [] if "Host" in merged else [(b"Host", parsed.netloc)]
        return (
            parsed,
            httpx.Headers([*host, *merged.raw]),
            httpx.Headers([*host, (b"Content-Length", b"0"), *merged.raw]),
        )


class _Attempt:
    """What httpcore reported of one attempt, through its ``trace`` extension (transports
    that are not httpcore's, e.g. ``httpx.MockTransport``, report nothing)."""

    __slots__ = ("started", "traced", "tunnel", "written")

    def __init__(self) -> None:
        self.tunnel = False
        """The last request written was a proxy's CONNECT."""
        self.traced = False
        """The transport reports through ``trace``."""
        self.started = False
        """The request started on a connection (its headers are being written)."""
        self.written = False
        """The whole request was written: from here on its fate is unknown."""

    def tracer(
        self, scope: anyio.CancelScope, deadline: float | None
    ) -> Callable[[str, Any], Awaitable[None]]:
        async def trace(event: str, info: Any) -> None:
            if not self.traced:
                # The first step on a connection (connecting, or writing on a pooled one).
                self.traced = True
                if deadline is not None:
                    scope.deadline = anyio.current_time() + deadline
            if not self.started and event.endswith("send_request_headers.started"):
                # A tunnel's CONNECT goes first on the same trace: not the API's request.
                self.tunnel = info["request"].method == b"CONNECT"
                self.started = not self.tunnel
            elif event.endswith("send_request_body.complete"):
                self.written = not self.tunnel

        return trace
