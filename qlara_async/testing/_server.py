"""A small HTTP/1.1 server (h11 on asyncio) that runs an ASGI app in its own thread.

Why not uvicorn: an ASGI app cannot make uvicorn close a connection without answering, and the
simulator's ``reset`` and ``drop`` faults need exactly that. Here the app raises
:class:`~qlara_async.testing._faults.SimulatedDisconnect` and the server closes the socket: with a
TCP RST for ``reset`` (``SO_LINGER`` 0, then abort) and a plain FIN for ``drop``.

Why a thread with its own event loop: a client benchmark on the main loop then measures the
client, not a loop shared with the server, and the same server serves asyncio and trio tests.

Keep-alive and pipelining are supported; one request per connection is in flight at a time (as
HTTP/1.1 requires). Stopping closes the listener, cancels in-flight requests (a ``slow`` response
does not hold up shutdown), closes every connection and joins the thread.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, MutableMapping
from contextlib import asynccontextmanager, contextmanager
from email.utils import formatdate
from types import TracebackType
from typing import Any
from urllib.parse import unquote

import h11

from ._faults import SimulatedDisconnect

__all__ = ["SimulatorServer", "run_in_thread", "serve"]

ASGIApp = Callable[
    [
        MutableMapping[str, Any],
        Callable[[], Awaitable[MutableMapping[str, Any]]],
        Callable[[MutableMapping[str, Any]], Awaitable[None]],
    ],
    Awaitable[None],
]

_RST_LINGER = struct.pack("ii", 1, 0)


class _Date:
    """The ``Date`` header value, formatted at most once a second."""

    __slots__ = ("_second", "_value")

    def __init__(self) -> None:
        self._second = -1
        self._value = b""

    def get(self, now: float) -> bytes:
        second = int(now)
        if second != self._second:
            self._second = second
            self._value = formatdate(second, usegmt=True).encode()
        return self._value


class _Connection(asyncio.Protocol):
    def __init__(self, server: SimulatorServer) -> None:
        self.server = server
        self.loop = asyncio.get_running_loop()
        self.conn = h11.Connection(h11.SERVER)
        self.transport: asyncio.Transport | None = None
        self.task: asyncio.Task[None] | None = None
        self.request: h11.Request | None = None
        self.body: list[bytes] = []
        self.closed = False
        self.disconnected = self.loop.create_future()

    # -- asyncio.Protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # Small responses on keep-alive connections: don't let Nagle hold them back.
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server._connections.add(self)

    def data_received(self, data: bytes) -> None:
        self.conn.receive_data(data)
        self._process()

    def eof_received(self) -> bool:
        self.conn.receive_data(b"")
        self._process()
        # Keep the write side open: a client that half-closes after its request still gets the
        # answer; _process closes the connection once h11 reports ConnectionClosed.
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.server._connections.discard(self)
        if not self.disconnected.done():
            self.disconnected.set_result(None)
        if self.task is not None and not self.task.done():
            self.task.cancel()

    # -- request cycle

    def _process(self) -> None:
        while self.task is None and not self.closed:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError:
                self._bad_request()
                return
            if event is h11.NEED_DATA or event is h11.PAUSED:
                return
            if isinstance(event, h11.Request):
                self.request = event
                self.body = []
            elif isinstance(event, h11.Data):
                self.body.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                self.task = self.loop.create_task(self._run())
                self.server._tasks.add(self.task)
                self.task.add_done_callback(self.server._tasks.discard)
            elif isinstance(event, h11.ConnectionClosed):
                self.close()

    def _bad_request(self) -> None:
        try:
            self._write_response(400, [(b"content-type", b"text/plain")], b"Bad Request")
        except h11.LocalProtocolError:
            pass
        self.close()

    def close(self) -> None:
        if not self.closed and self.transport is not None:
            self.closed = True
            self.transport.close()

    def abort(self, reset: bool) -> None:
        if self.transport is None or self.closed:
            return
        self.closed = True
        if reset:
            sock = self.transport.get_extra_info("socket")
            if sock is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RST_LINGER)
            self.transport.abort()
        else:
            self.transport.close()

    def _write_response(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        assert self.transport is not None
        headers = [*headers, (b"date", self.server._date.get(self.loop.time() + self.server._wall))]
        data = self.conn.send(h11.Response(status_code=status, headers=headers))
        data = (data or b"") + (self.conn.send(h11.Data(data=body)) or b"") if body else data
        data = (data or b"") + (self.conn.send(h11.EndOfMessage()) or b"")
        self.transport.write(data)

    async def _run(self) -> None:
        request = self.request
        assert request is not None
        target = request.target
        raw_path, _, query = target.partition(b"?")
        scope: dict[str, Any] = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": request.http_version.decode(),
            "method": request.method.decode(),
            "scheme": "http",
            "path": unquote(raw_path.decode("latin-1")),
            "raw_path": raw_path,
            "query_string": query,
            "root_path": "",
            "headers": list(request.headers),
            "server": self.server._address,
            "client": None,
        }
        body = b"".join(self.body)
        self.body = []
        sent_body = False
        start: MutableMapping[str, Any] | None = None
        chunks: list[bytes] = []

        async def receive() -> MutableMapping[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await self.disconnected
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body", False) and start is not None and not self.closed:
                    self._write_response(
                        start["status"], list(start.get("headers", [])), b"".join(chunks)
                    )

        try:
            await self.server.app(scope, receive, send)
        except SimulatedDisconnect as exc:
            self.abort(reset=exc.kind == "reset")
            return
        except asyncio.CancelledError:
            self.abort(reset=False)
            raise
        except Exception:
            if start is None and not self.closed:
                self._write_response(500, [(b"content-type", b"text/plain")], b"Internal Error")
            self.close()
            return
        finally:
            self.task = None
        if self.closed:
            return
        if start is None:
            # The app returned without answering: nothing sensible to send on this connection.
            self.abort(reset=False)
            return
        if self.conn.our_state is h11.MUST_CLOSE or self.conn.their_state is h11.MUST_CLOSE:
            self.close()
            return
        try:
            self.conn.start_next_cycle()
        except h11.LocalProtocolError:
            self.close()
            return
        # Pipelined requests may already be buffered.
        self._process()


class SimulatorServer:
    """An ASGI app served over HTTP/1.1 on loopback, from its own thread and event loop.

    >>> with SimulatorServer(sim) as server:          # doctest: +SKIP
    ...     httpx.get(server.base_url + "/services/sms/credit", headers={"X-Api-Key": "k"})

    ``port=0`` picks a free port. ``base_url`` is ``http://127.0.0.1:PORT/api``.
    """

    def __init__(
        self, app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, base_path: str = "/api"
    ) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.base_path = base_path
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._connections: set[_Connection] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._date = _Date()
        self._wall = 0.0
        self._address: tuple[str, int] = (host, port)

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` plus the base path."""
        return f"http://{self.host}:{self.port}{self.base_path}"

    def start(self) -> str:
        """Start serving; return :attr:`base_url` once the socket listens."""
        if self._thread is not None:
            raise RuntimeError("server already started")
        self._ready.clear()
        self._thread = threading.Thread(
            target=self._thread_main, name=f"qlara-simulator-{id(self):x}", daemon=True
        )
        self._thread.start()
        self._ready.wait()
        if self._error is not None:
            self._thread.join()
            self._thread = None
            raise RuntimeError("simulator server failed to start") from self._error
        return self.base_url

    def stop(self) -> None:
        """Stop serving, close every connection and join the thread. Idempotent."""
        thread, loop, stop = self._thread, self._loop, self._stop
        if thread is None:
            return
        if loop is not None and stop is not None:
            try:
                loop.call_soon_threadsafe(stop.set)
            except RuntimeError:  # the loop already closed
                pass
        thread.join()
        self._thread = None

    def __enter__(self) -> SimulatorServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _thread_main(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()

    async def _main(self) -> None:
        import time

        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stop = asyncio.Event()
        self._wall = time.time() - loop.time()
        server = await loop.create_server(
            lambda: _Connection(self), self.host, self.port, backlog=1024, reuse_address=True
        )
        try:
            self.port = server.sockets[0].getsockname()[1]
            self._address = (self.host, self.port)
            self._ready.set()
            await self._stop.wait()
        finally:
            server.close()
            for conn in list(self._connections):
                conn.abort(reset=False)
            tasks = list(self._tasks)
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await server.wait_closed()
            self._loop = None

    def __repr__(self) -> str:
        state = "running" if self._thread is not None else "stopped"
        return f"<SimulatorServer {self.base_url} {state}>"


@contextmanager
def run_in_thread(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, base_path: str = "/api"
) -> Iterator[str]:
    """Serve ``app`` on loopback from a background thread; yields the base URL.

    >>> with run_in_thread(Simulator()) as url:        # doctest: +SKIP
    ...     ...  # url == "http://127.0.0.1:PORT/api"
    """
    with SimulatorServer(app, host=host, port=port, base_path=base_path) as server:
        yield server.base_url


@asynccontextmanager
async def serve(
    app: ASGIApp, *, host: str = "127.0.0.1", port: int = 0, base_path: str = "/api"
) -> AsyncIterator[str]:
    """``async with serve(sim) as url:`` the async spelling of :func:`run_in_thread`.

    The server still runs in its own thread and loop, so it works under asyncio and trio alike.
    Starting and stopping block the caller's loop for a few milliseconds.
    """
    server = SimulatorServer(app, host=host, port=port, base_path=base_path)
    server.start()
    try:
        yield server.base_url
    finally:
        server.stop()
