"""``client.contacts`` and ``client.contact_lists``: bodies as the docs list them, "not given"
versus ``null`` on update, bulk deletes, membership rules, uploads typed by content."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qlara_async import APIConnectionError, ValidationError

from ._fakes import make_client, recording_handler

pytestmark = pytest.mark.anyio

GW = "/api/partner-gateway/v1"


async def test_create_sends_only_what_was_given() -> None:
    """``POST /contacts`` with camelCase fields; ``None`` keywords are left out."""
    handler, seen = recording_handler(
        {"id": 5, "phone": "+393201234567", "firstName": "Marco"}, 201
    )
    client, _, _ = make_client(handler)
    async with client:
        contact = await client.contacts.create(
            phone="+393201234567", first_name="Marco", main_email="m@example.com", city=None
        )
    assert seen[0][:3] == (
        "POST",
        f"{GW}/contacts",
        {"phone": "+393201234567", "firstName": "Marco", "mainEmail": "m@example.com"},
    )
    assert (contact.id, contact.first_name) == (5, "Marco")


async def test_update_tells_not_given_from_null() -> None:
    """``PUT`` sends the fields given; ``None`` clears one (``null``), others stay out."""
    handler, seen = recording_handler({"id": 5})
    client, _, _ = make_client(handler)
    async with client:
        await client.contacts.update(5, city="Roma", company=None)
        await client.contact_lists.update(9, description=None)
    assert seen[0][:3] == ("PUT", f"{GW}/contacts/5", {"city": "Roma", "company": None})
    assert seen[1][:3] == ("PUT", f"{GW}/contacts/list/9", {"description": None})


async def test_create_is_not_retried_once_it_may_have_arrived() -> None:
    """A contact create whose answer was lost is not re-POSTed (it would be a duplicate)."""
    calls: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("lost")

    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(APIConnectionError) as info:
            await client.contacts.create(phone="+393201234567")
    assert len(calls) == 1 and info.value.ambiguous


async def test_bulk_deletes_send_the_ids_as_the_body() -> None:
    """``DELETE /contacts`` and ``DELETE /contacts/list`` take an array of ids."""
    handler, seen = recording_handler()
    client, _, _ = make_client(handler)
    async with client:
        await client.contacts.delete([1, 2, 3])
        await client.contact_lists.delete((7,))
        await client.contact_lists.remove_contact(4)
    assert [s[:3] for s in seen] == [
        ("DELETE", f"{GW}/contacts", [1, 2, 3]),
        ("DELETE", f"{GW}/contacts/list", [7]),
        ("DELETE", f"{GW}/contacts/list/contacts/4", b""),
    ]


async def test_membership_bodies() -> None:
    """Add and remove take ``listIds`` with ``contactIds`` or ``allContacts`` (+ exclusions)."""
    handler, seen = recording_handler()
    client, _, _ = make_client(handler)
    async with client:
        await client.contact_lists.add_contacts(list_ids=[1, 2], contact_ids=[10, 11])
        await client.contact_lists.remove_contacts(
            list_ids=[1], all_contacts=True, exclude_ids_all_contacts=[10]
        )
    assert seen[0][:3] == (
        "POST",
        f"{GW}/contacts/list/contacts",
        {"listIds": [1, 2], "contactIds": [10, 11]},
    )
    assert seen[1][:3] == (
        "DELETE",
        f"{GW}/contacts/list/contacts",
        {"listIds": [1], "allContacts": True, "excludeIdsAllContacts": [10]},
    )


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda c: c.contacts.create(phone="3201234567"), "phone"),
        (lambda c: c.contacts.create(phone=None), "phone"),
        (lambda c: c.contacts.delete([]), "ids"),
        (lambda c: c.contacts.delete("12"), "ids"),
        (lambda c: c.contact_lists.create(name=""), "name"),
        (lambda c: c.contact_lists.add_contacts(list_ids=[1]), "contactIds"),
        (lambda c: c.contact_lists.add_contacts(list_ids=[], contact_ids=[1]), "listIds"),
        (
            lambda c: c.contact_lists.add_contacts(
                list_ids=[1], contact_ids=[1], exclude_ids_all_contacts=[2]
            ),
            "excludeIdsAllContacts",
        ),
        (lambda c: c.contacts.confirm_upload(mappings=[]), "mappings"),
        (
            lambda c: c.contacts.confirm_upload(mappings=[{}], list_id=1, new_list={"name": "x"}),
            "listId",
        ),
    ],
)
async def test_bad_input_is_refused_before_any_request(call: Any, field: str) -> None:
    """Each documented rule, checked before anything leaves."""
    handler, seen = recording_handler({})
    client, _, _ = make_client(handler)
    async with client:
        with pytest.raises(ValidationError) as info:
            await call(client)
    assert info.value.field == field and seen == []


async def test_uploads_are_typed_by_content() -> None:
    """A CSV goes as text/csv, a vCard as text/vcard; a PNG is no contacts file."""
    handler, seen = recording_handler({"columns": ["phone", "name"], "rows": [["+39", "a"]]})
    client, _, _ = make_client(handler)
    async with client:
        parsed = await client.contacts.upload(b"phone,name\n+393201234567,Marco\n")
        await client.contacts.upload_vcard(b"BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\n")
        with pytest.raises(ValidationError):
            await client.contacts.upload(b"\x89PNG\r\n\x1a\n....")
        await client.contacts.confirm_upload(
            mappings=[{"column": 0, "field": "phone"}], new_list={"name": "Imported"}
        )
    assert parsed.columns == ["phone", "name"]
    assert seen[0][1] == f"{GW}/contacts/upload" and b"Content-Type: text/csv" in seen[0][2]
    assert seen[1][1] == f"{GW}/contacts/upload/vcard" and b"text/vcard" in seen[1][2]
    assert seen[2][:3] == (
        "POST",
        f"{GW}/contacts/mapped/file",
        {"mappings": [{"column": 0, "field": "phone"}], "newList": {"name": "Imported"}},
    )


async def test_members_page_with_filters() -> None:
    """``GET /contacts/list/{listId}/contacts`` with name/phone/email and sorting."""
    handler, seen = recording_handler({"data": [{"id": 1}], "pagination": {"total": 1}})
    client, _, _ = make_client(handler)
    async with client:
        members = [
            m
            async for m in client.contact_lists.members(
                3, name="Ro", sort_by="name", sort_order="asc"
            )
        ]
    assert [m.id for m in members] == [1]
    assert seen[0][1] == f"{GW}/contacts/list/3/contacts"
    assert seen[0][3] == {
        "name": "Ro",
        "sortBy": "name",
        "sortOrder": "asc",
        "offset": "0",
        "limit": "100",
    }
