"""SMS models: Universal and Legacy requests encode to the documented wire shape."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from qlara_async.models import (
    LegacySmsMessage,
    LegacySmsRequest,
    SmsMessage,
    decode_credit,
    decode_legacy_sms_result,
    format_scheduled_date,
    prepare_legacy_sms,
    prepare_message,
)

BASE: dict[str, Any] = {"destination": "+393201234567", "sender": "MyBrand", "body": "Ciao"}


def test_unset_optionals_are_omitted():
    """Only the given fields and the generated messageId reach the wire."""
    body = json.loads(prepare_message(SmsMessage(**BASE)).content)
    assert set(body) == {"destination", "sender", "body", "messageId"}


def test_explicit_false_is_sent():
    """``False`` is not the default (``None``), so it is sent and overrides the API default."""
    body = json.loads(
        prepare_message(SmsMessage(**BASE, enable_notification=False, simulation=False)).content
    )
    assert body["enableNotification"] is False
    assert body["simulation"] is False


def test_every_field_is_camel_case_on_the_wire():
    """Each SmsMessage field encodes under the reference's name."""
    message = SmsMessage(
        **BASE,
        campaign_id="c",
        message_id="m",
        udh_data="0500",
        simulation=True,
        enable_notification=True,
        placeholders={"a": "b"},
        scheduled_date="2025-10-01 09:00:00.000+0000",
        skip_rcs_override=True,
    )
    assert json.loads(prepare_message(message).content) == {
        **BASE,
        "campaignId": "c",
        "messageId": "m",
        "udhData": "0500",
        "simulation": True,
        "enableNotification": True,
        "placeholders": {"a": "b"},
        "scheduledDate": "2025-10-01 09:00:00.000+0000",
        "skipRcsOverride": True,
    }


@pytest.mark.parametrize(
    ("when", "text"),
    [
        pytest.param(
            datetime(2024, 12, 20, 9, tzinfo=timezone(timedelta(hours=1))),
            "2024-12-20 09:00:00.000+0100",
            id="docs-example",
        ),
        pytest.param(
            datetime(2025, 1, 2, 3, 4, 5, 6000, tzinfo=timezone.utc),
            "2025-01-02 03:04:05.006+0000",
            id="utc-milliseconds-padded",
        ),
        pytest.param(
            datetime(
                2025, 6, 1, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=5, minutes=30))
            ),
            "2025-06-01 23:59:59.999+0530",
            id="microseconds-truncated",
        ),
    ],
)
def test_format_scheduled_date(when: datetime, text: str):
    """Aware datetimes format as ``yyyy-MM-dd HH:mm:ss.SSSZ``."""
    assert format_scheduled_date(when) == text


def test_legacy_request_full_encoding():
    """Every Legacy field encodes under the reference's name; a datetime becomes its string."""
    request = LegacySmsRequest(
        global_id="g-1",
        enable_concatenated=False,
        enable_unicode=False,
        enable_delivery=False,
        simulation=True,
        skip_rcs_override=True,
        messages=[
            LegacySmsMessage(
                destinations=["+393401234567"],
                ids=["id-1"],
                sender="12345",
                body="48656C6C6F",
                hex_body=True,
                udh_data="050003A40201",
                scheduling=datetime(2025, 10, 1, 9, tzinfo=timezone.utc),
            )
        ],
    )
    prepared = prepare_legacy_sms(request)
    assert json.loads(prepared.content) == {
        "globalId": "g-1",
        "enableConcatenated": False,
        "enableUnicode": False,
        "enableDelivery": False,
        "simulation": True,
        "skipRcsOverride": True,
        "messages": [
            {
                "destinations": ["+393401234567"],
                "ids": ["id-1"],
                "sender": "12345",
                "body": "48656C6C6F",
                "hexBody": True,
                "udhData": "050003A40201",
                "scheduling": "2025-10-01 09:00:00.000+0000",
            }
        ],
    }


def test_legacy_global_id_generated_once():
    """Without a globalId the request gets one UUID, in the body and the prepared result."""
    prepared = prepare_legacy_sms(
        LegacySmsRequest(messages=[{"destinations": ["+393401234567"], "sender": "A", "body": "x"}])
    )
    assert uuid.UUID(prepared.global_id)
    assert json.loads(prepared.content)["globalId"] == prepared.global_id
    assert prepared.request.global_id == prepared.global_id


def test_legacy_result_tolerates_missing_and_unknown_fields():
    """A Legacy answer with fewer or more fields than documented still decodes."""
    result = decode_legacy_sms_result(b'{"processedMessages": 3, "newField": [1]}')
    assert (result.global_id, result.processed_messages, result.processed_sms_parts) == (
        None,
        3,
        0,
    )
    assert result.credit is None


def test_credit_accepts_an_integer():
    """``{"credit": 150}`` decodes as the float 150.0."""
    assert decode_credit(b'{"credit": 150}').credit == 150.0


@pytest.mark.anyio
async def test_send_legacy_empty_answer_is_an_error():
    """A Legacy send answered with an empty body raises instead of returning None."""
    from qlara_async import AsyncQlara
    from qlara_async._transport import APIResponseValidationError

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"")

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with (
        http,
        AsyncQlara(
            api_key="k", base_url="https://api.test/api", http_client=http, rate_limit=None
        ) as client,
    ):
        with pytest.raises(APIResponseValidationError, match="empty response body"):
            await client.sms.send_legacy(
                messages=[{"destinations": ["+393401234567"], "sender": "A", "body": "x"}]
            )
