"""Campaigns: ``/partner-gateway/v1/campaigns`` (create, cost, confirm, follow; workflow 3).

The reference gives the create fields (name at most 50 characters, description at most 350, the
seven sending modes, ``destinationType`` 1 lists / 2 numbers, ``rcsAgentId`` a string required for
RCS, ``whatsappPhoneNumberId`` required for WhatsApp, ``smsBody`` with ``{{placeholder}}``), the
counters of a campaign, the status codes (0 draft, 1 scheduled, 2 sending, 3 completed, 4 error)
and the endpoints. Where it is silent, the simulator decides:

* create: ``name``, ``sendingMode`` and ``destinationType`` are required; type 1 needs a non-empty
  ``contactListIds`` (positive ids) and no ``destinations``, type 2 the reverse, with numbers in
  international format; ``scheduledDate`` is ``yyyy-MM-dd HH:mm:ss.SSSZ``; ``smsBody`` is stored
  exactly as written. Answers 201 with the campaign: every field (``null`` when not given), status
  0 and zeroed counters;
* update (``PUT``, every field optional) is allowed on a draft only (409 otherwise); the merged
  campaign must still satisfy the create rules;
* recipients: the numbers of a type-2 campaign; each contact list counts as 100 recipients (the
  simulator does not look into the contact lists);
* ``calculateGoal`` and ``price`` answer ``{"campaignId", "recipients", "unitPrice", "price",
  "totalPrice", "currency"}``: recipients times the rate of the mode's first channel
  (SMS 0.035, RCS 0.05, WhatsApp 0.07 EUR);
* ``confirm`` (no body) of a draft: status 1 scheduled when it has a ``scheduledDate`` still in the
  future, else 2 sending; confirming again is 409. A sending campaign is 3 completed
  ``delivery_delay`` seconds (a :class:`Simulator` knob) later, and a scheduled one that long after
  its date, with every recipient sent and successful on the first channel (a number in
  ``Simulator(rejected_destinations=...)`` failed);
* list filters: ``status`` (0-4), ``channel`` (a sending mode), ``from``/``to`` (creation date);
* ``stats`` answers ``{"data": [...]}``: one bucket per UTC day a campaign started sending and
  sending mode, ``{"timeBucket": "2026-04-09", "sendingMode", "numMessageCampaigns",
  "totalDestinations", "totalSent", "totalSuccess", "totalFailed", "totalRead",
  "totalFallback"}``, filtered by ``from``/``to`` (on the start) and ``channel``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Final

import msgspec

from ._api import (
    BadRequest,
    Conflict,
    Item,
    Reply,
    Request,
    Strict,
    created,
    define_collection,
    json,
    no_content,
    paginate_offset,
    route,
)
from ._messages_query import date_range, in_range, iso, one_of, parse_iso

__all__ = ["CampaignCreate", "CampaignUpdate"]

PATH: Final = "/partner-gateway/v1/campaigns"

SENDING_MODES: Final = (
    "SMS",
    "RCS",
    "RCS_SMS",
    "WHATSAPP",
    "WHATSAPP_SMS",
    "WHATSAPP_RCS",
    "WHATSAPP_RCS_SMS",
)
RATES: Final = {"SMS": 0.035, "RCS": 0.05, "WHATSAPP": 0.07}
LIST_SIZE: Final = 100
"""Recipients a contact list counts for."""

DRAFT, SCHEDULED, SENDING, COMPLETED = 0, 1, 2, 3

FIELDS: Final = (
    "name",
    "description",
    "sendingMode",
    "destinationType",
    "contactListIds",
    "destinations",
    "smsSender",
    "smsBody",
    "rcsAgentId",
    "rcsTemplateId",
    "whatsappPhoneNumberId",
    "whatsappTemplateId",
    "scheduledDate",
    "readyToSend",
    "placeholderFields",
)
COUNTERS: Final = (
    "totalDestinations",
    "totalSent",
    "totalSuccess",
    "totalFailed",
    "totalRead",
    "totalFallback",
    "rcsSent",
    "rcsSuccess",
    "rcsFailed",
    "rcsRead",
    "smsSent",
    "smsSuccess",
    "smsFailed",
    "waSent",
    "waSuccess",
    "waFailed",
    "waRead",
)

_Name = Annotated[str, msgspec.Meta(max_length=50)]
_Description = Annotated[str, msgspec.Meta(max_length=350)]
_Id = Annotated[int, msgspec.Meta(ge=1)]


class CampaignCreate(Strict):
    """``POST .../campaigns``."""

    name: _Name
    sending_mode: str
    destination_type: int
    description: _Description | None = None
    contact_list_ids: list[_Id] | None = None
    destinations: list[str] | None = None
    sms_sender: str | None = None
    sms_body: str | None = None
    rcs_agent_id: str | None = None
    rcs_template_id: _Id | None = None
    whatsapp_phone_number_id: _Id | None = None
    whatsapp_template_id: _Id | None = None
    scheduled_date: str | None = None
    ready_to_send: bool | None = None
    placeholder_fields: str | None = None


class CampaignUpdate(Strict):
    """``PUT .../campaigns/{id}``: the create fields, all optional."""

    name: _Name | None = None
    sending_mode: str | None = None
    destination_type: int | None = None
    description: _Description | None = None
    contact_list_ids: list[_Id] | None = None
    destinations: list[str] | None = None
    sms_sender: str | None = None
    sms_body: str | None = None
    rcs_agent_id: str | None = None
    rcs_template_id: _Id | None = None
    whatsapp_phone_number_id: _Id | None = None
    whatsapp_template_id: _Id | None = None
    scheduled_date: str | None = None
    ready_to_send: bool | None = None
    placeholder_fields: str | None = None


def _seed(i: int) -> dict[str, Any]:
    fields: dict[str, Any] = dict.fromkeys(FIELDS)
    fields.update(
        name=f"Campaign {i}",
        sendingMode="SMS",
        destinationType=2,
        destinations=[f"+39320{i:07d}"],
        smsSender="MyBrand",
        smsBody="Ciao {{nome}}",
        status=DRAFT,
        **dict.fromkeys(COUNTERS, 0),
    )
    fields["totalDestinations"] = 1
    return fields


CAMPAIGNS = define_collection("campaigns", "Campaign", seed=_seed)

_NUMBER: Final = re.compile(r"\+?[0-9]{6,15}")
_SCHEDULED: Final = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}[+-]\d{4}")


def _scheduled_wall(value: str) -> float:
    """``yyyy-MM-dd HH:mm:ss.SSSZ`` as Unix time; a 400 naming ``scheduledDate`` otherwise."""
    try:
        if not _SCHEDULED.fullmatch(value):
            raise ValueError(value)
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S.%f%z").timestamp()
    except ValueError:
        raise BadRequest("'scheduledDate' must be formatted yyyy-MM-dd HH:mm:ss.SSSZ") from None


def _check(fields: dict[str, Any]) -> None:
    """The create rules, on a whole campaign (after a create, or a merged update)."""
    if not str(fields.get("name") or "").strip():
        raise BadRequest("'name' can't be blank")
    mode = fields.get("sendingMode")
    if mode not in SENDING_MODES:
        raise BadRequest(f"'sendingMode' must be one of {', '.join(SENDING_MODES)}, got {mode!r}")
    kind = fields.get("destinationType")
    lists, numbers = fields.get("contactListIds"), fields.get("destinations")
    if kind not in (1, 2):
        raise BadRequest(f"'destinationType' must be 1 (contact lists) or 2 (numbers), got {kind}")
    if kind == 1 and not lists:
        raise BadRequest("'contactListIds' can't be empty when 'destinationType' is 1")
    if kind == 1 and numbers:
        raise BadRequest("'destinations' go with 'destinationType' 2, not 1")
    if kind == 2 and not numbers:
        raise BadRequest("'destinations' can't be empty when 'destinationType' is 2")
    if kind == 2 and lists:
        raise BadRequest("'contactListIds' go with 'destinationType' 1, not 2")
    for i, number in enumerate(numbers or ()):
        if not _NUMBER.fullmatch(number):
            raise BadRequest(f"'destinations[{i}]' is not a phone number in international format")
    if "RCS" in mode and not str(fields.get("rcsAgentId") or "").strip():
        raise BadRequest(f"'rcsAgentId' is required for sending mode {mode}")
    if "WHATSAPP" in mode and fields.get("whatsappPhoneNumberId") is None:
        raise BadRequest(f"'whatsappPhoneNumberId' is required for sending mode {mode}")
    if fields.get("scheduledDate") is not None:
        _scheduled_wall(fields["scheduledDate"])


def _body_fields(body: CampaignCreate | CampaignUpdate) -> dict[str, Any]:
    """The body's given fields, by wire name."""
    raw = msgspec.to_builtins(body)
    return {k: v for k, v in raw.items() if v is not None}


def _recipients(item: Item) -> int:
    if item.get("destinationType") == 1:
        return LIST_SIZE * len(item.get("contactListIds") or ())
    return len(item.get("destinations") or ())


def _first_channel(mode: str) -> str:
    return mode.split("_")[0]


def _progress(request: Request, item: Item) -> Item:
    """The campaign as it stands now: a started one moves on with the clock (read-only)."""
    shown = {k: v for k, v in item.items() if not k.startswith("_")}
    start = item.get("_startsAt")
    if start is None or item["status"] not in (SCHEDULED, SENDING):
        return shown
    now = request.clock.wall()
    if now < start:
        return shown
    delay = request.settings.delivery_delay
    if now < start + delay:
        shown["status"] = SENDING
        return shown
    total = _recipients(item)
    rejected = request.settings.rejected_destinations
    failed = sum(1 for n in item.get("destinations") or () if n in rejected)
    prefix = {"SMS": "sms", "RCS": "rcs", "WHATSAPP": "wa"}[_first_channel(item["sendingMode"])]
    shown.update(
        status=COMPLETED,
        totalSent=total,
        totalSuccess=total - failed,
        totalFailed=failed,
        **{f"{prefix}Sent": total, f"{prefix}Success": total - failed, f"{prefix}Failed": failed},
    )
    return shown


def _price(request: Request, item: Item) -> dict[str, Any]:
    rate = RATES[_first_channel(item["sendingMode"])]
    recipients = _recipients(item)
    total = round(recipients * rate, 4)
    return {
        "campaignId": item["id"],
        "recipients": recipients,
        "unitPrice": rate,
        "price": total,
        "totalPrice": total,
        "currency": "EUR",
    }


def _campaigns(request: Request) -> Any:
    return request.collection(CAMPAIGNS.name)


@route("GET", PATH)
def _list(request: Request) -> Reply:
    status = request.query_int("status", -1, minimum=0, maximum=4)
    mode = one_of(request, "channel", SENDING_MODES)
    start, stop = date_range(request)
    items = [
        shown
        for shown in (_progress(request, item) for item in _campaigns(request).list())
        if (status == -1 or shown["status"] == status)
        and (mode is None or shown["sendingMode"] == mode)
        and in_range(parse_iso("creationDate", shown["creationDate"]), start, stop)
    ]
    return paginate_offset(request, items)


@route("POST", PATH)
def _create(request: Request) -> Reply:
    fields = dict.fromkeys(FIELDS) | _body_fields(request.decode(CampaignCreate))
    _check(fields)
    item = _campaigns(request).create(
        {**fields, "status": DRAFT, **dict.fromkeys(COUNTERS, 0)}
        | {"totalDestinations": _recipients(fields)}
    )
    return created(_progress(request, item))


@route("GET", PATH + "/stats")
def _stats(request: Request) -> Reply:
    mode = one_of(request, "channel", SENDING_MODES)
    start, stop = date_range(request)
    buckets: dict[tuple[str, str], dict[str, Any]] = {}
    for item in _campaigns(request).list():
        shown = _progress(request, item)
        began = item.get("_startsAt")
        if began is None or shown["status"] not in (SENDING, COMPLETED):
            continue
        if (mode is not None and shown["sendingMode"] != mode) or not in_range(began, start, stop):
            continue
        key = (iso(began)[:10], shown["sendingMode"])
        bucket = buckets.setdefault(
            key,
            {
                "timeBucket": key[0],
                "sendingMode": key[1],
                "numMessageCampaigns": 0,
                **dict.fromkeys(COUNTERS[:6], 0),
            },
        )
        bucket["numMessageCampaigns"] += 1
        for name in COUNTERS[:6]:
            bucket[name] += shown[name]
    return json({"data": [buckets[k] for k in sorted(buckets)]})


@route("GET", PATH + "/{id}")
def _get(request: Request) -> Reply:
    return json(_progress(request, _campaigns(request).get(request.path_int("id"))))


@route("PUT", PATH + "/{id}")
def _update(request: Request) -> Reply:
    changes = _body_fields(request.decode(CampaignUpdate))
    campaigns = _campaigns(request)
    item = campaigns.get(request.path_int("id"))
    if item["status"] != DRAFT:
        raise Conflict(f"Campaign {item['id']} is no longer a draft (status {item['status']}).")
    merged = {**item, **changes}
    if "destinationType" in changes:
        # Switching kind drops the other kind's recipients unless given with it.
        other = "destinations" if changes["destinationType"] == 1 else "contactListIds"
        if other not in changes:
            merged[other] = None
    _check(merged)
    merged["totalDestinations"] = _recipients(merged)
    return json(_progress(request, campaigns.update(item["id"], merged)))


@route("DELETE", PATH + "/{id}")
def _delete(request: Request) -> Reply:
    _campaigns(request).delete(request.path_int("id"))
    return no_content()


@route("POST", PATH + "/{id}/calculateGoal")
def _calculate(request: Request) -> Reply:
    return json(_price(request, _campaigns(request).get(request.path_int("id"))))


@route("GET", PATH + "/{id}/price")
def _get_price(request: Request) -> Reply:
    return json(_price(request, _campaigns(request).get(request.path_int("id"))))


@route("PUT", PATH + "/{id}/confirm")
def _confirm(request: Request) -> Reply:
    if request.body.strip() not in (b"", b"{}"):
        raise BadRequest("Confirm takes no body: set 'scheduledDate' with an update first")
    campaigns = _campaigns(request)
    item = campaigns.get(request.path_int("id"))
    if item["status"] != DRAFT:
        raise Conflict(f"Campaign {item['id']} is already confirmed (status {item['status']}).")
    now = request.clock.wall()
    when = item.get("scheduledDate")
    starts = max(now, _scheduled_wall(when)) if when is not None else now
    status = SCHEDULED if starts > now else SENDING
    updated = campaigns.update(item["id"], {"status": status, "_startsAt": starts})
    return json(_progress(request, updated))
