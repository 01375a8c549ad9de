"""``qlara webhooks listen`` as a user runs it: a real process on a loopback port that prints each
distinct callback as a line, refuses a URL without the token, and never prints the token."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys

import httpx
import pytest

from .test_webhooks_events import SMS_DELIVERY, WA_READ

pytestmark = [pytest.mark.e2e]

TOKEN = "listen-token-s3cr3t"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_listen_prints_each_distinct_event_once_and_hides_the_token() -> None:
    port = _free_port()
    env = {**os.environ, "QLARA_WEBHOOK_TOKEN": TOKEN, "NO_COLOR": "1", "COLUMNS": "200"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "qlara_async", "webhooks", "listen", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stderr is not None and proc.stdout is not None
        ready = proc.stderr.readline()  # printed once the socket listens
        assert "listening for callbacks" in ready and TOKEN not in ready
        url = f"http://127.0.0.1:{port}/"
        with httpx.Client(timeout=10) as http:
            assert http.post(url, content=SMS_DELIVERY).status_code == 401
            assert (
                http.post(url, params={"token": "wrong"}, content=SMS_DELIVERY).status_code == 401
            )
            for body in (SMS_DELIVERY, SMS_DELIVERY, WA_READ):  # the second is a duplicate
                assert http.post(url, params={"token": TOKEN}, content=body).status_code == 200
            assert http.post(url, params={"token": TOKEN}, content=b"{nope").status_code == 400
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    lines = out.splitlines()
    assert len(lines) == 2, out
    assert lines[0].startswith("DELIVERY SMS") and "DELIVERED" in lines[0]
    assert lines[1].startswith("READ     WHATSAPP")
    assert TOKEN not in out + err + ready
    assert "Traceback" not in err


def test_listen_refuses_a_port_out_of_range() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "qlara_async", "webhooks", "listen", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "--port" in done.stderr and "Traceback" not in done.stderr
