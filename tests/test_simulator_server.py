"""The simulator over real HTTP on loopback: keep-alive, faults as real connection closes."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, BinaryIO

import anyio
import anyio.streams.buffered
import httpx
import pytest

from qlara_async._clock import ManualClock
from qlara_async._config import RateLimit
from qlara_async.testing import Faults, Simulator, SimulatorServer, run_in_thread, serve

pytestmark = pytest.mark.e2e

SMS = {"destination": "+393201234567", "sender": "MyBrand", "body": "Ciao"}
KEY = {"X-Api-Key": "test-key"}
CREDIT = b"GET /api/services/sms/credit HTTP/1.1\r\nHost: x\r\nX-Api-Key: test-key\r\n\r\n"

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class Recorder:
    """Wraps the simulator's ASGI app and records, for every HTTP request, the thread that served
    it and how the app call ended: ``"completed"``, ``"cancelled"`` or ``"raised"``."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.threads: list[threading.Thread] = []
        self.outcomes: list[str] = []
        self.entered = threading.Event()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.threads.append(threading.current_thread())
        self.entered.set()
        try:
            await self.sim(scope, receive, send)
        except asyncio.CancelledError:
            self.outcomes.append("cancelled")
            raise
        except BaseException:
            self.outcomes.append("raised")
            raise
        self.outcomes.append("completed")

    @property
    def server_thread(self) -> threading.Thread:
        """The one thread every request was served on."""
        [thread] = set(self.threads)
        return thread


def read_response(stream: BinaryIO) -> tuple[bytes, bytes]:
    """Read one HTTP/1.1 response with a Content-Length: ``(status line, body)``."""
    status = stream.readline()
    length = 0
    while (line := stream.readline()) not in (b"\r\n", b""):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, stream.read(length)


def test_run_in_thread_serves_and_stops_cleanly() -> None:
    """The threaded server answers over HTTP from its own thread, which has ended after stop."""
    app = Recorder(Simulator())
    with run_in_thread(app) as url:
        assert url.startswith("http://127.0.0.1:")
        assert url.endswith("/api")
        with httpx.Client(base_url=url, headers=KEY) as client:
            r = client.get("/services/sms/credit")
            r2 = client.post("/message-server/sms/send", json=SMS)
        thread = app.server_thread
        assert thread is not threading.current_thread()
        assert thread.is_alive()
    assert r.status_code == 200
    assert r.json() == {"credit": 150.5}
    assert r.headers["x-request-id"]
    assert r.headers["date"]
    assert r2.json()["results"]["sms"]["accepted"] is True
    assert not thread.is_alive()
    # The port is closed after stop.
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_server_object_start_stop() -> None:
    """SimulatorServer exposes base_url, joins its thread on stop and stops idempotently."""
    app = Recorder(Simulator())
    server = SimulatorServer(app)
    url = server.start()
    try:
        assert url == server.base_url
        assert "running" in repr(server)
        assert httpx.get(url + "/services/sms/credit", headers=KEY).status_code == 200
    finally:
        server.stop()
    assert not app.server_thread.is_alive()
    server.stop()
    assert "stopped" in repr(server)


def test_keep_alive_and_pipelined_requests() -> None:
    """Two requests written back to back on one socket are both answered, in order."""
    sim = Simulator()
    with (
        SimulatorServer(sim) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
        sock.makefile("rb") as stream,
    ):
        sock.sendall(CREDIT + CREDIT)
        responses = [read_response(stream), read_response(stream)]
    assert responses == [(b"HTTP/1.1 200 \r\n", b'{"credit":150.5}')] * 2
    assert sim.stats.arrivals == 2


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_64_concurrent_keep_alive_connections() -> None:
    """64 httpx keep-alive connections sending at once: all answered, dedupe intact."""
    sim = Simulator()
    conc, per_worker = 64, 4
    async with serve(sim) as url:
        limits = httpx.Limits(max_connections=conc, max_keepalive_connections=conc)
        async with httpx.AsyncClient(base_url=url, headers=KEY, limits=limits) as client:
            statuses: list[int] = []

            async def worker(w: int) -> None:
                for i in range(per_worker):
                    # Every id is sent twice (by workers w and w + 32).
                    mid = f"m{w % (conc // 2)}-{i}"
                    r = await client.post(
                        "/message-server/sms/send", json={**SMS, "messageId": mid}
                    )
                    statuses.append(r.status_code)

            async with anyio.create_task_group() as tg:
                for w in range(conc):
                    tg.start_soon(worker, w)
    n = conc * per_worker
    assert statuses == [200] * n
    assert sim.stats.processed == n // 2
    assert sim.stats.duplicates == n // 2


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_server_serves_64_raw_keep_alive_connections() -> None:
    """64 keep-alive connections, 20 requests each, all answered 200 and all processed.

    Raw sockets, not httpx, so the server is driven as hard as it can be. Its speed is not
    asserted here (a timed assertion flakes on a busy machine); benchmarks measure speed.
    """
    sim = Simulator()
    conc, per_conn = 64, 20
    body = b'{"destination": "+39", "sender": "S", "body": "b"}'
    request = (
        b"POST /api/message-server/sms/send HTTP/1.1\r\nHost: x\r\nX-Api-Key: test-key\r\n"
        b"Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
    )

    async def connection(port: int) -> None:
        async with await anyio.connect_tcp("127.0.0.1", port) as stream:
            buffered = anyio.streams.buffered.BufferedByteReceiveStream(stream)
            for _ in range(per_conn):
                await stream.send(request)
                head = await buffered.receive_until(b"\r\n\r\n", 65536)
                assert head.startswith(b"HTTP/1.1 200")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                await buffered.receive_exactly(length)

    with SimulatorServer(sim) as server:
        async with anyio.create_task_group() as tg:
            for _ in range(conc):
                tg.start_soon(connection, server.port)
    assert sim.stats.processed == conc * per_conn
    assert sim.stats.arrivals == conc * per_conn


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_reset_closes_without_response_and_processes_nothing() -> None:
    """A reset is a transport error for the client; nothing is processed."""
    sim = Simulator(faults=Faults(reset=1.0))
    async with serve(sim) as url, httpx.AsyncClient(base_url=url, headers=KEY) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.post("/message-server/sms/send", json=SMS)
    assert sim.processed == []
    assert sim.stats.faults["reset"] == 1
    assert sim.stats.arrivals == 1


@pytest.mark.anyio
async def test_drop_processes_then_closes() -> None:
    """A drop records the message as processed, then the client gets no response (asyncio and
    trio clients alike: the server has its own thread)."""
    sim = Simulator(faults=Faults(drop=1.0))
    async with serve(sim) as url, httpx.AsyncClient(base_url=url, headers=KEY) as client:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await client.post("/message-server/sms/send", json={**SMS, "messageId": "d1"})
        # The retry with the same id is answered from the de-duplication store.
        sim.faults.drop = 0.0
        r = await client.post("/message-server/sms/send", json={**SMS, "messageId": "d1"})
    assert r.status_code == 200
    assert [p.message_id for p in sim.processed] == ["d1"]
    assert sim.stats.duplicates == 1


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_slow_response_times_out_the_client() -> None:
    """A slow response outlasts a short client timeout; the message was processed, and the
    held-back response was cancelled rather than waited for."""
    sim = Simulator(faults=Faults(slow=1.0, slow_seconds=30.0))
    app = Recorder(sim)
    async with (
        serve(app) as url,
        httpx.AsyncClient(base_url=url, headers=KEY, timeout=0.2) as client,
    ):
        with pytest.raises(httpx.ReadTimeout):
            await client.post("/message-server/sms/send", json=SMS)
    assert app.outcomes == ["cancelled"]
    assert not app.server_thread.is_alive()
    assert len(sim.processed) == 1
    assert sim.stats.faults["slow"] == 1


def test_stop_cancels_an_in_flight_slow_response() -> None:
    """Stopping cancels a request still being held back (its client still connected), closes
    its connection without a response and ends the server thread."""
    sim = Simulator(faults=Faults(slow=1.0, slow_seconds=30.0))
    app = Recorder(sim)
    server = SimulatorServer(app)
    server.start()
    try:
        with (
            socket.create_connection(("127.0.0.1", server.port)) as sock,
            sock.makefile("rb") as stream,
        ):
            sock.sendall(CREDIT)
            app.entered.wait()
            server.stop()
            assert app.outcomes == ["cancelled"]
            assert not app.server_thread.is_alive()
            assert stream.read() == b""  # closed, nothing answered
    finally:
        server.stop()
    assert sim.stats.faults["slow"] == 1


def test_outage_flips_at_runtime() -> None:
    """The outage switch works while the server runs, from another thread."""
    sim = Simulator()
    with run_in_thread(sim) as url, httpx.Client(base_url=url, headers=KEY) as client:
        assert client.get("/services/sms/credit").status_code == 200
        sim.set_outage(True)
        assert client.get("/services/sms/credit").status_code == 503
        sim.set_outage(False)
        assert client.get("/services/sms/credit").status_code == 200


def test_rate_limit_over_http_records_arrivals() -> None:
    """Over HTTP the limiter answers 429 with Retry-After, and the arrival log shows it."""
    clock = ManualClock(100.0)
    sim = Simulator(RateLimit((3, 60.0)), clock=clock)
    responses = []
    with run_in_thread(sim) as url, httpx.Client(base_url=url, headers=KEY) as client:
        for _ in range(6):
            # Requests go one at a time, so each arrives after the step before it.
            responses.append(client.get("/services/sms/credit"))
            clock.advance(0.5)
    assert [r.status_code for r in responses] == [200, 200, 200, 429, 429, 429]
    # Arrivals at 100.0 .. 102.5; the first admission leaves the 60 s window at 160.
    assert responses[-1].headers["retry-after"] == "58"
    assert [a.time for a in sim.arrivals] == [100.0, 100.5, 101.0, 101.5, 102.0, 102.5]
    report = sim.arrival_report()
    assert (report.requests, report.rate_limited, report.admitted) == (6, 3, 3)
    assert (report.first_admitted, report.last_admitted) == (100.0, 101.0)
    assert report.span == 1.0


def test_malformed_http_gets_400() -> None:
    """A request h11 cannot parse gets a 400 and the connection closes."""
    sim = Simulator()
    with (
        SimulatorServer(sim) as server,
        socket.create_connection(("127.0.0.1", server.port)) as sock,
        sock.makefile("rb") as stream,
    ):
        sock.sendall(b"NOT HTTP AT ALL\r\n\r\n")
        data = stream.read()  # to EOF: the server closes after answering
    assert data.startswith(b"HTTP/1.1 400")
    assert data.endswith(b"\r\n\r\nBad Request")
    assert sim.stats.arrivals == 0
