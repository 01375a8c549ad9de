"""AsyncQlara: credentials, base URL rules, headers, lifecycle, and secrets kept out of sight."""

from __future__ import annotations

import base64
import logging
import pickle
import traceback

import httpx
import pytest

from qlara_async import (
    APIError,
    AsyncQlara,
    AuthenticationError,
    RateLimit,
    SmsMessage,
    ValidationError,
    __version__,
)
from qlara_async._limiter import LocalLimiter, NullLimiter

from ._fakes import SMS_OK, make_client

MESSAGE = SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")


def _capture() -> tuple[list[httpx.Request], httpx.AsyncClient]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=SMS_OK)

    return seen, httpx.AsyncClient(transport=httpx.MockTransport(handler))


@pytest.mark.anyio
async def test_api_key_header_and_user_agent() -> None:
    """The key goes in X-Api-Key; the User-Agent names the library and version."""
    seen, http = _capture()
    async with AsyncQlara(api_key="k-1", base_url="https://api.test/api", http_client=http) as c:
        await c.send(MESSAGE)
    request = seen[0]
    assert request.headers["x-api-key"] == "k-1"
    assert request.headers["user-agent"].startswith(f"qlara-async/{__version__} ")
    assert request.headers["content-type"] == "application/json"
    assert str(request.url) == "https://api.test/api/message-server/sms/send"


@pytest.mark.anyio
async def test_basic_auth() -> None:
    """username/password send HTTP Basic and no X-Api-Key."""
    seen, http = _capture()
    async with AsyncQlara(
        username="user", password="pw", base_url="https://api.test/api", http_client=http
    ) as c:
        await c.send(MESSAGE)
    expected = "Basic " + base64.b64encode(b"user:pw").decode()
    assert seen[0].headers["authorization"] == expected
    assert "x-api-key" not in seen[0].headers


def test_env_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    """QLARA_API_KEY and QLARA_BASE_URL are read when not passed."""
    monkeypatch.setenv("QLARA_API_KEY", "env-key")
    monkeypatch.setenv("QLARA_BASE_URL", "https://example.test/api/")
    client = AsyncQlara()
    assert client.base_url == "https://example.test/api"
    assert client.auth_method == "api_key"
    assert client._auth_value.get() == "env-key"


def test_default_base_url_and_production_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without options: the documented base URL and the Production plan's limiter."""
    monkeypatch.delenv("QLARA_BASE_URL", raising=False)
    client = AsyncQlara(api_key="k")
    assert client.base_url == "https://lora-api.agiletelecom.com/api"
    assert isinstance(client.limiter, LocalLimiter)
    assert client.rate_limit == RateLimit.PRODUCTION


def test_rate_limit_none_uses_the_null_limiter() -> None:
    """rate_limit=None turns client-side limiting off (the 429 cooldown stays)."""
    client = AsyncQlara(api_key="k", rate_limit=None)
    assert isinstance(client.limiter, NullLimiter)


def test_missing_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """No key anywhere is a ValidationError naming api_key, raised at construction."""
    monkeypatch.delenv("QLARA_API_KEY", raising=False)
    with pytest.raises(ValidationError) as info:
        AsyncQlara()
    assert info.value.field == "api_key"


def test_username_without_password(monkeypatch: pytest.MonkeyPatch) -> None:
    """Basic auth needs both halves."""
    monkeypatch.delenv("QLARA_API_KEY", raising=False)
    with pytest.raises(ValidationError) as info:
        AsyncQlara(username="user")
    assert info.value.field == "username"


def test_key_and_basic_together_refused() -> None:
    """Two kinds of credentials at once is ambiguous: refused."""
    with pytest.raises(ValidationError):
        AsyncQlara(api_key="k", username="u", password="p")


def test_max_retries_and_retry_policy_together_refused() -> None:
    """One way to say how to retry."""
    from qlara_async import RetryPolicy

    with pytest.raises(ValidationError):
        AsyncQlara(api_key="k", max_retries=2, retry_policy=RetryPolicy())


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://api.example.com/api", id="plain-http-remote"),
        pytest.param("http://10.0.0.5/api", id="plain-http-private-ip"),
        pytest.param("ftp://api.example.com", id="ftp"),
        pytest.param("api.example.com/api", id="no-scheme"),
    ],
)
def test_base_url_refused(url: str) -> None:
    """Plain http:// to anything but loopback (or a non-URL) is refused at construction."""
    with pytest.raises(ValidationError) as info:
        AsyncQlara(api_key="k", base_url=url)
    assert info.value.field == "base_url"


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://127.0.0.1:8080/api", id="ipv4-loopback"),
        pytest.param("http://127.5.5.5/api", id="ipv4-loopback-range"),
        pytest.param("http://[::1]:9000/api", id="ipv6-loopback"),
        pytest.param("http://localhost:8000/api", id="localhost"),
        pytest.param("https://api.example.com/api", id="https"),
    ],
)
def test_base_url_accepted(url: str) -> None:
    """https anywhere, http on loopback."""
    assert AsyncQlara(api_key="k", base_url=url).base_url == url.rstrip("/")


@pytest.mark.anyio
async def test_given_http_client_is_not_closed() -> None:
    """The client does not close an httpx.AsyncClient it was given, but closes its own."""
    _, http = _capture()
    async with AsyncQlara(api_key="k", base_url="https://api.test/api", http_client=http):
        pass
    assert not http.is_closed
    await http.aclose()

    own = AsyncQlara(api_key="k")
    await own.aclose()
    assert own._http.is_closed


@pytest.mark.anyio
async def test_timeout_is_applied_per_request() -> None:
    """The client's timeout rides on every request, also through a given http_client."""
    seen, http = _capture()
    async with AsyncQlara(
        api_key="k", base_url="https://api.test/api", http_client=http, timeout=3.5
    ) as c:
        await c.send(MESSAGE)
    assert seen[0].extensions["timeout"] == httpx.Timeout(3.5, pool=None).as_dict()


def test_resources_are_cached() -> None:
    """Each resource object is made once per client."""
    client = AsyncQlara(api_key="k")
    assert client.sms is client.sms
    assert client.rcs is client.rcs and client.whatsapp is client.whatsapp
    assert client.files is client.files


SENTINEL = "sk-SENTINEL-a8f3e1"
SENTINEL_PW = "pw-SENTINEL-77c2"


@pytest.mark.anyio
async def test_secrets_never_shown(caplog: pytest.LogCaptureFixture) -> None:
    """A sentinel key and password appear in no log record, repr, error or traceback."""
    caplog.set_level(logging.DEBUG)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sms/send"):
            # A hostile server that echoes the credential back in its error.
            echoed = request.headers.get("x-api-key") or request.headers["authorization"]
            return httpx.Response(401, json={"status": 401, "message": f"bad key {echoed}"})
        raise httpx.ConnectError("refused")

    for kwargs in ({"api_key": SENTINEL}, {"username": "user", "password": SENTINEL_PW}):
        client, _, _ = make_client(handler, **{"api_key": None, **kwargs})
        texts = [repr(client), str(client)]
        async with client:
            for call in (client.send(MESSAGE), client._api.get("/other", cast=dict)):
                # Each call must fail (401, then refused connections): a call that returned
                # would leave nothing to search, and the test would pass vacuously.
                with pytest.raises(APIError) as info:
                    await call
                exc = info.value
                texts += [str(exc), repr(exc), "".join(traceback.format_exception(exc))]
                tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
                texts += [
                    repr(frame.locals) for frame in tb.stack if "qlara_async" in frame.filename
                ]
                texts.append(repr(pickle.dumps(exc)))
                if isinstance(exc, AuthenticationError):
                    texts.append(exc.message)
        texts += [record.getMessage() for record in caplog.records]
        texts += [repr(record.args) for record in caplog.records]
        blob = "\n".join(texts)
        assert SENTINEL not in blob
        assert SENTINEL_PW not in blob
        assert base64.b64encode(f"user:{SENTINEL_PW}".encode()).decode() not in blob
    assert caplog.records  # DEBUG logging did record the requests


def test_secret_locals_in_constructor_traceback() -> None:
    """A constructor error's traceback locals do not hold the key in the clear."""
    try:
        AsyncQlara(api_key=SENTINEL, base_url="http://evil.example.com")
    except ValidationError as exc:
        tb = traceback.TracebackException.from_exception(exc, capture_locals=True)
        blob = "\n".join(repr(f.locals) for f in tb.stack) + "".join(tb.format())
    else:  # pragma: no cover
        raise AssertionError("expected ValidationError")
    assert SENTINEL not in blob
