"""A raw HTTP/1.1 server on loopback for transport tests: real sockets, one thread per
connection, and a ``handle`` of each test's own that may misbehave in ways no real server
framework would (reset, hang, lie about lengths)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator


def read_requests(conn: socket.socket) -> Iterator[tuple[bytes, bytes]]:
    """Each request on a keep-alive connection, as its head (up to the blank line) and its
    body (``Content-Length`` bytes); ends when the client closes the connection."""
    data = b""
    while True:
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(data) < length:
            chunk = conn.recv(65536)
            if not chunk:
                return
            data += chunk
        yield head, data[:length]
        data = data[length:]


class LoopbackServer:
    """Accepts connections on 127.0.0.1 and runs ``handle(conn)`` for each in a thread of its
    own (the connection is closed after it returns); counts connections, and the most open
    at once. ``lock`` is a condition: a subclass changes its own counts under it and calls
    ``lock.notify_all()``, so a test can ``wait_until`` a state instead of polling."""

    def __init__(self, backlog: int = 512) -> None:
        self.connections = 0
        self.open = 0
        self.most_open = 0
        self.stop = threading.Event()
        self.lock = threading.Condition()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(backlog)
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def handle(self, conn: socket.socket) -> None:
        raise NotImplementedError

    def wait_until(self, condition: Callable[[], bool], timeout: float = 10.0) -> bool:
        """Block until ``condition()`` holds (read under the lock, woken by each change), or
        ``timeout`` passes: whether it holds. From async code: ``anyio.to_thread.run_sync``."""
        with self.lock:
            return self.lock.wait_for(condition, timeout)

    def close(self) -> None:
        self.stop.set()
        self.sock.close()

    def _accept(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self.lock:
                self.connections += 1
                self.open += 1
                self.most_open = max(self.most_open, self.open)
                self.lock.notify_all()
            threading.Thread(target=self._run, args=(conn,), daemon=True).start()

    def _run(self, conn: socket.socket) -> None:
        try:
            self.handle(conn)
        except OSError:
            pass
        finally:
            conn.close()
            with self.lock:
                self.open -= 1
                self.lock.notify_all()
