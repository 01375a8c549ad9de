"""Contacts and contact lists (``/partner-gateway/v1/contacts``, ``.../contacts/list``).

Update bodies tell "not given" from ``null``: a field left out of ``update(...)`` is left out of
the body (``msgspec.UNSET``), while ``None`` is sent as ``null`` to clear it.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from ._base import InputModel, Model, PositiveInt

__all__ = [
    "Contact",
    "ContactFields",
    "ContactList",
    "ContactListFields",
    "ListMembership",
    "MappingConfirmation",
    "NewList",
    "Upload",
]

Text = Annotated[str, msgspec.Meta(max_length=1000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
Phone = Annotated[str, msgspec.Meta(pattern=r"^\+[0-9]{6,15}$")]


class ContactFields(InputModel, kw_only=True, omit_defaults=True):
    """The body of create (``phone`` required) and update (every field optional)."""

    phone: Phone | UnsetType = UNSET
    """International format, e.g. ``+393201234567``."""
    first_name: Text | UnsetType | None = UNSET
    last_name: Text | UnsetType | None = UNSET
    full_name: Text | UnsetType | None = UNSET
    main_email: Text | UnsetType | None = UNSET
    gender: Text | UnsetType | None = UNSET
    birth_date: Text | UnsetType | None = UNSET
    city: Text | UnsetType | None = UNSET
    province: Text | UnsetType | None = UNSET
    cap: Text | UnsetType | None = UNSET
    """ZIP or postal code."""
    nation: Text | UnsetType | None = UNSET
    fax: Text | UnsetType | None = UNSET
    address: Text | UnsetType | None = UNSET
    company: Text | UnsetType | None = UNSET
    group_id: Text | UnsetType | None = UNSET


class Contact(Model, kw_only=True):
    """A contact as the API returns it (fields not named here are ignored)."""

    id: int | str | None = None
    phone: str | None = None
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
    creation_date: str | None = None


class ContactListFields(InputModel, kw_only=True, omit_defaults=True):
    """The body of a list's create (``name`` required) and update."""

    name: Name | UnsetType = UNSET
    description: Text | UnsetType | None = UNSET


class ContactList(Model, kw_only=True):
    """A contact list: ``id``, ``name``, ``description``, ``num_contacts``, ``creation_date``."""

    id: int | str | None = None
    name: str | None = None
    description: str | None = None
    num_contacts: int | None = None
    creation_date: str | None = None


class ListMembership(InputModel, kw_only=True, omit_defaults=True):
    """The body of adding contacts to lists, or removing them."""

    list_ids: Annotated[list[PositiveInt], msgspec.Meta(min_length=1)]
    contact_ids: list[int | str] | UnsetType = UNSET
    all_contacts: bool | UnsetType = UNSET
    exclude_ids_all_contacts: list[int | str] | UnsetType = UNSET


class NewList(InputModel, kw_only=True):
    """A list an import creates: ``{"name": ..., "description": ...}``."""

    name: Name
    description: Text | None = None


class MappingConfirmation(InputModel, kw_only=True, omit_defaults=True):
    """The body confirming an upload's column mapping."""

    mappings: Annotated[list[Any], msgspec.Meta(min_length=1)]
    list_id: PositiveInt | UnsetType = UNSET
    new_list: NewList | UnsetType = UNSET


class Upload(Model, kw_only=True):
    """The answer to an upload: the parsed rows to map columns from (shape not documented)."""

    id: int | str | None = None
    columns: list[Any] | None = None
    rows: list[Any] | None = None
    data: Any = None
