"""Shared by the benchmarks: machine facts, a fast loopback server on its own core, timing.

The server is a bare asyncio protocol that answers every request with the API's send response
(keep-alive, no parsing beyond the header end and Content-Length): tens of thousands of
requests a second on one core, so the client side is what a throughput table measures. It runs
in a subprocess pinned to core 0 with ``taskset``; the benchmark pins itself to core 1.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata

SEND_OK = (
    b'{"messageId":"m","simulation":false,"results":{"sms":'
    b'{"accepted":true,"unicode":false,"parts":1,"reasons":[]}}}'
)
_RESPONSE = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(SEND_OK)).encode()
    + b"\r\n\r\n"
    + SEND_OK
)


def machine() -> str:
    """One line: date, CPU, cores, Python and the HTTP stacks' versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    versions = []
    for name in ("httpx", "aiohttp", "httpx-aiohttp", "msgspec", "pydantic", "anyio"):
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        f"{now}; {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}"
        f" ({platform.system()}); " + ", ".join(versions)
    )


def pin_to(core: int) -> bool:
    """Pin this process to ``core`` when the machine has it (Linux only)."""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > core:
        os.sched_setaffinity(0, {core})
        return True
    return False


class _Http(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        while True:
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                break
            head = buffer[:end].lower()
            at = head.find(b"content-length:")
            length = (
                int(head[at + 15 : head.find(b"\r\n", at) if head.find(b"\r\n", at) > 0 else None])
                if at >= 0
                else 0
            )
            if len(buffer) < end + 4 + length:
                break
            buffer = buffer[end + 4 + length :]
            self.transport.write(_RESPONSE)  # type: ignore[attr-defined]
        self.buffer = buffer


async def _serve() -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(_Http, "127.0.0.1", 0, backlog=2048)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


class FastServer:
    """``with FastServer() as url:`` the server above in a subprocess on core 0."""

    def __enter__(self) -> str:
        cmd = [sys.executable, __file__, "--serve"]
        if shutil.which("taskset") and (os.cpu_count() or 1) > 1:
            cmd = ["taskset", "-c", "0", *cmd]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)
        assert self.proc.stdout is not None
        port = int(self.proc.stdout.readline())
        return f"http://127.0.0.1:{port}/api"

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait()


if __name__ == "__main__" and sys.argv[1:] == ["--serve"]:
    asyncio.run(_serve())
