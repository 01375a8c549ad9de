"""SendResult decoding: both documented shapes, unknown and missing fields."""

from __future__ import annotations

import msgspec
import pytest

from qlara_async.models import RcsResult, SendResult, SmsResult, decode_send_result


def test_unknown_fields_are_ignored():
    """Fields the library does not know, at any level, do not break decoding."""
    r = decode_send_result(
        b'{"messageId": "m", "simulation": true, "extra": 1,'
        b' "results": {"sms": {"accepted": true, "cost": 0.1}, "email": {"accepted": true}}}'
    )
    assert r.simulation is True
    assert r.results.sms == SmsResult(accepted=True)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"messageId": "m"}', id="no-results"),
        pytest.param(b'{"messageId": "m", "results": null}', id="null-results"),
        pytest.param(b'{"status": "maintenance"}', id="maintenance-page"),
        pytest.param(b"{}", id="empty-object"),
    ],
)
def test_a_body_without_results_is_not_a_send_result(body: bytes) -> None:
    """A 200 without per-channel results is refused, not decoded as a message no channel took
    (which a bulk job would count, and journal, as rejected)."""
    with pytest.raises(msgspec.ValidationError):
        decode_send_result(body, message_id="sent-1")


def test_empty_channel_results_still_decode() -> None:
    """``"results": {}`` is a send result in which no channel accepted."""
    r = decode_send_result(b'{"messageId": "m", "results": {}}')
    assert (r.results.sms, r.results.rcs, r.results.whatsapp) == (None, None, None)
    assert r.simulation is False
    assert not r.accepted


def test_message_id_filled_in_from_the_request() -> None:
    """A response without ``messageId`` takes the id that was sent, never ``""``."""
    body = b'{"results": {"sms": {"accepted": true}}}'
    assert decode_send_result(body, message_id="sent-1").message_id == "sent-1"
    with pytest.raises(msgspec.ValidationError, match="messageId"):
        decode_send_result(body)


def test_quick_start_customer_message_id() -> None:
    """The quick start's ``customerMessageId`` is decoded next to the platform's id."""
    r = decode_send_result(
        b'{"messageId": "msg_1", "customerMessageId": "ref-9", "results":'
        b' [{"phoneNumber": "+39", "accepted": true, "channel": "sms", "statusCode": 200}]}'
    )
    assert (r.message_id, r.customer_message_id, r.accepted) == ("msg_1", "ref-9", True)
    only_customer = decode_send_result(b'{"customerMessageId": "ref-9", "results": []}')
    assert only_customer.message_id == "ref-9"


def test_rejected_with_reasons():
    """``accepted`` is False when no channel accepted; reasons keep the API's shape."""
    r = decode_send_result(
        b'{"messageId": "m", "results": {"rcs": {"accepted": false,'
        b' "reasons": ["NOT_RCS_CAPABLE", {"code": 7}]}, "sms": null}}'
    )
    assert not r.accepted
    assert r.results.rcs == RcsResult(accepted=False, reasons=["NOT_RCS_CAPABLE", {"code": 7}])


@pytest.mark.parametrize(
    ("entries", "sms", "rcs", "whatsapp"),
    [
        pytest.param(b"[]", None, None, None, id="empty"),
        pytest.param(
            b'[{"channel": "WHATSAPP", "accepted": false}, {"channel": "sms", "accepted": true}]',
            True,
            None,
            False,
            id="two-channels-any-case",
        ),
        pytest.param(
            b'[{"channel": "rcs", "accepted": false}, {"channel": "rcs", "accepted": true}]',
            None,
            True,
            None,
            id="one-channel-twice",
        ),
        pytest.param(b'[{"channel": "email", "accepted": true}]', None, None, None, id="unknown"),
    ],
)
def test_quick_start_array_mapping(
    entries: bytes, sms: bool | None, rcs: bool | None, whatsapp: bool | None
):
    """Array entries map onto per-channel results; a channel is accepted if any entry is."""
    r = decode_send_result(b'{"messageId": "m", "results": ' + entries + b"}")
    got = [
        None if c is None else c.accepted
        for c in (r.results.sms, r.results.rcs, r.results.whatsapp)
    ]
    assert got == [sms, rcs, whatsapp]
    assert r.accepted == any((sms, rcs, whatsapp))


def test_default_send_result():
    """A SendResult built by hand has empty results."""
    assert not SendResult(message_id="m").accepted
