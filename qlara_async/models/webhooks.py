"""The delivery-status webhook's configuration (``/partner-gateway/v1/webhooks/delivery-status``)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from ._base import InputModel, Model

__all__ = ["WebhookConfig", "WebhookConfigRequest"]


class WebhookConfigRequest(InputModel, kw_only=True):
    """The body of configure (``POST``) and update (``PUT``)."""

    callback_url: Annotated[str, msgspec.Meta(min_length=1, max_length=2048)]
    """The HTTPS URL the platform POSTs delivery events to."""


class WebhookConfig(Model, kw_only=True):
    """The configured webhook (``201`` of configure, ``200`` of get and update)."""

    callback_url: str | None = None
    company_id: int | None = None
