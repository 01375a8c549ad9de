"""``AsyncQlara``: options, credentials, lifecycle, and the resources as cached properties."""

from __future__ import annotations

import base64
import ipaddress
import os
import platform
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any

import httpx

from ._clock import AnyioClock, Clock
from ._config import RateLimit, RetryPolicy
from ._constants import (
    API_KEY_HEADER,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_KEEPALIVE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ENV_API_KEY,
    ENV_BASE_URL,
)
from ._exceptions import ValidationError
from ._limiter import Limiter, build_limiter
from ._transport import AttemptGate, RequestStats, Transport, require_body
from ._version import __version__
from .models import Message, PreparedMessage, SendResult, decode_send_result, prepare_message

if TYPE_CHECKING:
    from collections.abc import Callable, Generator

    from .bulk import BulkResource
    from .resources.files import FilesResource
    from .resources.rcs import RcsResource
    from .resources.sms import SmsResource
    from .resources.whatsapp import WhatsAppResource

__all__ = ["AsyncQlara"]


class _HeaderAuth(httpx.Auth):
    """Adds the credential header inside httpx, as the request leaves: our frames never build a
    headers dict holding it (the ``httpx.Request`` object does hold it once sent; its repr does
    not show headers)."""

    def __init__(self, name: str, value: _Secret) -> None:
        self._name = name
        self._value = value

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers[self._name] = self._value.get()
        yield request

    def __repr__(self) -> str:
        return f"<{self._name} auth>"


class _Secret:
    """A credential that never shows itself in a repr, a log line or a traceback's locals."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "<secret>"

    __str__ = __repr__


_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost"})


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _check_base_url(base_url: str) -> str:
    try:
        url = httpx.URL(base_url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise ValidationError(f"base_url is not a valid URL: {exc}", field="base_url") from None
    if url.scheme not in ("https", "http") or not url.host:
        raise ValidationError(
            "base_url must be an absolute https:// URL, e.g. " + DEFAULT_BASE_URL,
            field="base_url",
        )
    if url.scheme == "http" and not _is_loopback(url.host):
        # Credentials in clear text over a network: refuse before anything is sent.
        raise ValidationError(
            f"base_url uses plain http:// to {url.host!r}; only loopback hosts may use http://",
            field="base_url",
        )
    return str(url).rstrip("/")


def _user_agent() -> str:
    return (
        f"qlara-async/{__version__} httpx/{httpx.__version__} "
        f"{platform.python_implementation()}/{platform.python_version()}"
    )


class AsyncQlara:
    """The asynchronous Qlara API client.

    ::

        async with AsyncQlara(api_key="...") as client:
            r = await client.sms.send(destination="+393201234567", sender="MyBrand", body="Ciao")

    ``api_key`` (default: env ``QLARA_API_KEY``) is sent as ``X-Api-Key``; ``username`` and
    ``password`` select HTTP Basic auth instead. ``rate_limit`` takes a ``RateLimit`` (default:
    the Production plan), any ``Limiter`` (e.g. ``qlara_async.redis.RedisLimiter``), or ``None``
    to turn client-side limiting off (a 429 still pauses every task). ``max_retries`` counts
    retries after the first attempt. ``http_client`` is an ``httpx.AsyncClient`` to send with;
    the client does not close one it was given. ``clock`` and ``random`` make time and jitter
    injectable for tests.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        base_url: str | None = None,
        rate_limit: RateLimit | Limiter | None = RateLimit.PRODUCTION,
        max_retries: int = DEFAULT_MAX_RETRIES,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
        default_headers: dict[str, str] | None = None,
        clock: Clock | None = None,
        random: Callable[[], float] | None = None,
    ) -> None:
        # Wrap credentials first: from here on no frame local holds them in the clear.
        key = _Secret(api_key) if api_key else None
        api_key = None
        secret_password = _Secret(password) if password else None
        password = None

        self.base_url = _check_base_url(
            base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL
        )
        if key is not None and (username or secret_password):
            raise ValidationError(
                "pass either api_key or username/password, not both", field="api_key"
            )
        if key is None and not username:
            env_key = os.environ.get(ENV_API_KEY)
            key = _Secret(env_key) if env_key else None
            env_key = None
        if key is not None:
            self._auth_name = API_KEY_HEADER
            self._auth_value = key
            self.auth_method = "api_key"
            self._secrets: tuple[_Secret, ...] = (key,)
        elif username and secret_password:
            token = base64.b64encode(f"{username}:{secret_password.get()}".encode()).decode()
            self._auth_name = "Authorization"
            self._auth_value = _Secret("Basic " + token)
            self._secrets = (secret_password, _Secret(token))
            token = ""
            self.auth_method = "basic"
        else:
            raise ValidationError(
                "no credentials: pass api_key (or set QLARA_API_KEY), or username and password",
                field="username" if username else "api_key",
            )

        if retry_policy is None:
            retry_policy = RetryPolicy(max_retries=max_retries)
        elif max_retries != DEFAULT_MAX_RETRIES:
            raise ValidationError("pass max_retries or retry_policy, not both", field="max_retries")
        self.retry_policy = retry_policy
        # A float bounds connect, read and write, not the wait for a pooled connection: a bulk
        # job's concurrency may exceed the pool, and that wait is ours, not the server's.
        self.timeout = (
            timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout, pool=None)
        )
        self.clock: Clock = clock or AnyioClock()
        self.rate_limit = rate_limit if isinstance(rate_limit, RateLimit) else None
        self._limiter = build_limiter(rate_limit, clock=self.clock)

        self._owns_http = http_client is None
        if http_client is None:
            http_client = httpx.AsyncClient(
                limits=httpx.Limits(
                    max_connections=DEFAULT_MAX_CONNECTIONS,
                    max_keepalive_connections=DEFAULT_MAX_KEEPALIVE,
                ),
                timeout=self.timeout,
            )
        self._http = http_client
        self._static_headers = {
            "User-Agent": _user_agent(),
            "Accept": "application/json",
            **(default_headers or {}),
        }
        self._transport = Transport(
            base_url=self.base_url,
            headers=self._static_headers,
            auth=_HeaderAuth(self._auth_name, self._auth_value),
            http_client=http_client,
            limiter=self._limiter,
            retry_policy=retry_policy,
            timeout=self.timeout,
            clock=self.clock,
            random=random,
            redact=self._redact,
        )

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            value = secret.get()
            if value and value in text:
                text = text.replace(value, "<secret>")
        return text

    @property
    def limiter(self) -> Limiter:
        """The limiter every request passes through."""
        return self._limiter

    # -- sending ---------------------------------------------------------------------------

    async def send(self, message: Message) -> SendResult:
        """Send one ``SmsMessage``, ``RcsMessage`` or ``WhatsAppMessage``.

        The message is validated first (``ValidationError`` names the field; nothing is sent),
        given a ``messageId`` if it has none (the caller's object is not changed), and retried
        under that same id.
        """
        return await self._send_prepared(prepare_message(message))

    async def _send_prepared(
        self,
        prepared: PreparedMessage,
        *,
        stats: RequestStats | None = None,
        gate: AttemptGate | None = None,
        retry_policy: RetryPolicy | None = None,
    ) -> SendResult:
        result: SendResult | None = await self._transport.request(
            "POST",
            prepared.path,
            content=prepared.content,
            decoder=decode_send_result,
            retry=True,
            stats=stats,
            gate=gate,
            retry_policy=retry_policy,
        )
        return require_body(result, f"POST {prepared.path}")

    async def _request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None = None,
        params: Any = None,
        decoder: Callable[[bytes], Any] | None = None,
        retry: bool = True,
        files: Any = None,
        data: Any = None,
        display_path: str | None = None,
    ) -> Any:
        """The generic request used by the resources."""
        if params is not None:
            params = {k: _param(v) for k, v in params.items() if v is not None}
        return await self._transport.request(
            method,
            path,
            content=content,
            params=params,
            decoder=decoder,
            retry=retry,
            files=files,
            data=data,
            display_path=display_path,
        )

    # -- resources -------------------------------------------------------------------------

    @cached_property
    def sms(self) -> SmsResource:
        """SMS: Universal send, Legacy multi-recipient send, credit."""
        from .resources.sms import SmsResource

        return SmsResource(self)

    @cached_property
    def rcs(self) -> RcsResource:
        """RCS: send."""
        from .resources.rcs import RcsResource

        return RcsResource(self)

    @cached_property
    def whatsapp(self) -> WhatsAppResource:
        """WhatsApp: send, phone numbers."""
        from .resources.whatsapp import WhatsAppResource

        return WhatsAppResource(self)

    @cached_property
    def files(self) -> FilesResource:
        """Download URLs for media received in inbound messages."""
        from .resources.files import FilesResource

        return FilesResource(self)

    @cached_property
    def bulk(self) -> BulkResource:
        """Bulk sending: ``run`` and ``stream`` over many messages."""
        from .bulk import BulkResource

        return BulkResource(self)

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP connections (unless the ``http_client`` was given) and the limiter."""
        try:
            await self._limiter.aclose()
        finally:
            if self._owns_http:
                await self._http.aclose()

    async def __aenter__(self) -> AsyncQlara:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        # getattr: a repr may be asked of a half-built client (in a constructor's traceback).
        return (
            f"AsyncQlara(base_url={getattr(self, 'base_url', None)!r}, "
            f"auth={getattr(self, 'auth_method', None)!r}, "
            f"limiter={getattr(self, '_limiter', None)!r})"
        )


def _param(value: Any) -> Any:
    """Query values as the API spells them: booleans lowercase, sequences comma-joined."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return ",".join(str(_param(v)) for v in value)
    return value
