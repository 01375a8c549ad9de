"""The account: subscription (``/v1/partner-gateway/subscription``, ``.../contacts``,
``.../credit``) and social profiles (``/v1/partner-gateway/socials``, ``.../{platform}``).

The docs write these paths ``/api/v1/partner-gateway/...``; relative to the base URL (which ends
in ``/api``) they are ``/v1/partner-gateway/...`` (docs README point 5). Where the reference is
silent, the simulator decides:

* the subscription answers the docs' example until a test changes it
  (``sim.collection("subscriptions")``: one item, created on first use, shown without its
  ``id``); its ``_contacts`` (``{"used", "limit"}``) answers ``.../contacts``;
* ``.../credit`` answers ``{"credit": <Simulator(credit=...)>, "currency": "EUR"}``, the same
  credit the SMS credit endpoint reports;
* social profiles are none until seeded (``sim.seed("social_profiles", 5)`` connects the five
  platforms in the docs' order); a profile is ``{"id", "platform", "name", "pages": [...]}``;
  the list answers ``{"data": [...]}`` without ``pages``, the detail with them;
* ``.../socials/{platform}`` takes the five documented platforms in any case: one not connected
  is a 404, and so is a platform the docs do not list.
"""

from __future__ import annotations

from typing import Any, Final

from ._api import (
    Item,
    NotFound,
    Reply,
    Request,
    define_collection,
    json,
    route,
)

__all__ = ["PLATFORMS", "SUBSCRIPTION"]

SUBSCRIPTION_PATH = "/v1/partner-gateway/subscription"
SOCIALS_PATH = "/v1/partner-gateway/socials"

SUBSCRIPTION: Final[dict[str, Any]] = {
    # api-reference.md, "Get Active Subscription".
    "planCode": "PRO_MONTHLY",
    "status": "ACTIVE",
    "billingPeriodStart": "2025-03-01T00:00:00+01:00",
    "billingPeriodEnd": "2025-03-31T23:59:59+01:00",
    "nextRenew": "2025-04-01T00:00:00+01:00",
    "canceled": False,
    "nextPlan": None,
}

PLATFORMS: Final = ("facebook", "instagram", "linkedin", "google", "tiktok")


def _subscription_seed(i: int) -> dict[str, Any]:
    return {**SUBSCRIPTION, "_contacts": {"used": 0, "limit": 5000}}


def _social_seed(i: int) -> dict[str, Any]:
    platform = PLATFORMS[i % len(PLATFORMS)]
    return {
        "platform": platform,
        "name": f"Negozio Demo ({platform})",
        "pages": [{"id": f"{platform}-page-{i + 1}", "name": f"Negozio Demo {i + 1}"}],
    }


SUBSCRIPTIONS = define_collection(
    "subscriptions", "Subscription", created=None, updated=None, seed=_subscription_seed
)
SOCIALS = define_collection("social_profiles", "Social profile", seed=_social_seed)


def _subscription(request: Request) -> Item:
    plans = request.collection(SUBSCRIPTIONS.name)
    found = plans.list()
    return found[0] if found else plans.seed(1)[0]


@route("GET", SUBSCRIPTION_PATH)
def _get_subscription(request: Request) -> Reply:
    item = _subscription(request)
    return json({k: v for k, v in item.items() if k != "id" and not k.startswith("_")})


@route("GET", SUBSCRIPTION_PATH + "/contacts")
def _contacts(request: Request) -> Reply:
    return json(_subscription(request).get("_contacts", {"used": 0, "limit": 5000}))


@route("GET", SUBSCRIPTION_PATH + "/credit")
def _credit(request: Request) -> Reply:
    return json({"credit": request.settings.credit, "currency": "EUR"})


@route("GET", SOCIALS_PATH)
def _socials(request: Request) -> Reply:
    profiles = request.collection(SOCIALS.name).list()
    return json({"data": [{k: v for k, v in p.items() if k != "pages"} for p in profiles]})


@route("GET", SOCIALS_PATH + "/{platform}")
def _social(request: Request) -> Reply:
    platform = request.params["platform"].lower()
    if platform not in PLATFORMS:
        raise NotFound(
            f"Unknown social platform '{request.params['platform']}' (one of {', '.join(PLATFORMS)})."
        )
    found = request.collection(SOCIALS.name).find(platform=platform)
    if found is None:
        raise NotFound(f"No {platform} profile is connected.")
    return json(found)
