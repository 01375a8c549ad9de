"""Contacts and contact lists: ``/partner-gateway/v1/contacts`` and ``.../contacts/list``.

The reference gives the contact fields (``phone`` required, in international format, and
``firstName`` ... ``groupId``), that update takes the same fields, that bulk deletes take a JSON
array of ids, the list fields (``id``, ``name``, ``description``, ``numContacts``,
``creationDate``), the membership body (``listIds`` required, ``contactIds`` required unless
``allContacts``, ``excludeIdsAllContacts``), and the import flow (upload, then confirm with
``mappings`` and ``listId`` or ``newList``). Where it is silent, the simulator decides:

* a contact is every documented field (``null`` when not given) plus ``valid`` and ``channels``
  (what the list filters ``valid`` and ``channel`` read; a contact made here is valid and
  reachable by ``["SMS"]``), ``creationDate`` and ``lastUpdateDate``; create answers 201;
* ``PUT`` merges: a field left out stays, ``null`` clears it (``phone`` cannot be cleared);
* ``phone`` is ``+`` then 6 to 15 digits, the first not 0;
* list filters: ``name`` (in first, last or full name), ``phone``, ``email`` (substrings, case
  ignored), ``gender`` (equal, case ignored), ``valid`` (``true``/``false``), ``channel``
  (``SMS``/``RCS``/``WHATSAPP``); list members add ``sortBy`` (a contact field) and
  ``sortOrder`` (``asc``/``desc``). Any other query parameter is a 400;
* a bulk delete or a membership change naming an id that does not exist is a 404 and changes
  nothing; adding a member twice keeps one; both answer 204; deleting a contact takes it out
  of its lists; ``DELETE .../list/contacts/{id}`` takes the contact out of every list;
* with ``allContacts: true`` the membership body means every contact but the excluded ones
  (``contactIds``, if given too, must exist and add nothing); ``excludeIdsAllContacts``
  without it is a 400;
* imports: see :func:`_upload` and :func:`_confirm`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Final

import msgspec
from msgspec import UNSET, UnsetType

from ._api import (
    BadRequest,
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
from ._contacts_imports import (
    Table,
    apply_mappings,
    column_index,
    read_csv,
    read_vcard,
    spreadsheet_kind,
)
from ._media_multipart import parse_form

__all__ = ["CONTACTS", "CONTACT_LISTS", "UPLOADS"]

PATH = "/partner-gateway/v1/contacts"
LISTS = PATH + "/list"

FIELDS: Final = (
    "phone",
    "firstName",
    "lastName",
    "fullName",
    "mainEmail",
    "gender",
    "birthDate",
    "city",
    "province",
    "cap",
    "nation",
    "fax",
    "address",
    "company",
    "groupId",
)
CHANNELS: Final = ("SMS", "RCS", "WHATSAPP")
PHONE: Final = re.compile(r"\+[1-9][0-9]{5,14}")
PREVIEW_ROWS: Final = 10


def _seed_contact(i: int) -> dict[str, Any]:
    fields: dict[str, Any] = dict.fromkeys(FIELDS)
    fields.update(
        phone=f"+39320{i:07d}",
        firstName=f"Name{i:04d}",
        lastName=f"Surname{i:04d}",
        fullName=f"Name{i:04d} Surname{i:04d}",
        mainEmail=f"contact{i:04d}@example.com",
        gender=("F", "M")[i % 2],
    )
    fields.update(valid=True, channels=["SMS", "RCS"] if i % 3 == 0 else ["SMS"])
    return fields


CONTACTS = define_collection("contacts", "Contact", seed=_seed_contact)
CONTACT_LISTS = define_collection(
    "contact_lists",
    "Contact list",
    updated=None,
    seed=lambda i: {"name": f"List {i:04d}", "description": None, "contactIds": []},
)
UPLOADS = define_collection("contact_uploads", "Upload", updated=None)
"""Pending imports (``{"kind": "file"|"vcard", "fileName", "columns", "rows"}``)."""


# ----------------------------------------------------------------------------- bodies


class ContactCreate(Strict):
    """``POST /partner-gateway/v1/contacts``."""

    phone: str
    first_name: str | None = None
    last_name: str | None = None
    full_name: str | None = None
    main_email: str | None = None
    gender: str | None = None
    birth_date: str | None = None
    city: str | None = None
    province: str | None = None
    cap: str | None = None
    nation: str | None = None
    fax: str | None = None
    address: str | None = None
    company: str | None = None
    group_id: str | None = None


class ContactUpdate(Strict):
    """``PUT /partner-gateway/v1/contacts/{id}``: the create fields, each optional."""

    phone: str | UnsetType | None = UNSET
    first_name: str | UnsetType | None = UNSET
    last_name: str | UnsetType | None = UNSET
    full_name: str | UnsetType | None = UNSET
    main_email: str | UnsetType | None = UNSET
    gender: str | UnsetType | None = UNSET
    birth_date: str | UnsetType | None = UNSET
    city: str | UnsetType | None = UNSET
    province: str | UnsetType | None = UNSET
    cap: str | UnsetType | None = UNSET
    nation: str | UnsetType | None = UNSET
    fax: str | UnsetType | None = UNSET
    address: str | UnsetType | None = UNSET
    company: str | UnsetType | None = UNSET
    group_id: str | UnsetType | None = UNSET


class ListCreate(Strict):
    """``POST .../contacts/list``."""

    name: str
    description: str | None = None


class ListUpdate(Strict):
    """``PUT .../contacts/list/{id}``."""

    name: str | UnsetType | None = UNSET
    description: str | UnsetType | None = UNSET


class Membership(Strict):
    """``POST`` and ``DELETE .../contacts/list/contacts``."""

    list_ids: list[int]
    contact_ids: list[int] | None = None
    all_contacts: bool = False
    exclude_ids_all_contacts: list[int] | None = None


class ColumnMapping(Strict):
    """One of ``mappings``: a column (0-based index or header name) to a contact field."""

    column: int | str
    field: str


class NewList(Strict):
    """``newList`` of a confirm."""

    name: str
    description: str | None = None


class Confirm(Strict):
    """``POST .../contacts/mapped/file`` and ``.../mapped/vcard``."""

    mappings: list[ColumnMapping]
    list_id: int | None = None
    new_list: NewList | None = None


# ----------------------------------------------------------------------------- helpers


def _check_phone(phone: str) -> str:
    if not PHONE.fullmatch(phone):
        raise BadRequest(
            f"'phone' must be in international format (+ and 6 to 15 digits), got {phone[:40]!r}"
        )
    return phone


def _only(request: Request, allowed: Iterable[str]) -> None:
    names = set(allowed) | {"offset", "limit", "page", "size"}  # page/size: paginate's 400
    for name, _ in request.raw_query:
        if name not in names:
            raise BadRequest(f"Unsupported query parameter '{name}'")


def _bool_query(request: Request, name: str) -> bool | None:
    value = request.query.get(name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise BadRequest(f"'{name}' must be true or false, got {value[:20]!r}")
    return value == "true"


def _contains(value: Any, needle: str) -> bool:
    return isinstance(value, str) and needle.casefold() in value.casefold()


def _filters(request: Request, names: Iterable[str]) -> Callable[[Item], bool]:
    """The contact filters of the query (those in ``names``) as one predicate."""
    q = {name: request.query[name] for name in names if name in request.query}
    valid = _bool_query(request, "valid") if "valid" in names else None
    channel = q.get("channel")
    if channel is not None and channel.upper() not in CHANNELS:
        raise BadRequest(f"'channel' must be one of {', '.join(CHANNELS)}, got {channel[:20]!r}")

    def where(c: Item) -> bool:
        if "name" in q and not any(
            _contains(c.get(f), q["name"]) for f in ("firstName", "lastName", "fullName")
        ):
            return False
        if "phone" in q and not _contains(c.get("phone"), q["phone"]):
            return False
        if "email" in q and not _contains(c.get("mainEmail"), q["email"]):
            return False
        if "gender" in q and str(c.get("gender") or "").casefold() != q["gender"].casefold():
            return False
        if valid is not None and bool(c.get("valid", True)) != valid:
            return False
        return channel is None or channel.upper() in (c.get("channels") or [])

    return where


def _new_contact(fields: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = dict.fromkeys(FIELDS)
    item.update(fields)
    item.update(valid=True, channels=["SMS"])
    return item


def _public_list(item: Item) -> Item:
    return {
        "id": item["id"],
        "name": item["name"],
        "description": item.get("description"),
        "numContacts": len(item.get("contactIds", [])),
        "creationDate": item.get("creationDate"),
    }


def _existing(request: Request, name: str, ids: Iterable[int]) -> list[int]:
    """``ids`` deduplicated in order; a 404 naming the first that does not exist."""
    collection = request.collection(name)
    out: list[int] = []
    for item_id in ids:
        collection.get(item_id)  # NotFound
        if item_id not in out:
            out.append(item_id)
    return out


def _ids_body(request: Request) -> list[int]:
    ids = request.decode(list[int])
    if not ids:
        raise BadRequest("'body' must hold at least one id")
    return ids


# ----------------------------------------------------------------------------- contacts


@route("GET", PATH)
def _list(request: Request) -> Reply:
    names = ("name", "phone", "email", "gender", "valid", "channel")
    _only(request, names)
    items = request.collection(CONTACTS.name).list(_filters(request, names))
    return paginate_offset(request, items)


@route("POST", PATH)
def _create(request: Request) -> Reply:
    body = request.decode(ContactCreate)
    _check_phone(body.phone)
    fields = msgspec.to_builtins(body)
    return created(request.collection(CONTACTS.name).create(_new_contact(fields)))


@route("GET", PATH + "/{id}")
def _get(request: Request) -> Reply:
    return json(request.collection(CONTACTS.name).get(request.path_int("id")))


@route("PUT", PATH + "/{id}")
def _update(request: Request) -> Reply:
    contact_id = request.path_int("id")
    body = request.decode(ContactUpdate)
    if body.phone is None:
        raise BadRequest("'phone' can't be blank")
    if isinstance(body.phone, str):
        _check_phone(body.phone)
    changes = msgspec.to_builtins(body)
    return json(request.collection(CONTACTS.name).update(contact_id, changes))


@route("DELETE", PATH)
def _delete(request: Request) -> Reply:
    ids = _existing(request, CONTACTS.name, _ids_body(request))
    contacts = request.collection(CONTACTS.name)
    for contact_id in ids:
        contacts.delete(contact_id)
    _drop_members(request, set(ids))
    return no_content()


def _drop_members(request: Request, ids: set[int], list_ids: Iterable[int] | None = None) -> None:
    lists = request.collection(CONTACT_LISTS.name)
    targets = set(list_ids) if list_ids is not None else None
    for item in lists.list():
        if targets is not None and item["id"] not in targets:
            continue
        members = item.get("contactIds", [])
        kept = [m for m in members if m not in ids]
        if len(kept) != len(members):
            lists.update(item["id"], {"contactIds": kept})


# ----------------------------------------------------------------------------- imports


def _store_upload(request: Request, kind: str, filename: str | None, table: Table) -> Reply:
    columns, rows = table
    uploads = request.collection(UPLOADS.name)
    for old in uploads.list(kind=kind):  # only the last upload of each kind is kept
        uploads.delete(old["id"])
    item = uploads.create({"kind": kind, "fileName": filename, "columns": columns, "rows": rows})
    return json(
        {
            "id": item["id"],
            "fileName": filename,
            "columns": columns,
            "rows": rows[:PREVIEW_ROWS],
            "totalRows": len(rows),
        }
    )


def _file_part(request: Request) -> Any:
    form = parse_form(request.body)
    for name in form:
        if name != "file":
            raise BadRequest(f"'{name}' is not a known field")
    part = form.get("file")
    if part is None:
        raise BadRequest("'file' can't be blank")
    if not part.content:
        raise BadRequest("'file' is empty")
    return part


@route("POST", PATH + "/upload")
def _upload(request: Request) -> Reply:
    """A CSV (UTF-8, comma or semicolon, first row the header) answers its ``columns``, its
    first 10 ``rows`` and ``totalRows``. An Excel file (``.xlsx``/``.xls``, by its magic bytes)
    is accepted, but the simulator does not read its cells: it answers no columns and no rows.
    Anything else is a 400."""
    part = _file_part(request)
    kind = spreadsheet_kind(part)
    table: Table = read_csv(part) if kind == "csv" else ([], [])
    return _store_upload(request, "file", part.filename, table)


@route("POST", PATH + "/upload/vcard")
def _upload_vcard(request: Request) -> Reply:
    """vCard text: one row per card; the columns are the properties met (``FN``, ``N``, ``TEL``,
    ``EMAIL``, ``ORG``, ``ADR``, ``BDAY``, ``NOTE``)."""
    part = _file_part(request)
    return _store_upload(request, "vcard", part.filename, read_vcard(part))


def _confirm(request: Request, kind: str) -> Reply:
    """Create a contact from each row of the last upload (of ``kind``), with ``mappings``
    ({"column": index or header, "field": contact field}; one must be ``phone``); rows whose
    phone is not in international format are ``rejected`` (1-based row numbers, header not
    counted). The contacts join ``listId`` or a ``newList`` made now. The upload is used up."""
    body = request.decode(Confirm)
    uploads = request.collection(UPLOADS.name)
    pending = uploads.list(kind=kind)
    if not pending:
        raise BadRequest("No uploaded file to confirm: upload one first")
    upload = pending[-1]
    columns, rows = upload["columns"], upload["rows"]
    if not body.mappings:
        raise BadRequest("'mappings' can't be empty")
    pairs: list[tuple[int, str]] = []
    for i, mapping in enumerate(body.mappings):
        where = f"mappings[{i}]"
        if mapping.field not in FIELDS:
            raise BadRequest(f"'{where}.field' is not a contact field: {mapping.field[:40]!r}")
        if any(mapping.field == f for _, f in pairs):
            raise BadRequest(f"'{where}.field' maps {mapping.field} twice")
        pairs.append((column_index(mapping.column, columns, where), mapping.field))
    if "phone" not in (f for _, f in pairs):
        raise BadRequest("'mappings' must map a column to 'phone'")
    if body.list_id is not None and body.new_list is not None:
        raise BadRequest("'listId' and 'newList' cannot both be given")
    lists = request.collection(CONTACT_LISTS.name)
    if body.list_id is not None:
        target: Item | None = lists.get(body.list_id)
    elif body.new_list is not None:
        if not body.new_list.name.strip():
            raise BadRequest("'newList.name' can't be blank")
        target = lists.create(
            {"name": body.new_list.name, "description": body.new_list.description, "contactIds": []}
        )
    else:
        target = None
    contacts = request.collection(CONTACTS.name)
    made: list[int] = []
    rejected: list[dict[str, Any]] = []
    for number, fields in enumerate(apply_mappings(columns, rows, pairs), start=1):
        phone = fields.get("phone")
        if not isinstance(phone, str) or not PHONE.fullmatch(phone):
            rejected.append({"row": number, "reason": f"invalid phone {phone!r}"})
            continue
        made.append(contacts.create(_new_contact(fields))["id"])
    if target is not None:
        members = target.get("contactIds", [])
        lists.update(target["id"], {"contactIds": members + made})
    uploads.delete(upload["id"])
    return json(
        {
            "imported": len(made),
            "rejected": rejected,
            "listId": target["id"] if target is not None else None,
        }
    )


@route("POST", PATH + "/mapped/file")
def _confirm_file(request: Request) -> Reply:
    return _confirm(request, "file")


@route("POST", PATH + "/mapped/vcard")
def _confirm_vcard(request: Request) -> Reply:
    return _confirm(request, "vcard")


# ----------------------------------------------------------------------------- lists


@route("GET", LISTS)
def _lists(request: Request) -> Reply:
    _only(request, ())
    items = [_public_list(item) for item in request.collection(CONTACT_LISTS.name).list()]
    return paginate_offset(request, items)


@route("POST", LISTS)
def _create_list(request: Request) -> Reply:
    body = request.decode(ListCreate)
    if not body.name.strip():
        raise BadRequest("'name' can't be blank")
    item = request.collection(CONTACT_LISTS.name).create(
        {"name": body.name, "description": body.description, "contactIds": []}
    )
    return created(_public_list(item))


@route("GET", LISTS + "/{id}")
def _get_list(request: Request) -> Reply:
    return json(_public_list(request.collection(CONTACT_LISTS.name).get(request.path_int("id"))))


@route("PUT", LISTS + "/{id}")
def _update_list(request: Request) -> Reply:
    list_id = request.path_int("id")
    body = request.decode(ListUpdate)
    if body.name is None or (isinstance(body.name, str) and not body.name.strip()):
        raise BadRequest("'name' can't be blank")
    changes = msgspec.to_builtins(body)
    return json(_public_list(request.collection(CONTACT_LISTS.name).update(list_id, changes)))


@route("DELETE", LISTS)
def _delete_lists(request: Request) -> Reply:
    ids = _existing(request, CONTACT_LISTS.name, _ids_body(request))
    lists = request.collection(CONTACT_LISTS.name)
    for list_id in ids:
        lists.delete(list_id)
    return no_content()


def _membership(request: Request) -> tuple[list[int], set[int]]:
    """The lists and the contacts a membership body names (404 for any that does not exist)."""
    body = request.decode(Membership)
    if not body.list_ids:
        raise BadRequest("'listIds' can't be empty")
    if body.all_contacts:
        # contactIds may come along (the reference only requires them without allContacts):
        # they must exist, and all contacts include them anyway.
        _existing(request, CONTACTS.name, body.contact_ids or [])
        excluded = set(_existing(request, CONTACTS.name, body.exclude_ids_all_contacts or []))
        list_ids = _existing(request, CONTACT_LISTS.name, body.list_ids)
        every = request.collection(CONTACTS.name).list()
        return list_ids, {c["id"] for c in every if c["id"] not in excluded}
    if body.exclude_ids_all_contacts is not None:
        raise BadRequest("'excludeIdsAllContacts' goes with 'allContacts': true")
    if body.contact_ids is None:
        raise BadRequest("'contactIds' can't be blank unless 'allContacts' is true")
    if not body.contact_ids:
        raise BadRequest("'contactIds' can't be empty")
    list_ids = _existing(request, CONTACT_LISTS.name, body.list_ids)
    return list_ids, set(_existing(request, CONTACTS.name, body.contact_ids))


@route("POST", LISTS + "/contacts")
def _add_members(request: Request) -> Reply:
    list_ids, ids = _membership(request)
    lists = request.collection(CONTACT_LISTS.name)
    for list_id in list_ids:
        members = lists.get(list_id).get("contactIds", [])
        extra = sorted(ids - set(members))
        lists.update(list_id, {"contactIds": members + extra})
    return no_content()


@route("DELETE", LISTS + "/contacts")
def _remove_members(request: Request) -> Reply:
    list_ids, ids = _membership(request)
    _drop_members(request, ids, list_ids)
    return no_content()


@route("DELETE", LISTS + "/contacts/{id}")
def _remove_member(request: Request) -> Reply:
    contact_id = request.path_int("id")
    request.collection(CONTACTS.name).get(contact_id)  # NotFound
    _drop_members(request, {contact_id})
    return no_content()


_SORTABLE: Final = ("id", *FIELDS, "creationDate", "lastUpdateDate")


@route("GET", LISTS + "/{listId}/contacts")
def _members(request: Request) -> Reply:
    """A list's contacts in the order they joined, or sorted by ``sortBy`` (``sortOrder``
    ``asc`` by default, or ``desc``; missing values last)."""
    names = ("name", "phone", "email")
    _only(request, (*names, "sortBy", "sortOrder"))
    members = request.collection(CONTACT_LISTS.name).get(request.path_int("listId"))
    sort_by = request.query.get("sortBy")
    order = request.query.get("sortOrder", "asc").lower()
    if sort_by is not None and sort_by not in _SORTABLE:
        raise BadRequest(f"'sortBy' must be a contact field, got {sort_by[:40]!r}")
    if order not in ("asc", "desc"):
        raise BadRequest(f"'sortOrder' must be asc or desc, got {order[:20]!r}")
    where = _filters(request, names)
    by_id = {c["id"]: c for c in request.collection(CONTACTS.name).list(where)}
    items = [by_id[i] for i in members.get("contactIds", []) if i in by_id]
    if sort_by is not None:
        present = [c for c in items if c.get(sort_by) is not None]
        missing = [c for c in items if c.get(sort_by) is None]
        present.sort(key=lambda c: c[sort_by], reverse=order == "desc")
        items = present + missing
    elif order == "desc":
        items.reverse()
    return paginate_offset(request, items)
