"""``WebhookReceiver``: token, methods, sizes, malformed bodies, de-duplication, handler failures.

In process through httpx's ASGI transport, over real HTTP on loopback (the simulator's server
runs any ASGI app), and 10,000 generated malformed payloads straight into the ASGI callable.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import httpx
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qlara_async.testing import run_in_thread
from qlara_async.webhooks import DeliveryEvent, WebhookEvent, WebhookReceiver

from .test_webhooks_events import RCS_DELIVERY, SMS_DELIVERY, WA_INBOUND_MEDIA

TOKEN = "s3cret-token-value"


class Recorder:
    def __init__(self) -> None:
        self.events: list[WebhookEvent] = []

    async def __call__(self, event: WebhookEvent) -> None:
        self.events.append(event)


@asynccontextmanager
async def client_for(app: WebhookReceiver, mode: str) -> AsyncIterator[httpx.AsyncClient]:
    if mode == "asgi":
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app), base_url="http://hooks"
        ) as http:
            yield http
    else:
        with run_in_thread(app, base_path="") as url:
            async with httpx.AsyncClient(base_url=url) as http:
                yield http


MODES = pytest.mark.parametrize("mode", ["asgi", "http"])


@MODES
@pytest.mark.anyio
async def test_right_token_is_handled_once_and_duplicates_are_not(mode: str) -> None:
    seen = Recorder()
    app = WebhookReceiver(seen, token=TOKEN)
    async with client_for(app, mode) as http:
        first = await http.post("/hook", params={"token": TOKEN}, content=SMS_DELIVERY)
        again = await http.post("/hook", params={"token": TOKEN}, content=SMS_DELIVERY)
    assert first.status_code == 200 and first.json() == {"status": "ok"}
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert len(seen.events) == 1
    assert isinstance(seen.events[0], DeliveryEvent)
    assert app.stats.handled == 1 and app.stats.duplicates == 1


@MODES
@pytest.mark.anyio
async def test_wrong_or_missing_token_is_401_and_never_reaches_the_handler(mode: str) -> None:
    seen = Recorder()
    app = WebhookReceiver(seen, token=TOKEN)
    async with client_for(app, mode) as http:
        codes = [
            (await http.post("/hook", content=SMS_DELIVERY)).status_code,
            (await http.post("/hook", params={"token": "wrong"}, content=SMS_DELIVERY)).status_code,
            (await http.post("/hook", params={"token": ""}, content=SMS_DELIVERY)).status_code,
            (await http.post(f"/hook?token={TOKEN}&token=x", content=SMS_DELIVERY)).status_code,
            (await http.get("/hook")).status_code,
        ]
    assert codes == [401] * 5
    assert seen.events == []
    assert app.stats.unauthorized == 5


@MODES
@pytest.mark.anyio
async def test_malformed_405_and_413(mode: str) -> None:
    seen = Recorder()
    app = WebhookReceiver(seen, token=TOKEN)
    q = {"token": TOKEN}
    async with client_for(app, mode) as http:
        bad = await http.post("/hook", params=q, content=b"{not json")
        not_object = await http.post("/hook", params=q, content=b"[]")
        wrong_type = await http.post(
            "/hook",
            params=q,
            content=SMS_DELIVERY.replace(b'"statusCode": 3', b'"statusCode": "x"'),
        )
        get = await http.get("/hook", params=q)
        big = await http.post("/hook", params=q, content=b"x" * (2 * 1024 * 1024))
    assert bad.status_code == 400 and "not JSON" in bad.json()["error"]
    assert not_object.status_code == 400
    assert wrong_type.status_code == 400 and "statusCode" in wrong_type.json()["error"]
    assert get.status_code == 405 and get.headers["allow"] == "POST"
    assert big.status_code == 413
    assert seen.events == []


@pytest.mark.anyio
async def test_without_a_token_anything_is_accepted() -> None:
    seen = Recorder()
    app = WebhookReceiver(seen)
    async with client_for(app, "asgi") as http:
        r = await http.post("/", content=WA_INBOUND_MEDIA)
    assert r.status_code == 200 and len(seen.events) == 1


@pytest.mark.anyio
async def test_a_failing_handler_gets_a_retry_and_the_event_is_not_marked_seen(
    caplog: pytest.LogCaptureFixture,
) -> None:
    calls: list[WebhookEvent] = []

    def flaky(event: WebhookEvent) -> None:  # a plain function works too
        calls.append(event)
        if len(calls) == 1:
            raise RuntimeError("database down for +393401234567")

    app = WebhookReceiver(flaky, token=TOKEN)
    caplog.set_level(logging.DEBUG, logger="qlara_async.webhooks")
    async with client_for(app, "asgi") as http:
        first = await http.post("/h", params={"token": TOKEN}, content=RCS_DELIVERY)
        retry = await http.post("/h", params={"token": TOKEN}, content=RCS_DELIVERY)
        third = await http.post("/h", params={"token": TOKEN}, content=RCS_DELIVERY)
    assert first.status_code == 503
    assert retry.status_code == 200 and retry.json() == {"status": "ok"}
    assert third.json() == {"status": "duplicate"}
    assert len(calls) == 2
    assert app.stats.handler_errors == 1
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors and "RuntimeError" in errors[0].getMessage()
    info_and_up = " ".join(r.getMessage() for r in caplog.records if r.levelno >= logging.INFO)
    assert TOKEN not in caplog.text
    assert "+39340" not in info_and_up


@pytest.mark.anyio
async def test_concurrent_duplicates_reach_the_handler_once() -> None:
    release = anyio.Event()
    calls: list[WebhookEvent] = []
    entered = anyio.Event()

    async def slow(event: WebhookEvent) -> None:
        calls.append(event)
        entered.set()
        await release.wait()

    app = WebhookReceiver(slow, token=TOKEN)
    answers: list[int] = []
    async with client_for(app, "asgi") as http:

        async def post() -> None:
            r = await http.post("/h", params={"token": TOKEN}, content=SMS_DELIVERY)
            answers.append(r.status_code)

        async with anyio.create_task_group() as tg:
            tg.start_soon(post)
            await entered.wait()
            tg.start_soon(post)
            tg.start_soon(post)
            await anyio.wait_all_tasks_blocked()
            release.set()
    assert len(calls) == 1
    assert answers == [200, 200, 200]
    assert app.stats.duplicates == 2


@pytest.mark.anyio
async def test_concurrent_duplicate_after_a_failure_is_handled() -> None:
    """The first delivery fails while a second waits: the second runs the handler itself."""
    release = anyio.Event()
    entered = anyio.Event()
    calls: list[int] = []

    async def fail_first(event: WebhookEvent) -> None:
        calls.append(1)
        if len(calls) == 1:
            entered.set()
            await release.wait()
            raise ValueError("boom")

    app = WebhookReceiver(fail_first)
    answers: list[int] = []
    async with client_for(app, "asgi") as http:

        async def post() -> None:
            answers.append((await http.post("/h", content=SMS_DELIVERY)).status_code)

        async with anyio.create_task_group() as tg:
            tg.start_soon(post)
            await entered.wait()
            tg.start_soon(post)
            await anyio.wait_all_tasks_blocked()
            release.set()
    assert sorted(answers) == [200, 503]
    assert len(calls) == 2


@pytest.mark.anyio
async def test_the_window_is_bounded() -> None:
    seen = Recorder()
    app = WebhookReceiver(seen, window=2)
    bodies = [SMS_DELIVERY.replace(b'"a1b2', f'"{i}'.encode()) for i in range(3)]
    async with client_for(app, "asgi") as http:
        for body in [*bodies, bodies[0]]:
            assert (await http.post("/", content=body)).status_code == 200
    # The first event fell out of a window of two, so its redelivery is handed on again.
    assert len(seen.events) == 4


def test_repr_and_arguments_hide_the_token() -> None:
    app = WebhookReceiver(Recorder(), token=TOKEN)
    assert TOKEN not in repr(app) and "token" in repr(app)
    with pytest.raises(ValueError):
        WebhookReceiver(Recorder(), token="")
    with pytest.raises(TypeError):
        WebhookReceiver("not callable")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        WebhookReceiver(Recorder(), window=0)


@pytest.mark.anyio
async def test_lifespan_and_other_scopes() -> None:
    app = WebhookReceiver(Recorder())
    messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return next(messages)

    async def send(message: Any) -> None:
        sent.append(message)

    await app({"type": "lifespan"}, receive, send)
    await app({"type": "websocket"}, receive, send)
    assert [m["type"] for m in sent] == ["lifespan.startup.complete", "lifespan.shutdown.complete"]


@pytest.mark.anyio
async def test_a_body_without_content_length_is_counted_while_read() -> None:
    app = WebhookReceiver(Recorder())
    chunks = iter([b"x" * 600_000, b"x" * 600_000, b"never read"])
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": next(chunks), "more_body": True}

    async def send(message: Any) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": []}
    await app(scope, receive, send)
    assert sent[0]["status"] == 413
    assert next(chunks) == b"never read"


# --------------------------------------------------------------------- generated payloads

# Flat values are cheap to draw; hypothesis's per-example cost dominates otherwise, so each
# example is a batch of 100 payloads: 100 examples x 100 = 10,000 payloads in ~10 s.
_scalar = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.lists(st.integers(), max_size=2)
)
_FIELDS = (
    "messageId",
    "statusCode",
    "status",
    "timestamp",
    "eventDate",
    "receivedDate",
    "messageType",
    "numPart",
    "price",
    "mediaKey",
)
_near_events = st.fixed_dictionaries(
    {
        "channel": st.sampled_from(["SMS", "RCS", "WHATSAPP", "EMAIL", 3, None]),
        "eventType": st.sampled_from(["DELIVERY", "READ", "INBOUND", "CLICK", 1, None]),
    },
    optional={
        **dict.fromkeys(_FIELDS, _scalar),
        "timestamp": st.sampled_from(["2024-01-15T10:30:00Z", "nope", "2024-13-45T99:00:00Z"]),
    },
).map(msgspec.json.encode)
_truncated = st.tuples(_near_events, st.integers(0, 200)).map(lambda t: t[0][: t[1]])
MALFORMED = st.one_of(
    st.binary(max_size=300), _near_events, _truncated, _scalar.map(msgspec.json.encode)
)


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _call(loop: asyncio.AbstractEventLoop, app: WebhookReceiver, body: bytes) -> int:
    sent: list[Any] = []
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "query_string": f"token={TOKEN}".encode(),
        "headers": [],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    loop.run_until_complete(app(scope, receive, send))
    return int(sent[0]["status"])


_STATS = {"examples": 0, "statuses": set()}


@settings(max_examples=100, suppress_health_check=list(HealthCheck), database=None, deadline=None)
@given(bodies=st.lists(MALFORMED, min_size=100, max_size=100))
def test_10000_generated_payloads_never_get_a_5xx(
    loop: asyncio.AbstractEventLoop, bodies: list[bytes]
) -> None:
    for body in bodies:
        status = _call(loop, _APP, body)
        _STATS["examples"] += 1
        _STATS["statuses"].add(status)  # type: ignore[attr-defined]
        assert status in (200, 400), (status, body)


_APP = WebhookReceiver(lambda event: None, token=TOKEN)


def test_the_generated_run_saw_both_answers() -> None:
    # Runs after the property test in file order: it reached the handler and the 400 path.
    if _STATS["examples"]:
        assert _STATS["examples"] >= 10_000
        assert _STATS["statuses"] == {200, 400}


@settings(max_examples=150, suppress_health_check=list(HealthCheck), database=None, deadline=None)
@given(body=MALFORMED)
def test_a_sample_over_http_never_gets_a_5xx(
    http_hook: tuple[httpx.Client, str], body: bytes
) -> None:
    http, url = http_hook
    r = http.post(url, params={"token": TOKEN}, content=body)
    assert r.status_code in (200, 400), (r.status_code, body)


@pytest.fixture(scope="module")
def http_hook() -> Iterator[tuple[httpx.Client, str]]:
    app = WebhookReceiver(lambda event: None, token=TOKEN)
    with run_in_thread(app, base_path="") as url, httpx.Client() as http:
        yield http, url + "/hook"
