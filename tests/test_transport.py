"""The one request path: retry schedule, same bytes on every attempt, error mapping, 429 cooldown."""

from __future__ import annotations

import email.utils
import json

import anyio
import httpx
import pytest

from qlara_async import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    RequestStats,
    RetryPolicy,
    SmsMessage,
    UnprocessableEntityError,
)

from ._fakes import SMS_OK, make_client

pytestmark = pytest.mark.anyio

MESSAGE = SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")


def _sequence(*responses: httpx.Response | Exception):
    """A handler answering each request with the next item, recording the requests."""
    seen: list[httpx.Request] = []
    items = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = items.pop(0) if len(items) > 1 else items[0]
        if isinstance(item, Exception):
            raise item
        return item

    return handler, seen


async def test_retry_schedule_on_5xx() -> None:
    """503 every time: five attempts, waits of 1, 2, 4, 8 s plus the drawn jitter, then the error."""
    handler, seen = _sequence(httpx.Response(503, json={"status": 503, "message": "down"}))
    client, limiter, clock = make_client(handler)
    async with client:
        with pytest.raises(InternalServerError) as info:
            await client.send(MESSAGE)
    assert len(seen) == 5
    assert clock.sleeps == [1.25, 2.25, 4.25, 8.25]  # random() = 0.5 -> 250 ms of jitter
    assert info.value.attempts == 5
    assert info.value.status_code == 503
    assert "down" in str(info.value)


async def test_every_attempt_sends_the_same_bytes_and_message_id() -> None:
    """Retries re-send the identical body, so the messageId never changes."""
    handler, seen = _sequence(
        httpx.Response(500), httpx.Response(502), httpx.Response(200, json=SMS_OK)
    )
    client, _, _ = make_client(handler)
    async with client:
        result = await client.send(MESSAGE)
    assert result.accepted
    bodies = {r.content for r in seen}
    assert len(seen) == 3 and len(bodies) == 1
    message_id = json.loads(seen[0].content)["messageId"]
    assert len(message_id) == 36
    assert MESSAGE.message_id is None  # the caller's message was not changed


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(400, BadRequestError, id="400"),
        pytest.param(401, AuthenticationError, id="401"),
        pytest.param(403, PermissionDeniedError, id="403"),
        pytest.param(404, NotFoundError, id="404"),
        pytest.param(409, ConflictError, id="409"),
        pytest.param(422, UnprocessableEntityError, id="422"),
        pytest.param(418, APIStatusError, id="418-unmapped"),
    ],
)
async def test_final_4xx_is_one_attempt(status: int, error: type[APIStatusError]) -> None:
    """A refusal of the request is raised after exactly one attempt, as its own class."""
    handler, seen = _sequence(
        httpx.Response(
            status, json={"status": status, "message": "no"}, headers={"X-Request-Id": "r-9"}
        )
    )
    client, _, clock = make_client(handler)
    async with client:
        with pytest.raises(error) as info:
            await client.send(MESSAGE)
    assert type(info.value) is error
    assert len(seen) == 1 and clock.sleeps == []
    assert info.value.status_code == status
    assert info.value.request_id == "r-9"
    assert "r-9" in str(info.value)


async def test_jsend_field_errors() -> None:
    """A JSend fail body becomes BadRequestError.field_errors and names the field in the message."""
    body = {"status": "fail", "data": {"destination": "'destination' can't be blank"}}
    handler, _ = _sequence(httpx.Response(400, json=body))
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(BadRequestError) as info:
            await client.send(MESSAGE)
    assert info.value.field_errors == {"destination": "'destination' can't be blank"}
    assert "destination" in str(info.value)
    assert info.value.body == body


async def test_platform_error_body_message() -> None:
    """The platform error format's message reaches the exception text; no field errors."""
    body = {
        "status": 400,
        "error": "Bad Request",
        "message": "The 'destination' field is required.",
        "timestamp": "2026-04-09T12:00:00Z",
        "path": "/api/message-server/sms/send",
    }
    handler, _ = _sequence(httpx.Response(400, json=body))
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(BadRequestError) as info:
            await client.send(MESSAGE)
    assert "The 'destination' field is required." in str(info.value)
    assert info.value.field_errors == {}


async def test_429_pauses_the_client_for_retry_after_then_retries_first() -> None:
    """A 429 pauses every task for Retry-After and its retry asks to go first."""
    handler, seen = _sequence(
        httpx.Response(429, headers={"Retry-After": "7"}, json={"retryAfter": 7}),
        httpx.Response(200, json=SMS_OK),
    )
    client, limiter, clock = make_client(handler)
    async with client:
        result = await client.send(MESSAGE)
    assert result.accepted
    assert limiter.pauses == [7.0]
    assert limiter.acquired == [False, True]
    assert clock.sleeps == [7.0]  # the pause, waited inside acquire(); no extra backoff
    assert len(seen) == 2


async def test_429_http_date_and_body_fallbacks() -> None:
    """Retry-After as an HTTP date, then only a body retryAfter, then nothing (backoff)."""
    clock_start = 0.0
    date = email.utils.formatdate(1_700_000_000.0 + clock_start + 20, usegmt=True)
    handler, _ = _sequence(
        httpx.Response(429, headers={"Retry-After": date}),
        httpx.Response(429, json={"status": 429, "retryAfter": 3}),
        httpx.Response(429),
        httpx.Response(200, json=SMS_OK),
    )
    client, limiter, _ = make_client(handler)
    async with client:
        await client.send(MESSAGE)
    assert limiter.pauses[0] == pytest.approx(20, abs=1)
    assert limiter.pauses[1] == 3.0
    assert limiter.pauses[2] == 4.25  # third retry's backoff: 4 s + 250 ms jitter


async def test_429_retry_after_beyond_cap_raises_at_once() -> None:
    """A Retry-After longer than the cap raises RateLimitError instead of stalling."""
    handler, seen = _sequence(httpx.Response(429, headers={"Retry-After": "3600"}))
    client, _, clock = make_client(handler, retry_policy=RetryPolicy(max_retry_after=300))
    async with client:
        with pytest.raises(RateLimitError) as info:
            await client.send(MESSAGE)
    assert info.value.retry_after == 3600
    assert len(seen) == 1 and clock.sleeps == []


async def test_429_exhausted_still_pauses_the_client() -> None:
    """Even the last 429 sets the cooldown, so other tasks do not hammer the server."""
    handler, seen = _sequence(httpx.Response(429, headers={"Retry-After": "2"}))
    client, limiter, _ = make_client(handler, max_retries=1)
    async with client:
        with pytest.raises(RateLimitError):
            await client.send(MESSAGE)
    assert len(seen) == 2
    assert limiter.pauses == [2.0, 2.0]


async def test_max_retries_zero_is_one_attempt() -> None:
    """max_retries=0 turns retries off."""
    handler, seen = _sequence(httpx.Response(503))
    client, _, _ = make_client(handler, max_retries=0)
    async with client:
        with pytest.raises(InternalServerError):
            await client.send(MESSAGE)
    assert len(seen) == 1


async def test_connect_error_is_retried_and_returns_the_permit() -> None:
    """A refused connection never reached the server: retried, its permit handed back unused."""
    handler, seen = _sequence(httpx.ConnectError("refused"), httpx.Response(200, json=SMS_OK))
    client, limiter, clock = make_client(handler)
    stats = RequestStats()
    async with client:
        from qlara_async.models import prepare_message

        await client._api.sender.send_prepared(prepare_message(MESSAGE), stats=stats)
    assert [r.sent for r in limiter.releases] == [False, True]
    assert stats.attempts == 2 and stats.ambiguous == 0
    assert stats.statuses == [None, 200]
    assert clock.sleeps == [1.25]
    assert len(seen) == 2


async def test_read_timeout_is_ambiguous_and_retried_under_the_same_id() -> None:
    """A read timeout may have been processed: retried with the same bytes, and counted."""
    handler, seen = _sequence(httpx.ReadTimeout("slow"), httpx.Response(200, json=SMS_OK))
    client, limiter, _ = make_client(handler)
    stats = RequestStats()
    async with client:
        from qlara_async.models import prepare_message

        await client._api.sender.send_prepared(prepare_message(MESSAGE), stats=stats)
    assert stats.ambiguous == 1
    assert seen[0].content == seen[1].content
    assert limiter.releases[0].status is None and limiter.releases[0].sent


async def test_ambiguous_not_retried_when_the_policy_says_so() -> None:
    """With retry_ambiguous=False an ambiguous failure is raised, marked ambiguous."""
    handler, seen = _sequence(httpx.RemoteProtocolError("dropped"))
    client, _, _ = make_client(handler, retry_policy=RetryPolicy(retry_ambiguous=False))
    async with client:
        with pytest.raises(APIConnectionError) as info:
            await client.send(MESSAGE)
    assert info.value.ambiguous
    assert "may have been processed" in str(info.value)
    assert len(seen) == 1


async def test_timeouts_exhausted_raise_api_timeout_error() -> None:
    """When every attempt times out, the last error is an APITimeoutError."""
    handler, seen = _sequence(httpx.ReadTimeout("slow"))
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(APITimeoutError) as info:
            await client.send(MESSAGE)
    assert len(seen) == 5 and info.value.attempts == 5


async def test_non_idempotent_call_not_retried_on_5xx_or_ambiguity() -> None:
    """A create (POST): a 5xx or an ambiguous failure is final; a refused connection is not."""
    handler, seen = _sequence(httpx.Response(503))
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(InternalServerError):
            await client._api.post("/x", body={}, cast=dict)
    assert len(seen) == 1

    handler, seen = _sequence(httpx.ReadError("gone"))
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(APIConnectionError):
            await client._api.post("/x", body={}, cast=dict)
    assert len(seen) == 1

    handler, seen = _sequence(httpx.ConnectError("refused"), httpx.Response(201, json={"id": 1}))
    client, _, _ = make_client(handler)
    async with client:
        assert await client._api.post("/x", body={}, cast=dict) == {"id": 1}
    assert len(seen) == 2


async def test_write_error_is_not_ambiguous() -> None:
    """A request that was never fully written cannot have been processed."""
    handler, _ = _sequence(httpx.WriteError("broken pipe"))
    client, _, _ = make_client(handler, max_retries=0)
    async with client:
        with pytest.raises(APIConnectionError) as info:
            await client.send(MESSAGE)
    assert not info.value.ambiguous


async def test_invalid_success_body() -> None:
    """A 200 whose body is not JSON raises APIResponseValidationError."""
    handler, _ = _sequence(httpx.Response(200, content=b"<html>"))
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(APIResponseValidationError):
            await client.send(MESSAGE)


async def test_empty_body_and_204_give_none() -> None:
    """A 204 (delete) returns None."""
    handler, _ = _sequence(httpx.Response(204))
    client, _, _ = make_client(handler)
    async with client:
        assert await client._api.delete("/thing/1") is None


async def test_query_params_spelled_as_the_api_wants() -> None:
    """Booleans become true/false, lists comma-joined, None dropped."""
    handler, seen = _sequence(httpx.Response(200, json={}))
    client, _, _ = make_client(handler)
    async with client:
        await client._api.get("/x", params={"a": True, "b": [1, 2], "c": None, "d": 3}, cast=dict)
    assert seen[0].url.params == httpx.QueryParams({"a": "true", "b": "1,2", "d": "3"})


async def test_text_error_body() -> None:
    """A non-JSON error body is kept as text and shown (truncated) in the message."""
    handler, _ = _sequence(httpx.Response(502, text="Bad gateway from upstream"))
    client, _, _ = make_client(handler, max_retries=0)
    async with client:
        with pytest.raises(InternalServerError) as info:
            await client.send(MESSAGE)
    assert info.value.body == "Bad gateway from upstream"
    assert "Bad gateway" in str(info.value)


async def test_cancellation_in_flight_releases_the_permit() -> None:
    """A request cancelled while out is reported to the limiter as possibly arrived."""
    started = anyio.Event()

    async def handler(request: httpx.Request) -> httpx.Response:
        started.set()
        await anyio.sleep_forever()
        raise AssertionError  # pragma: no cover

    client, limiter, _ = make_client(handler)  # type: ignore[arg-type]
    async with client, anyio.create_task_group() as tg:
        tg.start_soon(client.send, MESSAGE)
        await started.wait()
        tg.cancel_scope.cancel()
    assert len(limiter.releases) == 1
    assert limiter.releases[0].status is None and limiter.releases[0].sent


async def test_listener_sees_request_retry_throttle_events() -> None:
    """RequestStats.listener is told of every attempt, retry and throttle."""
    handler, _ = _sequence(
        httpx.Response(429, headers={"Retry-After": "1"}),
        httpx.Response(500),
        httpx.Response(200, json=SMS_OK),
    )
    events: list[str] = []
    stats = RequestStats(listener=lambda event, s: events.append(event))
    client, _, _ = make_client(handler)
    async with client:
        from qlara_async.models import prepare_message

        await client._api.sender.send_prepared(prepare_message(MESSAGE), stats=stats)
    assert events == ["request", "throttle", "retry", "request", "retry", "request"]
    assert stats.throttles == 1 and stats.retries == 2


async def test_reference_429_example_body() -> None:
    """The reference's 429 body, verbatim and without a header: its retryAfter (12 s) is used."""
    body = {
        "status": 429,
        "error": "Too Many Requests",
        "message": "Rate limit exceeded. Please retry after 12 seconds.",
        "retryAfter": 12,
    }
    handler, _ = _sequence(httpx.Response(429, json=body))
    client, limiter, _ = make_client(handler, max_retries=0)
    async with client:
        with pytest.raises(RateLimitError) as info:
            await client.send(MESSAGE)
    assert info.value.retry_after == 12
    assert limiter.pauses == [12.0]
    assert "Please retry after 12 seconds" in str(info.value)
    assert info.value.body == body


async def test_429_over_the_cap_still_pauses_every_task() -> None:
    """Told to wait longer than the cap, the request gives up at once, but the client still keeps
    the server's cooldown for every other task."""
    handler, _ = _sequence(httpx.Response(429, headers={"Retry-After": "3600"}))
    client, limiter, _ = make_client(handler, retry_policy=RetryPolicy(max_retry_after=300))
    async with client:
        with pytest.raises(RateLimitError):
            await client.send(MESSAGE)
    assert limiter.pauses == [3600.0]


async def test_a_raising_listener_does_not_leak_the_permit() -> None:
    """A callback that raises after the permit was taken still releases it (as lost)."""
    handler, seen = _sequence(httpx.Response(200, json=SMS_OK))

    def listener(event: str, stats: RequestStats) -> None:
        raise RuntimeError("callback bug")

    client, limiter, _ = make_client(handler)
    async with client:
        from qlara_async.models import prepare_message

        with pytest.raises(RuntimeError):
            await client._api.sender.send_prepared(
                prepare_message(MESSAGE), stats=RequestStats(listener=listener)
            )
    assert len(limiter.releases) == 1 and limiter.releases[0].status is None
    assert seen == []
