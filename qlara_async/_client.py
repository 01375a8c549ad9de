"""``AsyncQlara``: options, credentials, lifecycle, and the resources as cached properties."""

from __future__ import annotations

import base64
import copy
import dataclasses
import inspect
import logging
import os
import platform
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar

import httpx

from ._arguments import (
    Secret,
    check_base_url,
    check_credential,
    check_default_headers,
    check_password,
    check_policy,
    echo_forms,
)
from ._clock import AnyioClock, Clock
from ._config import CallOptions, RateLimit, RetryPolicy, check_timeout
from ._constants import (
    API_KEY_HEADER,
    DEFAULT_BASE_URL,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_MAX_KEEPALIVE,
    DEFAULT_MAX_RESPONSE_SIZE,
    DEFAULT_MAX_RETRIES,
    DEFAULT_TIMEOUT,
    ENV_API_KEY,
    ENV_BASE_URL,
    NOT_GIVEN,
    NotGiven,
)
from ._exceptions import ValidationError
from ._httpx import HeaderAuth
from ._limiter import Limiter, build_limiter
from ._pool import own_client
from ._proxy import EnvironmentProxies
from ._resource import Requester
from ._response import RawResponse
from ._transport import (
    Transport,
    aiohttp_backend,
    attempt_deadline,
    capture_responses,
    register_redactor,
)
from ._version import __version__
from .bulk import BulkResource
from .models import Message, SendResult
from .resources.account import SocialsResource, SubscriptionResource
from .resources.api_keys import ApiKeysResource
from .resources.campaigns import CampaignsResource
from .resources.contacts import ContactListsResource, ContactsResource
from .resources.files import FilesResource
from .resources.inbox import InboxResource, MediaResource
from .resources.messages import ExportsResource, MessagesResource
from .resources.rcs import RcsResource
from .resources.sms import SmsResource
from .resources.webhooks import WebhooksResource
from .resources.whatsapp import WhatsAppResource

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

P = ParamSpec("P")
T = TypeVar("T")


__all__ = ["AsyncQlara"]

log = logging.getLogger("qlara_async")


def _user_agent(backend: str = "httpx") -> str:
    # The library that sends: a server operator debugging traffic needs the right one.
    sender = (
        f"aiohttp/{aiohttp_backend().aiohttp.__version__}"
        if backend == "aiohttp"
        else f"httpx/{httpx.__version__}"
    )
    return (
        f"qlara-async/{__version__} {sender} "
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
    the client does not close one it was given. ``http_backend="aiohttp"`` (the ``fast``
    extra, asyncio only) sends on aiohttp's connection pool instead of httpx's, with the same
    limiter, retries, errors and redaction. ``clock`` and ``random`` make time and jitter
    injectable for tests. ``timeout`` (seconds, or an ``httpx.Timeout``) bounds connecting,
    each read and each write, and every attempt as a whole once it has a connection (the
    largest of the three). ``max_response_size`` caps the bytes read of a response body.
    """

    def __init__(
        self,
        api_key: str | None = None,
        *,
        username: str | None = None,
        password: str | None = None,
        base_url: str | None = None,
        rate_limit: RateLimit | Limiter | None = RateLimit.PRODUCTION,
        max_retries: int | NotGiven = NOT_GIVEN,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        http_client: httpx.AsyncClient | None = None,
        retry_policy: RetryPolicy | None = None,
        default_headers: dict[str, str] | None = None,
        clock: Clock | None = None,
        random: Callable[[], float] | None = None,
        max_response_size: int = DEFAULT_MAX_RESPONSE_SIZE,
        http_backend: Literal["httpx", "aiohttp"] = "httpx",
    ) -> None:
        # Wrap credentials first: from here on no frame local holds them in the clear.
        key = Secret(api_key) if api_key else None
        api_key = None
        secret_password = Secret(password) if password else None
        password = None
        if key is not None:
            check_credential(key.get(), "api_key")
        if secret_password is not None:
            check_password(secret_password)
        if username is not None:
            check_credential(username, "username")
            if ":" in username:
                raise ValidationError("username must not contain ':'", field="username")

        self.base_url = check_base_url(base_url or os.environ.get(ENV_BASE_URL) or DEFAULT_BASE_URL)
        if key is not None and (username or secret_password):
            raise ValidationError(
                "pass either api_key or username/password, not both", field="api_key"
            )
        if key is None and not username:
            env_key = os.environ.get(ENV_API_KEY)
            key = Secret(env_key) if env_key else None
            env_key = None
            if key is not None:
                check_credential(key.get(), ENV_API_KEY)
        if key is not None:
            self._auth_name = API_KEY_HEADER
            self._auth_value = key
            self.auth_method = "api_key"
            self._secrets: tuple[Secret, ...] = (key,)
        elif username and secret_password:
            token = base64.b64encode(f"{username}:{secret_password.get()}".encode()).decode()
            self._auth_name = "Authorization"
            self._auth_value = Secret("Basic " + token)
            self._secrets = (secret_password, Secret(token))
            token = ""
            self.auth_method = "basic"
        else:
            raise ValidationError(
                "no credentials: pass api_key (or set QLARA_API_KEY), or username and password",
                field="username" if username else "api_key",
            )

        if retry_policy is None:
            retry_policy = RetryPolicy(
                max_retries=DEFAULT_MAX_RETRIES
                if isinstance(max_retries, NotGiven)
                else max_retries
            )
        elif not isinstance(max_retries, NotGiven):
            # "Not given" is told apart from the default value: max_retries=4 with a policy
            # of 1 is a contradiction, not a no-op.
            raise ValidationError("pass max_retries or retry_policy, not both", field="max_retries")
        self.retry_policy = retry_policy = check_policy(retry_policy)
        self.timeout = check_timeout(timeout)
        if (
            isinstance(max_response_size, bool)
            or not isinstance(max_response_size, int)
            or max_response_size < 1024
        ):
            raise ValidationError(
                f"max_response_size must be an int >= 1024 (bytes), got {max_response_size!r}",
                field="max_response_size",
            )
        check_default_headers(default_headers)
        if clock is not None and not isinstance(clock, Clock):
            raise ValidationError("clock must have now(), wall() and async sleep()", field="clock")
        if random is not None and not callable(random):
            raise ValidationError("random must be a function returning a float", field="random")
        if http_client is not None and not isinstance(http_client, httpx.AsyncClient):
            raise ValidationError(
                f"http_client must be an httpx.AsyncClient, got {type(http_client).__name__}",
                field="http_client",
            )
        if http_backend not in ("httpx", "aiohttp"):
            raise ValidationError(
                f"http_backend must be 'httpx' or 'aiohttp', got {http_backend!r}",
                field="http_backend",
            )
        if http_backend == "aiohttp" and http_client is not None:
            raise ValidationError(
                "http_client is an httpx client: pass it or http_backend='aiohttp', not both",
                field="http_backend",
            )
        if http_backend == "aiohttp":
            aiohttp_backend().refuse_trio()
        self.http_backend = http_backend
        self.clock: Clock = clock or AnyioClock()
        self.rate_limit = rate_limit if isinstance(rate_limit, RateLimit) else None
        self._limiter = build_limiter(rate_limit, clock=self.clock)

        is_httpx = http_backend != "aiohttp"
        self._owns_http = http_client is None
        # The environment's proxies, read once for either backend (a given http_client keeps
        # its own), their passwords masked with the credentials below.
        proxies = None if http_client is not None else EnvironmentProxies(socks=is_httpx)
        if http_client is None:
            http_client = own_client(
                httpx.Limits(
                    max_connections=DEFAULT_MAX_CONNECTIONS,
                    max_keepalive_connections=DEFAULT_MAX_KEEPALIVE,
                ),
                self.timeout,
                # The aiohttp backend's client only builds requests: proxies are the wire's.
                proxies=proxies if is_httpx else None,
            )
        self._http = http_client
        self._static_headers = {
            "User-Agent": _user_agent(http_backend),
            "Accept": "application/json",
            # The codings the client decodes itself, bounded (see _transport._read_capped).
            "Accept-Encoding": "gzip, deflate",
            **(default_headers or {}),
        }
        wire = None
        if http_backend == "aiohttp":
            wire = aiohttp_backend().AiohttpWire(
                headers=self._static_headers,
                credential=lambda: (self._auth_name, self._auth_value.get()),
                timeout=self.timeout,
                deadline=attempt_deadline(self.timeout),
                max_response_size=max_response_size,
                max_connections=DEFAULT_MAX_CONNECTIONS,
                proxies=proxies,
            )
        self._transport = Transport(
            wire=wire,
            base_url=self.base_url,
            headers=self._static_headers,
            auth=HeaderAuth(self._auth_name, self._auth_value.get),
            http_client=http_client,
            limiter=self._limiter,
            retry_policy=retry_policy,
            timeout=self.timeout,
            clock=self.clock,
            random=random,
            redact=self._redact,
            max_response_size=max_response_size,
        )
        self._api = Requester(self._transport)
        # Every form a server may echo a credential in: as is, base64 (plain and URL-safe, with
        # and without padding) and percent-encoded. Longest first, so no form leaves a piece.
        secrets = [secret.get() for secret in self._secrets]
        secrets += proxies.secrets() if proxies is not None else []
        forms = {form for secret in secrets for form in echo_forms(secret) if len(form) >= 4}
        secrets.clear()
        self._masks = tuple(Secret(f) for f in sorted(forms, key=len, reverse=True))
        forms = set()
        register_redactor(self._redact)

    def _redact(self, text: str) -> str:
        for secret in self._masks:
            value = secret.get()
            if value in text:
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
        return await self._api.send(message)

    # -- options and raw responses ---------------------------------------------------------

    def with_options(
        self,
        *,
        timeout: float | httpx.Timeout | NotGiven = NOT_GIVEN,
        max_retries: int | NotGiven = NOT_GIVEN,
        retry_policy: RetryPolicy | NotGiven = NOT_GIVEN,
    ) -> AsyncQlara:
        """A view of this client whose calls use other options, e.g. a short deadline in a web
        handler: ``await client.with_options(timeout=2.0, max_retries=1).sms.send(...)``.

        The view shares the connections, the limiter (so the rate limit stays one budget) and
        the credentials; closing either closes both. Options left out keep this client's.
        """
        base = self._api.options
        policy = base.retry_policy or self.retry_policy
        if not isinstance(retry_policy, NotGiven):
            if not isinstance(max_retries, NotGiven):
                raise ValidationError(
                    "pass max_retries or retry_policy, not both", field="max_retries"
                )
            policy = check_policy(retry_policy)
        elif not isinstance(max_retries, NotGiven):
            policy = dataclasses.replace(policy, max_retries=max_retries)
        view = copy.copy(self)
        # Resources are cached per instance: the view builds its own, bound to its options.
        for name, attr in vars(AsyncQlara).items():
            if isinstance(attr, cached_property):
                view.__dict__.pop(name, None)
        view._api = self._api.with_options(
            CallOptions(
                timeout=base.timeout if isinstance(timeout, NotGiven) else check_timeout(timeout),
                retry_policy=policy,
            )
        )
        return view

    async def with_raw_response(
        self,
        method: Callable[P, Awaitable[T]],
        /,
        *args: P.args,
        **kwargs: P.kwargs,
    ) -> RawResponse[T]:
        """Call ``method`` (any of this client's, e.g. ``client.sms.send``) and return its
        result with the HTTP response it came from, for the ``X-Request-Id`` support asks for::

            raw = await client.with_raw_response(client.sms.send, destination=..., ...)
            print(raw.request_id, raw.status_code, raw.headers["date"], raw.parsed.message_id)
        """
        if not callable(method):
            raise ValidationError(
                f"with_raw_response takes a method, e.g. client.sms.send, got"
                f" {type(method).__name__}",
                field="method",
            )
        with capture_responses() as responses:
            call = method(*args, **kwargs)
            if not inspect.isawaitable(call):
                raise ValidationError(
                    "with_raw_response takes a method that is awaited; for a collection, each"
                    " page of .pages() carries its response",
                    field="method",
                )
            parsed = await call
        if not responses:
            raise ValidationError(
                "with_raw_response needs a method that makes a request (e.g. client.sms.send)",
                field="method",
            )
        return RawResponse(parsed, responses[-1], attempts=len(responses))

    # -- resources -------------------------------------------------------------------------

    @cached_property
    def sms(self) -> SmsResource:
        """SMS: Universal send, Legacy multi-recipient send, credit."""
        return SmsResource(self._api)

    @cached_property
    def rcs(self) -> RcsResource:
        """RCS: send."""
        return RcsResource(self._api)

    @cached_property
    def whatsapp(self) -> WhatsAppResource:
        """WhatsApp: send, phone numbers."""
        return WhatsAppResource(self._api)

    @cached_property
    def files(self) -> FilesResource:
        """Download URLs for media received in inbound messages."""
        return FilesResource(self._api)

    @cached_property
    def api_keys(self) -> ApiKeysResource:
        """The account's API keys."""
        return ApiKeysResource(self._api)

    @cached_property
    def subscription(self) -> SubscriptionResource:
        """The account's plan, contact usage and credit."""
        return SubscriptionResource(self._api)

    @cached_property
    def socials(self) -> SocialsResource:
        """Connected social profiles."""
        return SocialsResource(self._api)

    @cached_property
    def webhooks(self) -> WebhooksResource:
        """The delivery-status webhook's configuration."""
        return WebhooksResource(self._api)

    @cached_property
    def messages(self) -> MessagesResource:
        """Delivery status (polling) and the message history."""
        return MessagesResource(self._api)

    @cached_property
    def exports(self) -> ExportsResource:
        """Export jobs: request, wait until ready, download link."""
        return ExportsResource(self._api, self.clock)

    @cached_property
    def contacts(self) -> ContactsResource:
        """Contacts and their imports."""
        return ContactsResource(self._api)

    @cached_property
    def contact_lists(self) -> ContactListsResource:
        """Contact lists and their members."""
        return ContactListsResource(self._api)

    @cached_property
    def campaigns(self) -> CampaignsResource:
        """Campaigns: create, cost, confirm, statistics."""
        return CampaignsResource(self._api)

    @cached_property
    def inbox(self) -> InboxResource:
        """Two-way conversations."""
        return InboxResource(self._api)

    @cached_property
    def media(self) -> MediaResource:
        """The media library."""
        return MediaResource(self._api)

    @cached_property
    def bulk(self) -> BulkResource:
        """Bulk sending: ``run`` and ``stream`` over many messages."""
        return BulkResource(self._api)

    # -- lifecycle -------------------------------------------------------------------------

    async def aclose(self) -> None:
        """Close the HTTP connections (unless the ``http_client`` was given) and the limiter.

        A call made after this raises ``APIConnectionError``; a send still in flight gets
        ``APIConnectionError(ambiguous=True)`` (it may have been processed).
        """
        self._transport.closed = True
        try:
            await self._limiter.aclose()
        finally:
            if self._transport.wire is not None:
                try:
                    await self._transport.wire.aclose()
                except Exception as exc:
                    log.debug("aclose: connections not closed cleanly (%s)", type(exc).__name__)
            if self._owns_http:
                try:
                    self._transport.drop_ended_pool()
                    await self._http.aclose()
                except Exception as exc:
                    # Closing is best effort: a connection opened on an event loop that has
                    # since closed cannot be shut down cleanly, and there is nothing to save.
                    log.debug("aclose: connections not closed cleanly (%s)", type(exc).__name__)

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
