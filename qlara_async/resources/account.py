"""``client.subscription`` and ``client.socials``: the account's plan, usage, credit and
connected social profiles. Their paths are written ``/api/v1/partner-gateway/...`` in the docs:
relative to the base URL (which ends in ``/api``) they are ``/v1/partner-gateway/...``."""

from __future__ import annotations

from .._exceptions import ValidationError
from .._resource import Resource, path_param
from ..models.account import (
    ContactUsage,
    SocialPlatform,
    SocialProfile,
    Subscription,
    SubscriptionCredit,
    decode_social_profiles,
)

__all__ = ["SocialsResource", "SubscriptionResource"]

_SUBSCRIPTION = "/v1/partner-gateway/subscription"
_SOCIALS = "/v1/partner-gateway/socials"


class SubscriptionResource(Resource):
    """The plan: ``get``, ``contacts``, ``credit``."""

    async def get(self) -> Subscription:
        """The active subscription."""
        return await self._api.get(_SUBSCRIPTION, cast=Subscription)

    async def contacts(self) -> ContactUsage:
        """Contacts used against the plan's limit."""
        return await self._api.get(f"{_SUBSCRIPTION}/contacts", cast=ContactUsage)

    async def credit(self) -> SubscriptionCredit:
        """Messaging credit available."""
        return await self._api.get(f"{_SUBSCRIPTION}/credit", cast=SubscriptionCredit)


class SocialsResource(Resource):
    """Connected social profiles: ``list``, ``get``."""

    async def list(self) -> list[SocialProfile]:
        """Every connected profile (one request; the endpoint is not paginated)."""
        return await self._api.get(
            _SOCIALS, cast=list[SocialProfile], decoder=decode_social_profiles, empty=list
        )

    async def get(self, platform: SocialPlatform | str) -> SocialProfile:
        """One platform's profile and its linked pages (``facebook``, ``instagram``,
        ``linkedin``, ``google`` or ``tiktok``, any case)."""
        name = platform.value if isinstance(platform, SocialPlatform) else platform
        if not isinstance(name, str) or name.lower() not in {p.value for p in SocialPlatform}:
            raise ValidationError(
                "platform must be one of facebook, instagram, linkedin, google, tiktok,"
                f" got {name!r}",
                field="platform",
            )
        return await self._api.get(
            f"{_SOCIALS}/{path_param('platform', name.lower())}", cast=SocialProfile
        )
