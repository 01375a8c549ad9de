"""``qlara webhooks listen``'s engine: one line (or one JSON object) per event, the receiver under
uvicorn on loopback, the token enforced, no phone number or text in the one-line form."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable

import httpx
import msgspec
import pytest

from qlara_async.webhooks import parse_event
from qlara_async.webhooks._listen import format_event, listener_app, run_listener

from .test_webhooks_events import RCS_INBOUND, SMS_DELIVERY, WA_INBOUND_MEDIA, WA_READ

UNKNOWN = b'{"channel":"SMS","eventType":"CLICK","messageId":"m9"}'


def test_one_line_per_event_without_phone_numbers_or_text() -> None:
    lines = [
        format_event(parse_event(b))
        for b in (SMS_DELIVERY, WA_READ, RCS_INBOUND, WA_INBOUND_MEDIA, UNKNOWN)
    ]
    assert (
        lines[0]
        == "DELIVERY SMS      a1b2c3d4-e5f6-7890-abcd-ef1234567890 DELIVERED 2024-01-15T10:30:00Z"
    )
    assert (
        lines[1]
        == "READ     WHATSAPP 88116e2f-b8b4-40fe-b727-f453b6b99adc READ 2025-10-16T10:42:18Z"
    )
    assert lines[2] == "INBOUND  RCS      msg-id TEXT 2025-10-31T10:59:05.099000Z"
    assert lines[3] == "INBOUND  WHATSAPP - IMAGE mediaKey 2025-10-31T11:00:41.003000Z"
    assert lines[4] == "CLICK    SMS      m9 (unknown event)"
    joined = "\n".join(lines)
    assert "+39" not in joined and "User reply" not in joined


def test_json_lines_carry_the_whole_event() -> None:
    data = msgspec.json.decode(format_event(parse_event(RCS_INBOUND), json_lines=True))
    assert data["eventType"] == "INBOUND" and data["channel"] == "RCS"
    assert data["source"] == "+393471488489" and data["text"] == "User reply message"
    assert data["receivedDate"] == "2025-10-31T10:59:05.099000Z"
    unknown = msgspec.json.decode(format_event(parse_event(UNKNOWN), json_lines=True))
    assert unknown == msgspec.json.decode(UNKNOWN)


@pytest.mark.anyio
async def test_listener_app_prints_each_distinct_event_once() -> None:
    out = io.StringIO()
    app = listener_app(token="t", out=out)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://l") as http:
        for _ in range(2):
            assert (await http.post("/?token=t", content=SMS_DELIVERY)).status_code == 200
        assert (await http.post("/", content=SMS_DELIVERY)).status_code == 401
    assert out.getvalue().count("\n") == 1


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_listener_under_uvicorn() -> None:
    out = io.StringIO()
    port = _free_port()
    ready = threading.Event()
    stops: list[Callable[[], None]] = []

    def on_ready(stop: Callable[[], None]) -> None:
        stops.append(stop)
        ready.set()

    thread = threading.Thread(
        target=run_listener,
        args=(port, "tok"),
        kwargs={"json_lines": True, "out": out, "on_ready": on_ready},
        daemon=True,
    )
    thread.start()
    assert ready.wait(30), "uvicorn did not start"
    try:
        url = f"http://127.0.0.1:{port}/"
        with httpx.Client() as http:
            ok = http.post(url, params={"token": "tok"}, content=WA_READ)
            refused = http.post(url, params={"token": "nope"}, content=WA_READ)
            bad = http.post(url, params={"token": "tok"}, content=b"{")
    finally:
        stops[0]()
        thread.join(30)
    assert not thread.is_alive()
    assert (ok.status_code, refused.status_code, bad.status_code) == (200, 401, 400)
    [line] = out.getvalue().splitlines()
    assert msgspec.json.decode(line)["eventType"] == "READ"
