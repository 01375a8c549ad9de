"""RCS templates (``/message-server/rcs/templates``) and WhatsApp templates
(``/message-server/whatsapp/templates``): list, create, get, update, delete.

The reference gives the creation fields, the body tables, the list filters and the paging
parameters (docs README point 9). Where it is silent, the simulator decides:

* an RCS template is ``{"id", "name", "description"?, "type", "enabled", "body",
  "creationDate", "lastUpdateDate"}`` with ``body`` exactly as sent; a new one is enabled; ``PUT``
  replaces name, description, type and body (validated as on create) and keeps ``enabled``;
* the RCS list filters: ``search`` (case-insensitive, in name or description), ``type``,
  ``enabled`` (``0``/``1``), ``sortBy`` (a field of the template; ``id`` by default) and
  ``sortOrder`` (``asc``/``desc``); any other value, or an unknown query parameter, is a 400;
* a WhatsApp template is its creation fields as sent (``null``/absent ones left out), plus
  ``id``, ``status``, ``phoneNumberId``, ``buttons`` (``[]`` when none) and the timestamps;
  ``phoneNumberId`` must be one of the simulator's WhatsApp numbers (404 otherwise); the same
  ``name`` and ``lang`` twice in one account is a 409 (Meta keeps one template per name and
  language);
* Meta's review: a created or updated template is ``PENDING`` and becomes ``APPROVED``
  :data:`REVIEW_SECONDS` later on the simulator's clock (a ``ManualClock`` test steps past it);
  a test may also set any status directly with ``sim.collection("whatsapp_templates").update``.
  The pending review's due time is kept in the item as ``_reviewAt`` and never shown.
* the WhatsApp list filters ``category``, ``status`` and ``phoneNumberId`` are checked like the
  create fields (400 for an unknown value).
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from ._api import (
    BadRequest,
    Conflict,
    Item,
    NotFound,
    Reply,
    Request,
    created,
    define_collection,
    json,
    no_content,
    paginate_page_limit,
    paginate_page_size,
    route,
)
from ._templates_schemas import (
    RCS_BODIES,
    RcsTemplateCreate,
    WhatsAppTemplateCreate,
    WhatsAppTemplatePatch,
    check_rcs_body,
    check_whatsapp,
    decode_part,
    without_nulls,
)

__all__ = ["REVIEW_SECONDS"]

RCS_PATH = "/message-server/rcs/templates"
WA_PATH = "/message-server/whatsapp/templates"

REVIEW_SECONDS: Final = 60.0
"""How long (simulator clock seconds) Meta's review of a WhatsApp template takes."""


def _rcs_seed(i: int) -> dict[str, Any]:
    return {
        "name": f"rcs_template_{i:04d}",
        "description": f"Seeded template {i}",
        "type": "TEXT",
        "enabled": True,
        "body": {"text": f"Ciao {{name}}! Messaggio {i}."},
    }


def _wa_seed(i: int) -> dict[str, Any]:
    return {
        "name": f"wa_template_{i:04d}",
        "lang": "it",
        "category": ("MARKETING", "UTILITY", "AUTHENTICATION")[i % 3],
        "body": f"Ciao {{firstName}}, messaggio {i}",
        "buttons": [],
        "status": "APPROVED",
        "phoneNumberId": 5,
    }


RCS_TEMPLATES = define_collection("rcs_templates", "RCS template", seed=_rcs_seed)
WA_TEMPLATES = define_collection("whatsapp_templates", "WhatsApp template", seed=_wa_seed)


def _public(item: Item) -> Item:
    return {k: v for k, v in item.items() if not k.startswith("_")}


def _only_query(request: Request, allowed: set[str]) -> None:
    for name, _ in request.raw_query:
        if name not in allowed:
            raise BadRequest(f"Unsupported query parameter '{name}'")


def _choice(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise BadRequest(f"'{name}' must be one of {', '.join(allowed)}, got {value!r}")
    return value


# ----------------------------------------------------------------------------- RCS


def _rcs_fields(request: Request) -> dict[str, Any]:
    create = request.decode(RcsTemplateCreate)
    body = decode_part(create.body, RCS_BODIES[create.type], "body")
    check_rcs_body(body)
    fields: dict[str, Any] = {"name": create.name}
    if create.description is not None:
        fields["description"] = create.description
    fields["type"] = create.type
    fields["body"] = msgspec.json.decode(create.body)
    return fields


_RCS_SORT: Final = (
    "id",
    "name",
    "description",
    "type",
    "enabled",
    "creationDate",
    "lastUpdateDate",
)


def _sort_key(field: str) -> Any:
    def key(item: Item) -> tuple[bool, Any, int]:
        value = item.get(field)
        if isinstance(value, str):
            value = value.casefold()
        return (value is None, value if value is not None else 0, item["id"])

    return key


@route("GET", RCS_PATH)
def _rcs_list(request: Request) -> Reply:
    _only_query(request, {"search", "type", "enabled", "sortBy", "sortOrder", "page", "limit"})
    kind = _choice(request, "type", ("TEXT", "CARD", "CAROUSEL"))
    enabled = _choice(request, "enabled", ("0", "1"))
    sort_by = _choice(request, "sortBy", _RCS_SORT) or "id"
    order = request.query.get("sortOrder", "asc").lower()
    if order not in ("asc", "desc"):
        raise BadRequest(f"'sortOrder' must be asc or desc, got {request.query['sortOrder']!r}")
    search = request.query.get("search", "").casefold()

    def where(item: Item) -> bool:
        if kind is not None and item.get("type") != kind:
            return False
        if enabled is not None and bool(item.get("enabled")) != (enabled == "1"):
            return False
        text = f"{item.get('name') or ''}\n{item.get('description') or ''}".casefold()
        return search in text

    items = request.collection(RCS_TEMPLATES.name).list(where)
    items.sort(key=_sort_key(sort_by), reverse=order == "desc")
    return paginate_page_limit(request, items)


@route("POST", RCS_PATH)
def _rcs_create(request: Request) -> Reply:
    fields = _rcs_fields(request)
    fields["enabled"] = True
    return created(request.collection(RCS_TEMPLATES.name).create(fields))


@route("GET", RCS_PATH + "/{id}")
def _rcs_get(request: Request) -> Reply:
    return json(request.collection(RCS_TEMPLATES.name).get(request.path_int("id")))


@route("PUT", RCS_PATH + "/{id}")
def _rcs_update(request: Request) -> Reply:
    templates = request.collection(RCS_TEMPLATES.name)
    template_id = request.path_int("id")
    old = templates.get(template_id)  # 404 before a 400 for an unknown template
    fields = _rcs_fields(request)
    fields["enabled"] = old.get("enabled", True)
    return json(templates.replace(template_id, fields))


@route("DELETE", RCS_PATH + "/{id}")
def _rcs_delete(request: Request) -> Reply:
    request.collection(RCS_TEMPLATES.name).delete(request.path_int("id"))
    return no_content()


# ----------------------------------------------------------------------------- WhatsApp

_STATUSES: Final = ("APPROVED", "PENDING", "REJECTED", "PAUSED", "DISABLED")
_CATEGORIES: Final = ("MARKETING", "UTILITY", "AUTHENTICATION")


def _reviewed(request: Request, item: Item) -> Item:
    """``item``, approved first if its review is due on the simulator's clock."""
    due = item.get("_reviewAt")
    if item.get("status") == "PENDING" and due is not None and request.now >= due:
        return request.collection(WA_TEMPLATES.name).update(
            item["id"], {"status": "APPROVED", "_reviewAt": None}
        )
    return item


def _pending(request: Request) -> dict[str, Any]:
    return {"status": "PENDING", "_reviewAt": request.now + REVIEW_SECONDS}


def _check_unique(request: Request, fields: dict[str, Any], template_id: int | None) -> None:
    for other in request.collection(WA_TEMPLATES.name).list(
        name=fields["name"], lang=fields["lang"]
    ):
        if other["id"] != template_id:
            raise Conflict(
                f"A template named '{fields['name']}' in language '{fields['lang']}' already"
                f" exists (id {other['id']})."
            )


@route("GET", WA_PATH)
def _wa_list(request: Request) -> Reply:
    _only_query(request, {"category", "status", "phoneNumberId", "page", "size"})
    category = _choice(request, "category", _CATEGORIES)
    status = _choice(request, "status", _STATUSES)
    number = request.query_int("phoneNumberId", -1, minimum=1)
    templates = request.collection(WA_TEMPLATES.name)
    items = [_reviewed(request, item) for item in templates.list()]
    items = [
        _public(item)
        for item in items
        if (category is None or item.get("category") == category)
        and (status is None or item.get("status") == status)
        and (number == -1 or item.get("phoneNumberId") == number)
    ]
    return paginate_page_size(request, items)


@route("POST", WA_PATH)
def _wa_create(request: Request) -> Reply:
    _only_query(request, {"phoneNumberId"})
    if not request.query.get("phoneNumberId"):
        raise BadRequest("'phoneNumberId' can't be blank")
    number = request.query_int("phoneNumberId", 0, minimum=1)
    if not any(p.get("id") == number for p in request.settings.phone_numbers):
        raise NotFound(f"WhatsApp phone number {number} not found.")
    body = request.decode(WhatsAppTemplateCreate)
    given = without_nulls(msgspec.to_builtins(body))
    check_whatsapp(given)
    _check_unique(request, given, None)
    fields = {**given, "buttons": given.get("buttons", []), "phoneNumberId": number}
    fields.update(_pending(request))
    return created(_public(request.collection(WA_TEMPLATES.name).create(fields)))


@route("GET", WA_PATH + "/{id}")
def _wa_get(request: Request) -> Reply:
    item = request.collection(WA_TEMPLATES.name).get(request.path_int("id"))
    return json(_public(_reviewed(request, item)))


@route("PATCH", WA_PATH + "/{id}")
def _wa_update(request: Request) -> Reply:
    templates = request.collection(WA_TEMPLATES.name)
    template_id = request.path_int("id")
    old = templates.get(template_id)
    patch = msgspec.to_builtins(request.decode(WhatsAppTemplatePatch))
    keep = ("id", WA_TEMPLATES.created, WA_TEMPLATES.updated)
    merged = {k: v for k, v in old.items() if k not in keep}
    for name, value in patch.items():
        if value is None:
            merged.pop(name, None)  # null clears an optional field
        else:
            merged[name] = without_nulls(value)
    merged.setdefault("buttons", [])
    check_whatsapp(merged)
    _check_unique(request, merged, template_id)
    merged.update(_pending(request))
    return json(_public(templates.replace(template_id, merged)))


@route("DELETE", WA_PATH + "/{id}")
def _wa_delete(request: Request) -> Reply:
    request.collection(WA_TEMPLATES.name).delete(request.path_int("id"))
    return no_content()
