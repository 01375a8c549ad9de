"""``client.contacts`` and ``client.contact_lists``: the address book, its lists and imports."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from msgspec import UNSET, UnsetType

from .._exceptions import ValidationError
from .._pagination import AsyncPaginator
from .._resource import Resource, as_list, path_param
from .._uploads import FileInput, Upload
from ..models import MAX_ID, checked
from ..models.contacts import (
    Contact,
    ContactFields,
    ContactList,
    ContactListFields,
    ListMembership,
    MappingConfirmation,
    NewList,
)
from ..models.contacts import Upload as UploadResult

__all__ = ["ContactListsResource", "ContactsResource"]

_CONTACTS = "/partner-gateway/v1/contacts"
_LISTS = "/partner-gateway/v1/contacts/list"

_SPREADSHEETS = (
    "text/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.ms-excel",
)


def _given(values: Mapping[str, Any], *, none_is_unset: bool) -> dict[str, Any]:
    """The keyword arguments a caller gave (``UNSET``: left out; ``None`` clears a field on
    update, and means "left out" on create)."""
    out = {}
    for name, value in values.items():
        if name in ("self", "id") or value is UNSET or (none_is_unset and value is None):
            continue
        out[name] = value
    return out


def _ids(name: str, values: Iterable[int | str]) -> list[int | str]:
    ids = as_list(name, values)
    if not ids:
        raise ValidationError(f"{name} must hold at least one id", field=name)
    for value in ids:
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, str))
            or value == ""
            or (isinstance(value, int) and not 0 < value <= MAX_ID)
        ):
            shown = type(value).__name__ if isinstance(value, int) else repr(value)[:40]
            raise ValidationError(f"{name} holds a {shown} that is not an id", field=name)
    return ids


class ContactsResource(Resource):
    """Contacts: list, create, get, update, delete, and CSV/Excel/vCard imports."""

    def list(
        self,
        *,
        name: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        gender: str | None = None,
        valid: bool | None = None,
        channel: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[Contact]:
        """Contacts matching the filters, page by page (offset/limit, up to 100 a page).

        The docs name the filters (name, phone, email, gender, validity, channel support)
        but not their query spelling; these keywords send them as ``name``, ``phone``,
        ``email``, ``gender``, ``valid`` and ``channel``.
        """
        params = {
            "name": name,
            "phone": phone,
            "email": email,
            "gender": gender,
            "valid": valid,
            "channel": channel,
        }
        return self._api.paginate(_CONTACTS, item=Contact, params=params, page_size=page_size)

    async def create(
        self,
        *,
        phone: str,
        first_name: str | None = None,
        last_name: str | None = None,
        full_name: str | None = None,
        main_email: str | None = None,
        gender: str | None = None,
        birth_date: str | None = None,
        city: str | None = None,
        province: str | None = None,
        cap: str | None = None,
        nation: str | None = None,
        fax: str | None = None,
        address: str | None = None,
        company: str | None = None,
        group_id: str | None = None,
    ) -> Contact:
        """Add a contact. Not retried once it may have arrived (a retry could add it twice)."""
        body = checked(ContactFields(**_given(locals(), none_is_unset=True)))
        if body.phone is UNSET:
            raise ValidationError("phone is required", field="phone")
        return await self._api.post(_CONTACTS, body=body, cast=Contact)

    async def get(self, id: int | str) -> Contact:
        """One contact."""
        return await self._api.get(f"{_CONTACTS}/{path_param('id', id)}", cast=Contact)

    async def update(
        self,
        id: int | str,
        *,
        phone: str | UnsetType = UNSET,
        first_name: str | UnsetType | None = UNSET,
        last_name: str | UnsetType | None = UNSET,
        full_name: str | UnsetType | None = UNSET,
        main_email: str | UnsetType | None = UNSET,
        gender: str | UnsetType | None = UNSET,
        birth_date: str | UnsetType | None = UNSET,
        city: str | UnsetType | None = UNSET,
        province: str | UnsetType | None = UNSET,
        cap: str | UnsetType | None = UNSET,
        nation: str | UnsetType | None = UNSET,
        fax: str | UnsetType | None = UNSET,
        address: str | UnsetType | None = UNSET,
        company: str | UnsetType | None = UNSET,
        group_id: str | UnsetType | None = UNSET,
    ) -> Contact:
        """Change a contact (``PUT``): fields left out are not sent; ``None`` sends ``null``."""
        body = checked(ContactFields(**_given(locals(), none_is_unset=False)))
        return await self._api.put(f"{_CONTACTS}/{path_param('id', id)}", body=body, cast=Contact)

    async def delete(self, ids: Iterable[int | str]) -> None:
        """Delete contacts by id (``DELETE`` with the ids as the body)."""
        await self._api.delete(_CONTACTS, body=_ids("ids", ids))

    async def upload(self, file: FileInput) -> UploadResult:
        """Upload a CSV or Excel file of contacts; the answer holds the parsed rows, to map
        columns from (then ``confirm_upload``). Typed by its content, not its name."""
        upload = Upload(file, allowed=_SPREADSHEETS, fallback_type="text/csv")
        return await self._api.upload(f"{_CONTACTS}/upload", upload, cast=UploadResult)

    async def confirm_upload(
        self,
        *,
        mappings: Iterable[Any],
        list_id: int | None = None,
        new_list: NewList | Mapping[str, Any] | None = None,
    ) -> Any:
        """Import the uploaded file with its column ``mappings`` into ``list_id`` or a
        ``new_list`` (``{"name": ..., "description": ...}``)."""
        body = _confirmation(mappings, list_id, new_list)
        return await self._api.post(f"{_CONTACTS}/mapped/file", body=body, cast=object)

    async def upload_vcard(self, file: FileInput) -> UploadResult:
        """Upload a vCard file (then ``confirm_vcard``)."""
        upload = Upload(file, allowed=("text/vcard",))
        return await self._api.upload(f"{_CONTACTS}/upload/vcard", upload, cast=UploadResult)

    async def confirm_vcard(
        self,
        *,
        mappings: Iterable[Any],
        list_id: int | None = None,
        new_list: NewList | Mapping[str, Any] | None = None,
    ) -> Any:
        """Import the uploaded vCard file, as ``confirm_upload``."""
        body = _confirmation(mappings, list_id, new_list)
        return await self._api.post(f"{_CONTACTS}/mapped/vcard", body=body, cast=object)


def _confirmation(
    mappings: Iterable[Any], list_id: int | None, new_list: NewList | Mapping[str, Any] | None
) -> MappingConfirmation:
    if list_id is not None and new_list is not None:
        raise ValidationError("give list_id or new_list, not both", field="listId")
    items = as_list("mappings", mappings) or []
    if not all(isinstance(m, Mapping) for m in items):
        raise ValidationError("each mapping must be an object (a dict)", field="mappings")
    fields: dict[str, Any] = {"mappings": items}
    if list_id is not None:
        fields["list_id"] = list_id
    if new_list is not None:
        fields["new_list"] = new_list
    return checked(MappingConfirmation(**fields))


class ContactListsResource(Resource):
    """Contact lists and their members."""

    def list(self, *, page_size: int | None = None) -> AsyncPaginator[ContactList]:
        """Every list, page by page."""
        return self._api.paginate(_LISTS, item=ContactList, page_size=page_size)

    async def create(self, *, name: str, description: str | None = None) -> ContactList:
        """Make a list. Not retried once it may have arrived."""
        body = checked(ContactListFields(**_given(locals(), none_is_unset=True)))
        if body.name is UNSET:
            raise ValidationError("name is required", field="name")
        return await self._api.post(_LISTS, body=body, cast=ContactList)

    async def get(self, id: int | str) -> ContactList:
        """One list."""
        return await self._api.get(f"{_LISTS}/{path_param('id', id)}", cast=ContactList)

    async def update(
        self,
        id: int | str,
        *,
        name: str | UnsetType = UNSET,
        description: str | UnsetType | None = UNSET,
    ) -> ContactList:
        """Rename or describe a list (``PUT``); fields left out are not sent."""
        body = checked(ContactListFields(**_given(locals(), none_is_unset=False)))
        return await self._api.put(f"{_LISTS}/{path_param('id', id)}", body=body, cast=ContactList)

    async def delete(self, ids: Iterable[int]) -> None:
        """Delete lists by id."""
        await self._api.delete(_LISTS, body=_ids("ids", ids))

    async def add_contacts(
        self,
        *,
        list_ids: Iterable[int],
        contact_ids: Iterable[int | str] | None = None,
        all_contacts: bool = False,
        exclude_ids_all_contacts: Iterable[int | str] | None = None,
    ) -> None:
        """Add contacts (``contact_ids``, or ``all_contacts`` minus the excluded) to lists."""
        body = _membership(list_ids, contact_ids, all_contacts, exclude_ids_all_contacts)
        await self._api.post(f"{_LISTS}/contacts", body=body, cast=type(None), idempotent=True)

    async def remove_contacts(
        self,
        *,
        list_ids: Iterable[int],
        contact_ids: Iterable[int | str] | None = None,
        all_contacts: bool = False,
        exclude_ids_all_contacts: Iterable[int | str] | None = None,
    ) -> None:
        """Remove contacts from lists (the same body as ``add_contacts``)."""
        body = _membership(list_ids, contact_ids, all_contacts, exclude_ids_all_contacts)
        await self._api.delete(f"{_LISTS}/contacts", body=body)

    async def remove_contact(self, id: int | str) -> None:
        """Remove one contact from its lists (``DELETE .../contacts/list/contacts/{id}``)."""
        await self._api.delete(f"{_LISTS}/contacts/{path_param('id', id)}")

    def members(
        self,
        list_id: int | str,
        *,
        name: str | None = None,
        phone: str | None = None,
        email: str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        page_size: int | None = None,
    ) -> AsyncPaginator[Contact]:
        """The contacts in a list, page by page, with the docs' filters and sorting."""
        path = f"{_LISTS}/{path_param('listId', list_id)}/contacts"
        params = {
            "name": name,
            "phone": phone,
            "email": email,
            "sortBy": sort_by,
            "sortOrder": sort_order,
        }
        return self._api.paginate(path, item=Contact, params=params, page_size=page_size)


def _membership(
    list_ids: Iterable[int],
    contact_ids: Iterable[int | str] | None,
    all_contacts: bool,
    exclude: Iterable[int | str] | None,
) -> ListMembership:
    if not isinstance(all_contacts, bool):
        raise ValidationError("all_contacts must be a bool", field="allContacts")
    if not all_contacts and contact_ids is None:
        raise ValidationError(
            "contact_ids is required unless all_contacts=True", field="contactIds"
        )
    if exclude is not None and not all_contacts:
        raise ValidationError(
            "exclude_ids_all_contacts goes with all_contacts=True", field="excludeIdsAllContacts"
        )
    fields: dict[str, Any] = {"list_ids": as_list("list_ids", list_ids)}
    if exclude is not None:
        _ids("exclude_ids_all_contacts", exclude)
    if contact_ids is not None:
        fields["contact_ids"] = _ids("contact_ids", contact_ids)
    if all_contacts:
        fields["all_contacts"] = True
    if exclude is not None:
        fields["exclude_ids_all_contacts"] = as_list("exclude_ids_all_contacts", exclude)
    return checked(ListMembership(**fields))
