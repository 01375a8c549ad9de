"""Bad input gets a ``ValidationError`` naming the field, before any request leaves.

Each test pins a finding of the hardening review (issue 7); the number is in its docstring.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import httpx
import msgspec
import pytest

from qlara_async import (
    AsyncQlara,
    RateLimit,
    RcsMessage,
    RetryPolicy,
    SmsMessage,
    ValidationError,
    WhatsAppMessage,
    prepare_message,
)
from qlara_async._resource import path_param
from qlara_async.models import LegacySmsRequest, prepare_legacy_sms
from qlara_async.models._validation import SPECS

from ._fakes import SMS_OK, make_client

SURROGATE = "ciao \ud800"


@pytest.mark.parametrize(
    ("message", "field"),
    [
        pytest.param(
            SmsMessage(destination="+393201234567", sender="MyBrand", body=SURROGATE),
            "body",
            id="sms-body",
        ),
        pytest.param(
            SmsMessage(
                destination="+393201234567",
                sender="MyBrand",
                body="Ciao {n}",
                placeholders={"n": SURROGATE},
            ),
            "placeholders.n",
            id="placeholder-value",
        ),
        pytest.param(
            RcsMessage(
                destination="+393201234567",
                agent_id=1,
                body={"type": "TEXT", "body": {"text": SURROGATE}},
            ),
            "body.body.text",
            id="rcs-text",
        ),
        pytest.param(
            WhatsAppMessage(
                destination="+393201234567",
                phone_number_id=5,
                template={"id": 1},
                fallback_sms={"sender": "MyBrand", "text": SURROGATE},
            ),
            "fallbackSms.text",
            id="whatsapp-fallback",
        ),
    ],
)
def test_lone_surrogates_are_refused_naming_the_field(message: Any, field: str) -> None:
    """4. Text that is not valid Unicode fails validation, not the encoder (UnicodeEncodeError)."""
    with pytest.raises(ValidationError) as info:
        prepare_message(message)
    assert info.value.field == field


def test_lone_surrogate_in_a_legacy_request() -> None:
    """4. The Legacy request goes through the same encoder check."""
    request = LegacySmsRequest(
        messages=[{"destinations": ["+393201234567"], "sender": "MyBrand", "body": SURROGATE}]
    )
    with pytest.raises(ValidationError) as info:
        prepare_legacy_sms(request)
    assert info.value.field == "messages[0].body"


@pytest.mark.parametrize("bad_type", [["TEXT"], {"t": 1}, 3], ids=["list", "dict", "int"])
def test_fallback_rcs_type_of_the_wrong_kind(bad_type: object) -> None:
    """5. ``fallback_rcs={"type": ["TEXT"], ...}`` raised TypeError (unhashable)."""
    message = WhatsAppMessage(
        destination="+393201234567",
        phone_number_id=5,
        template={"id": 1},
        fallback_rcs={"agentId": 1, "type": bad_type, "body": {"text": "x"}},
        fallback_sms={"sender": "MyBrand", "text": "x"},
    )
    with pytest.raises(ValidationError) as info:
        prepare_message(message)
    assert info.value.field == "fallbackRcs.type"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"jitter": math.inf}, "jitter", id="jitter-inf"),
        pytest.param({"backoff_base": math.inf}, "backoff_base", id="base-inf"),
        pytest.param({"backoff_max": math.nan}, "backoff_max", id="max-nan"),
        pytest.param({"max_retries": "3"}, "max_retries", id="retries-str"),
        pytest.param({"max_retries": 10**9}, "max_retries", id="retries-huge"),
        pytest.param({"max_retries": True}, "max_retries", id="retries-bool"),
        pytest.param({"retry_ambiguous": "no"}, "retry_ambiguous", id="ambiguous-str"),
    ],
)
def test_retry_policy_refuses_values_that_hang_or_crash(kwargs: Any, field: str) -> None:
    """6. An infinite jitter or base would sleep forever on the first 5xx."""
    with pytest.raises(ValidationError) as info:
        RetryPolicy(**kwargs)
    assert info.value.field == field


def test_max_retry_after_may_be_infinite() -> None:
    """6. ``max_retry_after=inf`` means "wait out any Retry-After" (a bulk job uses it)."""
    assert RetryPolicy(max_retry_after=math.inf).max_retry_after == math.inf


@pytest.mark.parametrize(
    "windows",
    [
        pytest.param(((10**400, 1),), id="huge-limit"),
        pytest.param(((1, None),), id="none-period"),
        pytest.param(((1, "1"),), id="str-period"),
        pytest.param(((1, 10**400),), id="huge-period"),
        pytest.param(((1, 0.0),), id="zero-period"),
        pytest.param(((1.5, 1),), id="float-limit"),
        pytest.param((5,), id="not-a-pair"),
    ],
)
def test_rate_limit_refuses_windows_that_overflow(windows: Any) -> None:
    """6. ``RateLimit((10**400, 1))`` raised OverflowError; ``(1, None)`` a TypeError."""
    with pytest.raises(ValidationError):
        RateLimit(*windows)


@pytest.mark.parametrize(
    "timeout",
    [
        pytest.param(math.nan, id="nan"),
        pytest.param(0, id="zero"),
        pytest.param(-1, id="negative"),
        pytest.param("abc", id="str"),
        pytest.param(math.inf, id="inf"),
        pytest.param(httpx.Timeout(5.0, read=-1.0), id="httpx-negative-read"),
    ],
)
def test_timeout_is_checked_at_construction(timeout: Any) -> None:
    """6. ``timeout=nan``, ``0``, ``-1``, ``"abc"`` failed at send time, or retried for 16 s."""
    with pytest.raises(ValidationError) as info:
        AsyncQlara(api_key="k", timeout=timeout)
    assert info.value.field == "timeout"


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        pytest.param("sk-live-1\n", "whitespace", id="trailing-newline"),
        pytest.param(" sk-live-1", "whitespace", id="leading-space"),
        pytest.param("sk\x00live", "control", id="nul"),
        pytest.param("sk-lïve", "non-ASCII", id="non-ascii"),
        pytest.param(123, "string", id="int"),
        pytest.param(b"sk-live-1", "string", id="bytes"),
    ],
)
def test_api_keys_no_header_can_carry_are_refused(key: Any, reason: str) -> None:
    """10. A key with a newline was sent, refused by h11, retried five times and logged."""
    with pytest.raises(ValidationError, match=reason) as info:
        AsyncQlara(api_key=key)
    assert info.value.field == "api_key"
    if isinstance(key, str):
        assert key.strip() not in str(info.value)


def test_bad_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """10. The same check for ``QLARA_API_KEY``, without showing it."""
    monkeypatch.setenv("QLARA_API_KEY", "sk-env-1\n")
    with pytest.raises(ValidationError, match="QLARA_API_KEY") as info:
        AsyncQlara()
    assert "sk-env-1" not in str(info.value)


@pytest.mark.parametrize(
    ("url", "needle"),
    [
        pytest.param("https://user:hunter2@api.test/api", "credentials", id="userinfo"),
        pytest.param("https://api.test/api?x=1", "query", id="query"),
        pytest.param("https://api.test/api#frag", "fragment", id="fragment"),
        pytest.param("https://api.test/api?", "query", id="empty-query"),
    ],
)
def test_base_urls_that_misroute_or_leak_are_refused(url: str, needle: str) -> None:
    """11. A ``user:pass@`` base URL put the password in reprs and errors; a query or fragment
    swallowed every path appended to it."""
    with pytest.raises(ValidationError, match=needle) as info:
        AsyncQlara(api_key="k", base_url=url)
    assert "hunter2" not in str(info.value)
    assert info.value.field == "base_url"


@pytest.mark.parametrize(
    "value",
    ["", ".", "..", "a/../../services/sms/credit", "a//b", "./x", "x/.", 4.5, None, True],
)
def test_path_params_never_leave_their_endpoint(value: Any) -> None:
    """12. ``.`` and ``..`` segments (and empty ones) are refused."""
    with pytest.raises(ValidationError):
        path_param("mediaKey", value, safe="/")


def test_path_params_are_percent_encoded() -> None:
    """12. Everything else is percent-encoded; media keys keep their ``/``."""
    assert path_param("id", "a b?#%") == "a%20b%3F%23%25"
    assert path_param("id", "a/b") == "a%2Fb"
    assert path_param("mediaKey", "b394/efd4/39b4", safe="/") == "b394/efd4/39b4"
    assert path_param("id", 42) == "42"


@pytest.mark.anyio
async def test_resource_paths_refuse_dot_segments_before_any_request() -> None:
    """12. ``files.download_url("a/../../services/sms/credit")`` requested the credit endpoint."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=SMS_OK)

    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(ValidationError):
            await client.files.download_url("a/../../services/sms/credit")
        with pytest.raises(ValidationError):
            await client.whatsapp.phone_numbers.get("..")  # type: ignore[arg-type]
    assert seen == []


def test_an_unfilled_placeholder_is_refused_naming_it() -> None:
    """21. ``body="Ciao {name}"`` with ``placeholders={"nome": ...}`` sent "Ciao {name}"."""
    message = SmsMessage(
        destination="+393201234567",
        sender="MyBrand",
        body="Ciao {name}, codice {codice}",
        placeholders={"nome": "Marco", "codice": "X"},
    )
    with pytest.raises(ValidationError, match=r"\{name\}") as info:
        prepare_message(message)
    assert info.value.field == "body"
    assert "nome" in str(info.value)  # says what was given, to spot the typo


@pytest.mark.parametrize(
    ("body", "placeholders"),
    [
        pytest.param("Ciao {nome}", {"nome": "Marco"}, id="filled"),
        pytest.param("Vai su {shortLinkT1}", None, id="tracked-link"),
        pytest.param("JSON {} and { spaced } and {1abc}", None, id="not-placeholders"),
    ],
)
def test_filled_placeholders_and_tracked_links_pass(body: str, placeholders: Any) -> None:
    """21. Tracked links are the platform's to fill; braces that are not ``{name}`` pass."""
    prepare_message(
        SmsMessage(
            destination="+393201234567", sender="MyBrand", body=body, placeholders=placeholders
        )
    )


def test_every_validation_spec_covers_exactly_its_struct() -> None:
    """33. Was an import-time ``assert``, which ``python -O`` removes: a field without a check,
    or a check for a field that does not exist."""
    assert SPECS
    for spec in SPECS:
        fields = {f.name for f in msgspec.structs.fields(spec.cls)}
        assert spec.checked == fields, spec.cls.__name__


# --- the second hostile review -------------------------------------------------------------


def test_a_password_that_is_not_unicode_is_refused_without_showing_it() -> None:
    """R6. A lone surrogate in the password raised UnicodeEncodeError quoting user:password."""
    with pytest.raises(ValidationError) as info:
        AsyncQlara(username="bob", password="s3cret-pw\ud800")
    assert info.value.field == "password" and "s3cret" not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        pytest.param({"base_url": "https://xn--a.com/api"}, "base_url", id="bad-idna"),
        pytest.param({"base_url": "https://127.0.0.1:70000/api"}, "base_url", id="port"),
        pytest.param({"timeout": 10**400}, "timeout", id="timeout-huge-int"),
        pytest.param({"timeout": httpx.Timeout("5")}, "timeout", id="timeout-str-inside"),  # type: ignore[arg-type]
        pytest.param({"rate_limit": (10, 1.0)}, "rate_limit", id="rate-limit-tuple"),
        pytest.param({"rate_limit": "production"}, "rate_limit", id="rate-limit-str"),
        pytest.param({"default_headers": [("a", "b")]}, "default_headers", id="headers-list"),
        pytest.param({"default_headers": {"X-A": "café"}}, "default_headers", id="non-ascii"),
        pytest.param({"default_headers": {"X A": "b"}}, "default_headers", id="name-space"),
        pytest.param({"default_headers": {"X-A": "a\nb"}}, "default_headers", id="newline"),
        pytest.param({"http_client": "x"}, "http_client", id="http-client"),
        pytest.param({"clock": "x"}, "clock", id="clock"),
        pytest.param({"random": "x"}, "random", id="random"),
    ],
)
def test_constructor_options_are_checked_up_front(kwargs: dict[str, Any], field: str) -> None:
    """R7/R8. Each raised a raw TypeError, AttributeError, OverflowError or idna error, at
    construction or at the first call."""
    with pytest.raises(ValidationError) as info:
        AsyncQlara(api_key="k", **kwargs)
    assert info.value.field == field


@pytest.mark.anyio
async def test_inputs_httpx_cannot_carry_are_refused_before_any_request() -> None:
    """R9. A surrogate or a 70,000-character media key, a cyclic or 100k-deep template."""
    seen: list[httpx.Request] = []
    client, _, _ = make_client(lambda r: seen.append(r) or httpx.Response(200, json=SMS_OK))
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(100_000):
        node["a"] = {}
        node = node["a"]
    cyclic: dict[str, Any] = {"id": 1}
    cyclic["self"] = cyclic
    async with client:
        for call in (
            client.files.download_url("abc\ud800"),
            client.files.download_url("a" * 70_000),
        ):
            with pytest.raises(ValidationError):
                await call
        for template in (deep, cyclic):
            with pytest.raises(ValidationError):
                await client.whatsapp.send(
                    destination="+393201234567", phone_number_id=5, template=template
                )
    assert seen == []


@pytest.mark.parametrize(
    ("message", "field"),
    [
        pytest.param(
            WhatsAppMessage(
                destination="+393201234567", phone_number_id=5, body={"text": {"body": b"hi"}}
            ),
            "body.text.body",
            id="bytes-as-text",
        ),
        pytest.param(
            RcsMessage(
                destination="+393201234567",
                agent_id=1,
                body={"type": "TEXT", "body": {"text": datetime(2020, 1, 1)}},
            ),
            "body.body.text",
            id="datetime-as-text",
        ),
        pytest.param(
            RcsMessage(destination="+393201234567", agent_id=10**30, template_id=1),
            "agentId",
            id="huge-agent-id",
        ),
        pytest.param(
            WhatsAppMessage(destination="+393201234567", phone_number_id=5, template={"id": 2**64}),
            "template.id",
            id="huge-template-id",
        ),
    ],
)
def test_wrong_types_are_not_silently_converted(message: Any, field: str) -> None:
    """R10/R11. Bytes were sent as base64 text, a datetime as an ISO string, 10**30 as an id."""
    with pytest.raises(ValidationError) as info:
        prepare_message(message)
    assert info.value.field == field
