"""``client.webhooks``: the account's one delivery-status webhook."""

from __future__ import annotations

import ipaddress

import httpx

from .._exceptions import ConflictError, ValidationError
from .._resource import Resource
from ..models import checked
from ..models.webhooks import WebhookConfig, WebhookConfigRequest

__all__ = ["WebhooksResource"]

_PATH = "/partner-gateway/v1/webhooks/delivery-status"

_CONFLICT_ADVICE = (
    "a webhook is already configured for this account (only one is allowed): pass"
    " replace=True to point it at the new URL, or call webhooks.update() or webhooks.delete()"
)


class WebhooksResource(Resource):
    """The delivery-status webhook: ``configure``, ``get``, ``update``, ``delete``."""

    async def configure(self, callback_url: str, *, replace: bool = False) -> WebhookConfig:
        """Point delivery events at ``callback_url`` (``POST``, 201).

        Only one webhook exists per account: when one is configured already (409), this
        returns it if it has the same URL, updates it when ``replace=True``, and otherwise
        raises ``ConflictError`` saying so. So a configure retried after a lost answer, or run
        at every start-up, does the right thing.
        """
        if not isinstance(replace, bool):
            raise ValidationError(f"replace must be a bool, got {replace!r}", field="replace")
        body = _request(callback_url)
        try:
            return await self._api.post(_PATH, body=body, cast=WebhookConfig, idempotent=True)
        except ConflictError as exc:
            current = await self.get()
            if current.callback_url == body.callback_url:
                return current
            if replace:
                return await self.update(callback_url)
            raise ConflictError(
                f"{exc.message}: {_CONFLICT_ADVICE}",
                response=exc.response,
                body=exc.body,
                method=exc.method,
                url=exc.url,
            ) from None

    async def get(self) -> WebhookConfig:
        """The current configuration (``GET``; ``NotFoundError`` when none is set)."""
        return await self._api.get(_PATH, cast=WebhookConfig)

    async def update(self, callback_url: str) -> WebhookConfig:
        """Change the callback URL (``PUT``)."""
        return await self._api.put(_PATH, body=_request(callback_url), cast=WebhookConfig)

    async def delete(self) -> None:
        """Revoke the webhook (``DELETE``)."""
        await self._api.delete(_PATH)


def _request(callback_url: object) -> WebhookConfigRequest:
    if not isinstance(callback_url, str):
        raise ValidationError(
            f"callback_url must be a string, got {type(callback_url).__name__}",
            field="callbackUrl",
        )
    try:
        url = httpx.URL(callback_url)
        host = url.host
    except (httpx.InvalidURL, ValueError):
        raise ValidationError("callback_url is not a valid URL", field="callbackUrl") from None
    if url.scheme != "https" and not (url.scheme == "http" and _loopback(host)):
        # The docs: "The callback URL must use HTTPS." (http to loopback is allowed for a
        # local receiver and the simulator, which the real platform would never call.)
        raise ValidationError(
            "callback_url must be an https:// URL (the platform calls only HTTPS)",
            field="callbackUrl",
        )
    if not host:
        raise ValidationError("callback_url has no host", field="callbackUrl")
    return checked(WebhookConfigRequest(callback_url=callback_url))


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False
