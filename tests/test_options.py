"""Per-call options (``with_options``), raw responses (``with_raw_response``), "not given"."""

from __future__ import annotations

import httpx
import pytest

from qlara_async import AsyncQlara, InternalServerError, RetryPolicy, SmsMessage, ValidationError

from ._fakes import SMS_OK, make_client

pytestmark = pytest.mark.anyio

MESSAGE = SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")


def test_max_retries_given_with_a_policy_is_a_contradiction() -> None:
    """``max_retries=4`` (equal to the default) with a policy of 1 used to pass silently."""
    with pytest.raises(ValidationError) as info:
        AsyncQlara(api_key="k", max_retries=4, retry_policy=RetryPolicy(max_retries=1))
    assert info.value.field == "max_retries"
    client = AsyncQlara(api_key="k", retry_policy=RetryPolicy(max_retries=1))
    assert client.retry_policy.max_retries == 1


async def test_with_options_changes_retries_for_that_view_only() -> None:
    """A view with ``max_retries=0`` makes one attempt; the client keeps five."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(503)

    client, _, _ = make_client(handler)
    async with client:
        fast = client.with_options(max_retries=0)
        with pytest.raises(InternalServerError):
            await fast.sms.send(destination="+393201234567", sender="MyBrand", body="Ciao")
        assert len(seen) == 1
        with pytest.raises(InternalServerError):
            await client.send(MESSAGE)
        assert len(seen) == 6
        assert fast.sms is not client.sms
        assert fast.limiter is client.limiter  # one budget


async def test_with_options_timeout_reaches_the_request() -> None:
    """The view's timeout is the one httpx gets for its requests."""
    timeouts: list[object] = []

    def handler(request: httpx.Request) -> httpx.Response:
        timeouts.append(request.extensions["timeout"])
        return httpx.Response(200, json=SMS_OK)

    client, _, _ = make_client(handler)
    async with client:
        await client.with_options(timeout=2.5).send(MESSAGE)
        await client.send(MESSAGE)
    assert timeouts[0] == httpx.Timeout(2.5, pool=None).as_dict()
    assert timeouts[1] == httpx.Timeout(30.0, pool=None).as_dict()


def test_with_options_checks_what_it_is_given() -> None:
    """Bad per-call options fail like bad client options."""
    client = AsyncQlara(api_key="k")
    with pytest.raises(ValidationError):
        client.with_options(timeout=-1)
    with pytest.raises(ValidationError):
        client.with_options(max_retries=-1)
    with pytest.raises(ValidationError):
        client.with_options(max_retries=1, retry_policy=RetryPolicy())


async def test_raw_response_gives_status_headers_and_request_id() -> None:
    """``with_raw_response`` returns the parsed result with the response it came from."""
    answers = iter(
        [
            httpx.Response(503),
            httpx.Response(200, json=SMS_OK, headers={"X-Request-Id": "rq-42", "X-Other": "1"}),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers)

    client, _, _ = make_client(handler)
    async with client:
        raw = await client.with_raw_response(
            client.sms.send, destination="+393201234567", sender="MyBrand", body="Ciao"
        )
    assert raw.status_code == 200 and raw.request_id == "rq-42"
    assert raw.headers["x-other"] == "1"
    assert raw.parsed.accepted
    assert raw.attempts == 2


async def test_raw_response_needs_a_request() -> None:
    """A method that makes no request is refused rather than answered with nothing."""
    client, _, _ = make_client(lambda r: httpx.Response(200, json=SMS_OK))

    async def nothing() -> int:
        return 1

    async with client:
        with pytest.raises(ValidationError):
            await client.with_raw_response(nothing)
