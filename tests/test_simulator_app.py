"""The simulator's ASGI app in-process through httpx.ASGITransport (asyncio and trio)."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import msgspec
import pytest

from qlara_async._clock import ManualClock
from qlara_async._config import RateLimit
from qlara_async.testing import Faults, SimulatedDisconnect, Simulator
from qlara_async.testing._router import Router

pytestmark = pytest.mark.anyio

SMS = {"destination": "+393201234567", "sender": "MyBrand", "body": "Ciao"}
WALL = 1_700_000_000.0


def client_for(sim: Simulator, **headers: str) -> httpx.AsyncClient:
    """An httpx client wired to the simulator in-process."""
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(sim),
        base_url="http://sim/api",
        headers=headers or {"X-Api-Key": "test-key"},
    )


@pytest.fixture
def clock() -> ManualClock:
    """A clock at t=100 s (monotonic), Unix time WALL + 100."""
    return ManualClock(100.0, wall_offset=WALL)


@pytest.fixture
async def sim_client(clock: ManualClock) -> AsyncIterator[tuple[Simulator, httpx.AsyncClient]]:
    """An unlimited simulator and a client for it."""
    sim = Simulator(clock=clock)
    async with client_for(sim) as client:
        yield sim, client


# ----------------------------------------------------------------------------- auth


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Api-Key": "test-key"}, id="x-api-key"),
        pytest.param({"x-api-key": "test-key"}, id="lowercase"),
        pytest.param({"X-API-KEY": "test-key"}, id="uppercase"),
        pytest.param(
            {"Authorization": "Basic " + base64.b64encode(b"alice:s3cret").decode()}, id="basic"
        ),
    ],
)
async def test_auth_accepts_key_or_basic(headers: dict[str, str]) -> None:
    """The API key header is case-insensitive; Basic auth works with configured users."""
    sim = Simulator(users={"alice": "s3cret"})
    async with client_for(sim, **headers) as client:
        r = await client.get("/services/sms/credit")
    assert r.status_code == 200
    assert r.json() == {"credit": 150.5}


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"X-Other": "x"}, id="none"),
        pytest.param({"X-Api-Key": "wrong"}, id="wrong-key"),
        pytest.param(
            {"Authorization": "Basic " + base64.b64encode(b"alice:nope").decode()},
            id="wrong-password",
        ),
        pytest.param({"Authorization": "Basic !!!"}, id="garbage"),
        pytest.param({"Authorization": "Bearer abc"}, id="bearer"),
    ],
)
async def test_auth_refuses_with_platform_error(headers: dict[str, str]) -> None:
    """Bad or missing credentials get 401 with the platform error body."""
    sim = Simulator(users={"alice": "s3cret"})
    async with client_for(sim, **headers) as client:
        r = await client.post("/message-server/sms/send", json=SMS)
    assert r.status_code == 401
    body = r.json()
    assert set(body) == {"status", "error", "message", "timestamp", "path"}
    assert body["status"] == 401
    assert body["path"] == "/api/message-server/sms/send"
    assert r.headers["x-request-id"]
    assert sim.stats.unauthorized == 1
    assert sim.processed == []


# ----------------------------------------------------------------------------- sends


async def test_sms_send_reference_shape(sim_client: tuple[Simulator, httpx.AsyncClient]) -> None:
    """An SMS send answers in the reference shape and is logged as processed."""
    sim, client = sim_client
    r = await client.post("/message-server/sms/send", json={**SMS, "messageId": "m-1"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json;charset=UTF-8"
    assert r.json() == {
        "messageId": "m-1",
        "simulation": False,
        "results": {
            "sms": {"accepted": True, "unicode": False, "parts": 1, "reasons": []},
            "rcs": None,
            "whatsapp": None,
        },
    }
    [p] = sim.processed
    assert (p.message_id, p.channel, p.destination, p.key, p.time) == (
        "m-1",
        "sms",
        "+393201234567",
        "test-key",
        100.0,
    )
    assert sim.stats.processed == 1


async def test_sms_parts_and_unicode(sim_client: tuple[Simulator, httpx.AsyncClient]) -> None:
    """Placeholders are filled before counting; non-GSM text is unicode with 70/67 parts."""
    _, client = sim_client
    r = await client.post(
        "/message-server/sms/send",
        json={**SMS, "body": "{x}" * 2, "placeholders": {"x": "a" * 100}},
    )
    assert r.json()["results"]["sms"] == {
        "accepted": True,
        "unicode": False,
        "parts": 2,
        "reasons": [],
    }
    r = await client.post("/message-server/sms/send", json={**SMS, "body": "✓" * 71})
    assert r.json()["results"]["sms"]["unicode"] is True
    assert r.json()["results"]["sms"]["parts"] == 2


async def test_missing_message_id_gets_a_uuid(
    sim_client: tuple[Simulator, httpx.AsyncClient],
) -> None:
    """Without a messageId the simulator generates a UUID."""
    sim, client = sim_client
    r = await client.post("/message-server/sms/send", json=SMS)
    mid = r.json()["messageId"]
    assert len(mid) == 36
    assert sim.processed[0].message_id == mid


async def test_rcs_and_whatsapp_sends(sim_client: tuple[Simulator, httpx.AsyncClient]) -> None:
    """RCS and WhatsApp sends answer with their own channel result."""
    sim, client = sim_client
    rcs = {"destination": "+39320", "agentId": 10, "templateId": 42}
    r = await client.post("/message-server/rcs/send", json=rcs)
    assert r.status_code == 200
    assert r.json()["results"] == {
        "rcs": {"accepted": True, "reasons": []},
        "sms": None,
        "whatsapp": None,
    }
    wa = {
        "destination": "+39320",
        "phoneNumberId": 5,
        "body": {"text": {"body": "hi"}},
        "fallbackRcs": {"agentId": 10, "templateId": 99},
        "fallbackSms": {"sender": "Me", "text": "hi"},
    }
    r = await client.post("/message-server/whatsapp/send", json=wa)
    assert r.status_code == 200
    assert r.json()["results"]["whatsapp"]["accepted"] is True
    assert [p.channel for p in sim.processed] == ["rcs", "whatsapp"]


async def test_rejected_destination(clock: ManualClock) -> None:
    """A configured destination is answered accepted=false with the reasons."""
    sim = Simulator(rejected_destinations={"+39000": ["BLACKLISTED"]}, clock=clock)
    async with client_for(sim) as client:
        r = await client.post("/message-server/sms/send", json={**SMS, "destination": "+39000"})
    assert r.json()["results"]["sms"]["accepted"] is False
    assert r.json()["results"]["sms"]["reasons"] == ["BLACKLISTED"]
    assert sim.processed[0].accepted is False


async def test_simulation_is_not_processed(
    sim_client: tuple[Simulator, httpx.AsyncClient],
) -> None:
    """simulation=true validates and answers but processes nothing."""
    sim, client = sim_client
    r = await client.post(
        "/message-server/sms/send", json={**SMS, "simulation": True, "messageId": "x"}
    )
    assert r.json()["simulation"] is True
    assert sim.processed == []
    assert sim.stats.simulated == 1


async def test_legacy_send_and_credit(sim_client: tuple[Simulator, httpx.AsyncClient]) -> None:
    """Legacy sends process every destination; a repeated globalId is not processed again."""
    sim, client = sim_client
    body = {
        "globalId": "g-1",
        "messages": [
            {"destinations": ["+391", "+392"], "ids": ["a", "b"], "sender": "S", "body": "x" * 161}
        ],
    }
    r = await client.post("/services/sms/send", json=body)
    assert r.json() == {
        "globalId": "g-1",
        "processedMessages": 2,
        "processedSmsParts": 4,
        "credit": 150.5,
    }
    assert [(p.message_id, p.destination) for p in sim.processed] == [("a", "+391"), ("b", "+392")]
    r2 = await client.post("/services/sms/send", json=body)
    assert r2.json() == r.json()
    assert sim.stats.processed == 2
    assert sim.stats.duplicates == 1


async def test_phone_numbers_and_files(sim_client: tuple[Simulator, httpx.AsyncClient]) -> None:
    """Phone numbers list and detail (404 when unknown); media keys give a URL."""
    _, client = sim_client
    r = await client.get("/message-server/whatsapp/phone-numbers")
    assert r.json()["data"][0]["id"] == 5
    r = await client.get("/message-server/whatsapp/phone-numbers/5")
    assert r.json()["phoneNumber"] == "+393209998877"
    r = await client.get("/message-server/whatsapp/phone-numbers/6")
    assert r.status_code == 404
    assert r.json()["status"] == 404
    r = await client.get("/files/abc123", params={"expireMinutes": 10})
    assert r.json()["url"].startswith("https://media.qlara-simulator.invalid/abc123?expires=")


async def test_unknown_path_and_method(sim_client: tuple[Simulator, httpx.AsyncClient]) -> None:
    """Unknown paths are 404 and known paths with the wrong method 405."""
    _, client = sim_client
    assert (await client.get("/nope")).status_code == 404
    r = await client.get("/message-server/sms/send")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"


# ----------------------------------------------------------------------------- strict parsing


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param("/message-server/sms/send", {**SMS, "mesage": "x"}, "mesage", id="unknown"),
        pytest.param(
            "/message-server/sms/send",
            {"sender": "S", "body": "b"},
            "destination",
            id="missing-destination",
        ),
        pytest.param(
            "/message-server/sms/send", {**SMS, "simulation": "yes"}, "simulation", id="bad-type"
        ),
        pytest.param(
            "/message-server/whatsapp/send",
            {"destination": "+39", "phoneNumberId": 5, "template": {"id": 1, "mediaURL": "x"}},
            "template.mediaURL",
            id="nested-unknown",
        ),
        pytest.param(
            "/message-server/whatsapp/send",
            {"destination": "+39", "phoneNumberId": 5, "template": {}},
            "template.id",
            id="nested-missing",
        ),
        pytest.param(
            "/message-server/whatsapp/send",
            {
                "destination": "+39",
                "phoneNumberId": 5,
                "template": {"id": 1},
                "fallbackRcs": {"agentId": 1},
            },
            "fallbackSms",
            id="fallback-rcs-needs-sms",
        ),
        pytest.param(
            "/message-server/rcs/send",
            {"destination": "+39", "agentId": 1},
            "body",
            id="rcs-needs-body-or-template",
        ),
        pytest.param(
            "/services/sms/send",
            {"messages": [{"destinations": ["+39"], "sender": "S"}]},
            "messages[0].body",
            id="legacy-missing-body",
        ),
    ],
)
async def test_strict_parsing_answers_jsend(
    sim_client: tuple[Simulator, httpx.AsyncClient], path: str, body: dict[str, Any], field: str
) -> None:
    """Bad requests get 400 JSend naming the field, and nothing is processed."""
    sim, client = sim_client
    r = await client.post(path, json=body)
    assert r.status_code == 400
    payload = r.json()
    assert payload["status"] == "fail"
    assert field in payload["data"], payload
    assert sim.processed == []
    assert sim.stats.bad_requests == 1


WA_TEMPLATE = {"destination": "+39", "phoneNumberId": 5, "template": {"id": 1}}
FALLBACK_SMS = {"sender": "Me", "text": "hi"}


@pytest.mark.parametrize(
    ("fallback_rcs", "field"),
    [
        pytest.param({"agentId": 10}, "fallbackRcs.templateId", id="neither"),
        pytest.param(
            {"agentId": 10, "templateId": 9, "type": "TEXT", "body": {"text": "x"}},
            "fallbackRcs.templateId",
            id="both",
        ),
        pytest.param({"agentId": 10, "body": {"text": "x"}}, "fallbackRcs.type", id="body-no-type"),
        pytest.param(
            {"agentId": 10, "templateId": 9, "type": "TEXT"}, "fallbackRcs.type", id="type-no-body"
        ),
        pytest.param(
            {"agentId": 10, "type": "VIDEO", "body": {"text": "x"}},
            "fallbackRcs.type",
            id="unknown-type",
        ),
    ],
)
async def test_fallback_rcs_needs_template_or_typed_body(
    sim_client: tuple[Simulator, httpx.AsyncClient], fallback_rcs: dict[str, Any], field: str
) -> None:
    """fallbackRcs is agentId plus exactly one of templateId or type + body; anything else is a
    400 naming the field, and nothing is processed."""
    sim, client = sim_client
    body = {**WA_TEMPLATE, "fallbackRcs": fallback_rcs, "fallbackSms": FALLBACK_SMS}
    r = await client.post("/message-server/whatsapp/send", json=body)
    assert r.status_code == 400
    assert field in r.json()["data"], r.json()
    assert sim.processed == []


@pytest.mark.parametrize(
    "fallback_rcs",
    [
        pytest.param({"agentId": 10, "templateId": 9}, id="template"),
        pytest.param({"agentId": 10, "type": "TEXT", "body": {"text": "x"}}, id="typed-body"),
    ],
)
async def test_fallback_rcs_valid_forms(
    sim_client: tuple[Simulator, httpx.AsyncClient], fallback_rcs: dict[str, Any]
) -> None:
    """Both documented forms of fallbackRcs are accepted."""
    sim, client = sim_client
    body = {**WA_TEMPLATE, "fallbackRcs": fallback_rcs, "fallbackSms": FALLBACK_SMS}
    r = await client.post("/message-server/whatsapp/send", json=body)
    assert r.status_code == 200, r.json()
    assert len(sim.processed) == 1


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        pytest.param(
            "/message-server/sms/send",
            {**SMS, "scheduledDate": "2024-12-20T09:00:00+01:00"},
            "scheduledDate",
            id="sms-iso",
        ),
        pytest.param(
            "/message-server/rcs/send",
            {"destination": "+39", "agentId": 1, "templateId": 2, "scheduledDate": "tomorrow"},
            "scheduledDate",
            id="rcs-words",
        ),
        pytest.param(
            "/message-server/whatsapp/send",
            {**WA_TEMPLATE, "scheduledDate": "2024-12-20 09:00:00+0100"},
            "scheduledDate",
            id="whatsapp-no-millis",
        ),
        pytest.param(
            "/services/sms/send",
            {
                "messages": [
                    {"destinations": ["+39"], "sender": "S", "body": "b"},
                    {
                        "destinations": ["+39"],
                        "sender": "S",
                        "body": "b",
                        "scheduling": "2024-12-20 09:00:00.000",
                    },
                ]
            },
            "messages[1].scheduling",
            id="legacy-no-offset",
        ),
    ],
)
async def test_scheduled_dates_must_use_the_documented_format(
    sim_client: tuple[Simulator, httpx.AsyncClient], path: str, body: dict[str, Any], field: str
) -> None:
    """scheduledDate / scheduling must be ``yyyy-MM-dd HH:mm:ss.SSSZ``; another format is a 400
    naming the field, and nothing is processed."""
    sim, client = sim_client
    r = await client.post(path, json=body)
    assert r.status_code == 400
    assert field in r.json()["data"], r.json()
    assert sim.processed == []


async def test_scheduled_date_in_the_documented_format_is_accepted(
    sim_client: tuple[Simulator, httpx.AsyncClient],
) -> None:
    """The reference's own example date is accepted on the send APIs and the legacy API."""
    sim, client = sim_client
    when = "2024-12-20 09:00:00.000+0100"
    r = await client.post("/message-server/sms/send", json={**SMS, "scheduledDate": when})
    assert r.status_code == 200, r.json()
    legacy = {
        "messages": [{"destinations": ["+39"], "sender": "S", "body": "b", "scheduling": when}]
    }
    r = await client.post("/services/sms/send", json=legacy)
    assert r.status_code == 200, r.json()
    assert len(sim.processed) == 2


async def test_blank_field_message(sim_client: tuple[Simulator, httpx.AsyncClient]) -> None:
    """A blank required field reads like the platform's message."""
    _, client = sim_client
    r = await client.post("/message-server/sms/send", json={**SMS, "destination": ""})
    assert r.json() == {"status": "fail", "data": {"destination": "'destination' can't be blank"}}


async def test_malformed_json(sim_client: tuple[Simulator, httpx.AsyncClient]) -> None:
    """Malformed JSON is a platform 400."""
    _, client = sim_client
    r = await client.post("/message-server/sms/send", content=b"{nope")
    assert r.status_code == 400
    assert r.json()["error"] == "Bad Request"


# ----------------------------------------------------------------------------- de-duplication


async def test_duplicate_message_id_answers_original(
    sim_client: tuple[Simulator, httpx.AsyncClient],
) -> None:
    """A repeated messageId gets the original answer and is not processed again."""
    sim, client = sim_client
    first = await client.post("/message-server/sms/send", json={**SMS, "messageId": "dup"})
    again = await client.post(
        "/message-server/sms/send", json={**SMS, "messageId": "dup", "body": "changed"}
    )
    assert again.status_code == 200
    assert again.json() == first.json()
    assert len(sim.processed) == 1
    assert (sim.stats.processed, sim.stats.duplicates, sim.stats.arrivals) == (1, 1, 2)


async def test_dedupe_is_per_api_key(clock: ManualClock) -> None:
    """The same messageId under another API key is a different message."""
    sim = Simulator(api_keys=("k1", "k2"), clock=clock)
    for key in ("k1", "k2"):
        async with client_for(sim, **{"X-Api-Key": key}) as client:
            await client.post("/message-server/sms/send", json={**SMS, "messageId": "same"})
    assert [p.key for p in sim.processed] == ["k1", "k2"]


@pytest.mark.parametrize(
    ("path", "body", "channel"),
    [
        pytest.param(
            "/message-server/rcs/send",
            {"destination": "+39320", "agentId": 10, "templateId": 42, "messageId": "same"},
            "rcs",
            id="rcs",
        ),
        pytest.param(
            "/message-server/whatsapp/send",
            {
                "destination": "+39320",
                "phoneNumberId": 5,
                "template": {"id": 1},
                "messageId": "same",
            },
            "whatsapp",
            id="whatsapp",
        ),
        pytest.param(
            "/services/sms/send",
            {
                "globalId": "same",
                "messages": [{"destinations": ["+391"], "sender": "S", "body": "b"}],
            },
            "sms_legacy",
            id="legacy-global-id",
        ),
    ],
)
async def test_dedupe_is_per_endpoint(
    sim_client: tuple[Simulator, httpx.AsyncClient],
    path: str,
    body: dict[str, Any],
    channel: str,
) -> None:
    """An id an SMS send already used is a new message on another endpoint: processed on its own,
    not answered from the SMS's cache; a repeat on that endpoint is de-duplicated there."""
    sim, client = sim_client
    sms = await client.post("/message-server/sms/send", json={**SMS, "messageId": "same"})
    other = await client.post(path, json=body)
    assert other.status_code == 200
    assert other.json() != sms.json()
    assert [p.channel for p in sim.processed] == ["sms", channel]
    assert sim.stats.duplicates == 0
    again = await client.post(path, json=body)
    assert again.json() == other.json()
    assert (sim.stats.processed, sim.stats.duplicates) == (2, 1)


# ----------------------------------------------------------------------------- rate limiting


async def test_rate_limit_headers_and_429(clock: ManualClock) -> None:
    """Headers report the tightest window; a refusal is 429 with Retry-After and the body."""
    sim = Simulator(RateLimit((2, 1.0), (100, 60.0)), clock=clock)
    async with client_for(sim) as client:
        r1 = await client.get("/services/sms/credit")
        clock.advance(0.25)
        r2 = await client.get("/services/sms/credit")
        clock.advance(0.25)
        r3 = await client.post("/message-server/sms/send", json=SMS)
        clock.advance(0.5)
        r4 = await client.get("/services/sms/credit")
    assert r1.headers["x-ratelimit-limit"] == "2"
    assert r1.headers["x-ratelimit-remaining"] == "1"
    assert float(r1.headers["x-ratelimit-reset"]) == pytest.approx(WALL + 101.0)
    assert r2.headers["x-ratelimit-remaining"] == "0"
    assert r3.status_code == 429
    assert r3.headers["retry-after"] == "1"  # 0.5 s rounded up
    assert r3.headers["x-ratelimit-remaining"] == "0"
    body = r3.json()
    assert body["status"] == 429
    assert body["error"] == "Too Many Requests"
    assert body["message"] == "Rate limit exceeded. Please retry after 1 seconds."
    assert body["retryAfter"] == 1
    assert body["path"] == "/api/message-server/sms/send"
    assert "timestamp" in body
    assert r4.status_code == 200
    assert sim.processed == []
    assert sim.stats.rate_limited == 1
    report = sim.arrival_report()
    assert (report.requests, report.rate_limited, report.admitted) == (4, 1, 3)
    assert report.span == pytest.approx(1.0)


async def test_retry_after_rounds_up(clock: ManualClock) -> None:
    """Retry-After is whole seconds, rounded up from the model's wait."""
    sim = Simulator(RateLimit((1, 10.0)), clock=clock)
    async with client_for(sim) as client:
        await client.get("/services/sms/credit")
        clock.advance(2.5)
        r = await client.get("/services/sms/credit")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "8"
    assert r.json()["retryAfter"] == 8


async def test_rate_limit_headers_can_be_switched_off(clock: ManualClock) -> None:
    """rate_limit_headers=False omits them; no rate limit means no headers either."""
    for sim in (
        Simulator(RateLimit((5, 1.0)), rate_limit_headers=False, clock=clock),
        Simulator(None, clock=clock),
    ):
        async with client_for(sim) as client:
            r = await client.get("/services/sms/credit")
        assert r.status_code == 200
        assert "x-ratelimit-limit" not in r.headers
        assert "x-ratelimit-remaining" not in r.headers
        assert "x-ratelimit-reset" not in r.headers
        assert r.headers["x-request-id"]


async def test_rate_limit_is_per_api_key(clock: ManualClock) -> None:
    """Each API key has its own budget."""
    sim = Simulator(RateLimit((1, 1.0)), api_keys=("k1", "k2"), clock=clock)
    statuses = []
    for key in ("k1", "k2", "k1"):
        async with client_for(sim, **{"X-Api-Key": key}) as client:
            statuses.append((await client.get("/services/sms/credit")).status_code)
    assert statuses == [200, 200, 429]


async def test_storm_refuses_everything_until_it_ends(clock: ManualClock) -> None:
    """A storm answers 429 with Retry-After = its remaining time rounded up."""
    sim = Simulator(RateLimit((100, 1.0)), clock=clock)
    sim.storm(4.2)
    async with client_for(sim) as client:
        r = await client.get("/services/sms/credit")
        assert r.status_code == 429
        assert r.headers["retry-after"] == "5"
        assert r.headers["x-ratelimit-remaining"] == "0"
        clock.advance(4.2)
        assert (await client.get("/services/sms/credit")).status_code == 200


@pytest.mark.parametrize("model", ["fixed", "token_bucket", "single_bucket"])
async def test_other_models_plug_in(clock: ManualClock, model: str) -> None:
    """Each model can be selected and limits the key."""
    sim = Simulator(RateLimit((2, 1.0)), model=model, clock=clock)
    async with client_for(sim) as client:
        codes = [(await client.get("/services/sms/credit")).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


# ----------------------------------------------------------------------------- faults


async def test_outage_switch(sim_client: tuple[Simulator, httpx.AsyncClient]) -> None:
    """An outage answers 503 to everything until switched off."""
    sim, client = sim_client
    sim.set_outage(True)
    r = await client.post("/message-server/sms/send", json=SMS)
    assert r.status_code == 503
    assert r.json()["status"] == 503
    sim.set_outage(False)
    assert (await client.post("/message-server/sms/send", json=SMS)).status_code == 200
    assert sim.stats.faults["outage"] == 1
    assert len(sim.processed) == 1


async def test_outage_interval(clock: ManualClock) -> None:
    """outage_for() ends by itself."""
    sim = Simulator(clock=clock)
    sim.outage_for(2.0)
    async with client_for(sim) as client:
        assert (await client.get("/services/sms/credit")).status_code == 503
        clock.advance(2.0)
        assert (await client.get("/services/sms/credit")).status_code == 200


@pytest.mark.parametrize(("kind", "status"), [("status_503", 503), ("status_500", 500)])
async def test_status_faults(clock: ManualClock, kind: str, status: int) -> None:
    """5xx faults answer with the platform error body and process nothing."""
    sim = Simulator(faults=Faults(**{kind: 1.0}), clock=clock)
    async with client_for(sim) as client:
        r = await client.post("/message-server/sms/send", json=SMS)
    assert r.status_code == status
    assert r.json()["status"] == status
    assert sim.processed == []
    assert sim.stats.faults[kind] == 1


async def test_reset_in_process_raises_transport_error(clock: ManualClock) -> None:
    """In-process, a reset surfaces as httpx.RemoteProtocolError and processes nothing."""
    sim = Simulator(faults=Faults(reset=1.0), clock=clock)
    async with client_for(sim) as client:
        with pytest.raises(httpx.RemoteProtocolError) as info:
            await client.post("/message-server/sms/send", json=SMS)
    assert isinstance(info.value, SimulatedDisconnect)
    assert sim.processed == []
    assert sim.arrivals[0].status is None


async def test_drop_in_process_processes_then_raises(clock: ManualClock) -> None:
    """A drop processes the message, then no response arrives."""
    sim = Simulator(faults=Faults(drop=1.0), clock=clock)
    async with client_for(sim) as client:
        with pytest.raises(httpx.RemoteProtocolError):
            await client.post("/message-server/sms/send", json={**SMS, "messageId": "d"})
    assert [p.message_id for p in sim.processed] == ["d"]
    assert sim.stats.faults["drop"] == 1


def test_faults_are_seeded_and_reproducible() -> None:
    """The same seed and requests meet the same faults; runtime changes take effect."""

    def statuses(seed: int) -> list[int]:
        sim = Simulator(faults=Faults(status_503=0.3, status_500=0.2), seed=seed)
        return [
            sim.handle(
                "GET", "/api/services/sms/credit", headers=[("X-Api-Key", "test-key")]
            ).status
            for _ in range(50)
        ]

    assert statuses(7) == statuses(7)
    assert statuses(7) != statuses(8)
    assert {200, 500, 503} == set(statuses(7))

    sim = Simulator()
    sim.faults.status_500 = 1.0
    assert (
        sim.handle("GET", "/api/services/sms/credit", headers=[("x-api-key", "test-key")]).status
        == 500
    )


def test_faults_validate_probabilities() -> None:
    """Probabilities must be in [0, 1] and sum to at most 1."""
    with pytest.raises(ValueError, match="sum"):
        Faults(status_503=0.6, reset=0.6)
    with pytest.raises(ValueError, match=">= 0"):
        Faults(drop=-0.1)


def test_clear_forgets_history() -> None:
    """clear() empties logs, counters and the de-duplication store."""
    sim = Simulator()
    hdrs = [("X-Api-Key", "test-key")]
    body = b'{"destination": "+39", "sender": "S", "body": "b", "messageId": "m"}'
    sim.handle("POST", "/api/message-server/sms/send", headers=hdrs, body=body)
    sim.clear()
    assert (sim.processed, sim.arrivals, sim.stats.arrivals) == ([], [], 0)
    sim.handle("POST", "/api/message-server/sms/send", headers=hdrs, body=body)
    assert sim.stats.processed == 1


async def test_lifespan_is_acknowledged() -> None:
    """The app answers the ASGI lifespan protocol, so any ASGI server can host it."""
    sim = Simulator()
    incoming = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> MutableMapping[str, Any]:
        return next(incoming)

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    await sim({"type": "lifespan"}, receive, send)
    assert [m["type"] for m in sent] == [
        "lifespan.startup.complete",
        "lifespan.shutdown.complete",
    ]


def test_legacy_bad_hex_body_is_a_field_error() -> None:
    """hexBody with a body that is not hex is a 400 naming the body."""
    sim = Simulator()
    body = (
        b'{"messages": [{"destinations": ["+39"], "sender": "S", "body": "zz", "hexBody": true}]}'
    )
    r = sim.handle("POST", "/api/services/sms/send", headers=[("X-Api-Key", "test-key")], body=body)
    assert r.status == 400
    assert "messages[0].body" in r.json()["data"]
    assert r.header("x-request-id")


@pytest.mark.parametrize(
    "second",
    [
        pytest.param(
            {"destinations": ["+392"], "sender": "S", "body": "zz", "hexBody": True}, id="bad-hex"
        ),
        pytest.param({"destinations": ["+392"], "sender": "S"}, id="missing-body"),
        pytest.param(
            {"destinations": ["+392"], "ids": ["x", "y"], "sender": "S", "body": "b"},
            id="ids-length",
        ),
    ],
)
def test_legacy_send_is_all_or_nothing(second: dict[str, Any]) -> None:
    """A legacy send whose second message is invalid is a 400 that processes and remembers
    nothing: the valid first message is not recorded, and the globalId stays free."""
    sim = Simulator()
    hdrs = [("X-Api-Key", "test-key")]
    first = {"destinations": ["+391"], "sender": "S", "body": "b"}
    bad = msgspec.json.encode({"globalId": "g", "messages": [first, second]})
    r = sim.handle("POST", "/api/services/sms/send", headers=hdrs, body=bad)
    assert r.status == 400
    assert r.json()["status"] == "fail"
    assert (sim.processed, sim.stats.processed) == ([], 0)
    good = msgspec.json.encode({"globalId": "g", "messages": [first]})
    r = sim.handle("POST", "/api/services/sms/send", headers=hdrs, body=good)
    assert r.json()["processedMessages"] == 1
    assert [p.destination for p in sim.processed] == ["+391"]
    assert sim.stats.duplicates == 0


def test_router_prefers_literals_then_backtracks() -> None:
    """/contacts/list beats /contacts/{id}; a dead-end literal falls back to the pattern."""
    router = Router[str]()
    router.add("GET", "/contacts/{id}", "get")
    router.add("GET", "/contacts/list", "lists")
    router.add("GET", "/contacts/list/{id}", "list")
    router.add("GET", "/contacts/{id}/extra", "extra")
    assert router.match("GET", "/contacts/list").handler == "lists"
    assert router.match("GET", "/contacts/7").params == {"id": "7"}
    assert router.match("GET", "/contacts/list/3").handler == "list"
    m = router.match("GET", "/contacts/list/extra")
    assert (m.handler, m.params) == ("list", {"id": "extra"})
    assert router.match("GET", "/contacts/9/extra").params == {"id": "9"}
    assert router.match("POST", "/contacts/7").allowed == ("GET",)
    assert router.match("GET", "/nothing").handler is None
