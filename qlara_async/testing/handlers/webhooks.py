"""The delivery-status webhook: ``/partner-gateway/v1/webhooks/delivery-status``.

The reference: one webhook per account; ``POST`` configures it (201
``{"companyId", "callbackUrl"}``), a second ``POST`` is ``409 Conflict``; ``GET`` shows it, ``PUT``
changes the URL, ``DELETE`` revokes it; the callback URL must use HTTPS. Where it is silent, the
simulator decides:

* ``callbackUrl`` is required, at most 2048 characters, absolute, with a host; ``https://`` only,
  except ``http://`` to a loopback host (``localhost``, ``127.0.0.0/8``, ``[::1]``), so a local
  receiver can be used in tests (the client library allows the same, for the same reason);
  anything else is a 400 naming ``callbackUrl``;
* ``GET``, ``PUT`` and ``DELETE`` with no webhook configured are 404; ``DELETE`` answers 204;
* ``companyId`` is a stable number derived from the account (the API key);
* the simulator stores the URL; when it is made with ``callbacks=...`` it POSTs the docs'
  DELIVERY, READ and INBOUND payloads to it (:mod:`qlara_async.testing._callbacks`).
"""

from __future__ import annotations

import ipaddress
import zlib
from typing import Any, Final
from urllib.parse import urlsplit

from ._api import (
    BadRequest,
    Conflict,
    NotFound,
    Reply,
    Request,
    Strict,
    created,
    define_collection,
    json,
    no_content,
    route,
)

__all__ = ["WebhookConfig"]

PATH: Final = "/partner-gateway/v1/webhooks/delivery-status"

WEBHOOKS = define_collection(
    "webhooks",
    "Webhook",
    created=None,
    updated=None,
    seed=lambda i: {"callbackUrl": f"https://hooks.example.com/{i}"},
)


class WebhookConfig(Strict):
    """The body of ``POST`` and ``PUT``."""

    callback_url: str


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _callback_url(request: Request) -> str:
    url = request.decode(WebhookConfig).callback_url
    if not url.strip():
        raise BadRequest("'callbackUrl' can't be blank")
    if len(url) > 2048:
        raise BadRequest("'callbackUrl' must be at most 2048 characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        raise BadRequest("'callbackUrl' is not a valid URL") from None
    if not host or any(c.isspace() for c in url):
        raise BadRequest("'callbackUrl' must be an absolute URL with a host")
    if parts.scheme != "https" and not (parts.scheme == "http" and _loopback(host)):
        raise BadRequest("'callbackUrl' must use HTTPS")
    return url


def _company_id(request: Request) -> int:
    return zlib.crc32(request.key.encode()) % 900_000 + 100_000


def _shown(request: Request, item: dict[str, Any]) -> dict[str, Any]:
    return {"companyId": _company_id(request), "callbackUrl": item["callbackUrl"]}


def _current(request: Request) -> dict[str, Any]:
    found = request.collection(WEBHOOKS.name).list()
    if not found:
        raise NotFound("No delivery-status webhook is configured.")
    return found[0]


@route("POST", PATH)
def _configure(request: Request) -> Reply:
    url = _callback_url(request)
    hooks = request.collection(WEBHOOKS.name)
    if len(hooks):
        raise Conflict(
            "A delivery-status webhook is already configured: use PUT to update it or DELETE"
            " to remove it first."
        )
    return created(_shown(request, hooks.create({"callbackUrl": url})))


@route("GET", PATH)
def _get(request: Request) -> Reply:
    return json(_shown(request, _current(request)))


@route("PUT", PATH)
def _update(request: Request) -> Reply:
    url = _callback_url(request)
    item = _current(request)
    updated = request.collection(WEBHOOKS.name).update(item["id"], {"callbackUrl": url})
    return json(_shown(request, updated))


@route("DELETE", PATH)
def _delete(request: Request) -> Reply:
    item = _current(request)
    request.collection(WEBHOOKS.name).delete(item["id"])
    return no_content()
