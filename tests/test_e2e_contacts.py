"""The client's contacts, contact lists and media against the simulator over real HTTP: what
``AsyncQlara`` sends is what the simulator, built from the docs, accepts and answers."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from qlara_async import AsyncQlara, NotFoundError
from qlara_async.testing import Simulator, run_in_thread

pytestmark = [pytest.mark.anyio, pytest.mark.e2e]

KEY = "e2e-key"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32


@pytest.fixture
def sim() -> Simulator:
    return Simulator(api_keys=(KEY,))


@pytest.fixture
def url(sim: Simulator) -> Iterator[str]:
    with run_in_thread(sim) as base_url:
        yield base_url


@pytest.fixture
async def client(url: str, http_backend: str) -> AsyncIterator[AsyncQlara]:
    async with AsyncQlara(api_key=KEY, base_url=url, http_backend=http_backend) as c:
        yield c


async def test_contact_create_get_update_delete(client: AsyncQlara) -> None:
    """Create, get, update (a field left out stays, None clears), delete then get is 404."""
    made = await client.contacts.create(
        phone="+393201234567", first_name="Marco", city="Roma", main_email="m@x.it"
    )
    assert made.id is not None
    got = await client.contacts.get(made.id)
    assert (got.phone, got.first_name, got.city, got.main_email) == (
        "+393201234567",
        "Marco",
        "Roma",
        "m@x.it",
    )
    updated = await client.contacts.update(made.id, last_name="Rossi", city=None)
    assert (updated.first_name, updated.last_name, updated.city, updated.main_email) == (
        "Marco",
        "Rossi",
        None,
        "m@x.it",
    )
    again = await client.contacts.get(made.id)
    assert (again.first_name, again.last_name, again.city) == ("Marco", "Rossi", None)
    await client.contacts.delete([made.id])
    with pytest.raises(NotFoundError):
        await client.contacts.get(made.id)


async def test_lists_and_membership(client: AsyncQlara) -> None:
    """Lists: create, get, update; add_contacts, members, remove_contacts, remove_contact,
    delete."""
    ids = [
        (await client.contacts.create(phone=f"+3932000000{i}", first_name=f"N{i}")).id
        for i in range(3)
    ]
    vip = await client.contact_lists.create(name="VIP", description="best")
    assert (vip.name, vip.description, vip.num_contacts) == ("VIP", "best", 0)
    assert vip.id is not None and vip.creation_date
    other = await client.contact_lists.create(name="Other")
    assert other.id is not None
    await client.contact_lists.add_contacts(list_ids=[vip.id, other.id], contact_ids=ids)
    assert (await client.contact_lists.get(vip.id)).num_contacts == 3
    assert [c.id async for c in client.contact_lists.members(vip.id)] == ids
    await client.contact_lists.remove_contacts(list_ids=[vip.id], contact_ids=[ids[0]])
    assert [c.id async for c in client.contact_lists.members(vip.id)] == ids[1:]
    assert [c.id async for c in client.contact_lists.members(other.id)] == ids
    await client.contact_lists.remove_contact(ids[1])
    assert [c.id async for c in client.contact_lists.members(vip.id)] == [ids[2]]
    assert [c.id async for c in client.contact_lists.members(other.id)] == [ids[0], ids[2]]
    await client.contact_lists.add_contacts(
        list_ids=[vip.id], all_contacts=True, exclude_ids_all_contacts=[ids[0]]
    )
    # Members come in the order they joined: ids[1] joins after ids[2].
    assert [c.id async for c in client.contact_lists.members(vip.id)] == [ids[2], ids[1]]
    renamed = await client.contact_lists.update(vip.id, name="Gold")
    assert (renamed.name, renamed.description) == ("Gold", "best")
    assert [lst.name async for lst in client.contact_lists.list()] == ["Gold", "Other"]
    await client.contact_lists.delete([vip.id, other.id])
    with pytest.raises(NotFoundError):
        await client.contact_lists.get(vip.id)


CSV = b"phone,nome,email\n+393201111111,Marco,m@x.it\n+393202222222,Anna,a@x.it\n"


async def test_csv_upload_then_confirm_into_a_new_list(client: AsyncQlara) -> None:
    """A CSV upload answers its columns and rows; confirm_upload into a new list makes the
    list's members exactly the CSV's rows."""
    parsed = await client.contacts.upload(CSV)
    assert parsed.columns == ["phone", "nome", "email"]
    assert parsed.rows == [
        ["+393201111111", "Marco", "m@x.it"],
        ["+393202222222", "Anna", "a@x.it"],
    ]
    result = await client.contacts.confirm_upload(
        mappings=[
            {"column": "phone", "field": "phone"},
            {"column": "nome", "field": "firstName"},
            {"column": "email", "field": "mainEmail"},
        ],
        new_list={"name": "Imported", "description": "from csv"},
    )
    assert result["imported"] == 2
    lists = [lst async for lst in client.contact_lists.list()]
    assert [(lst.name, lst.num_contacts) for lst in lists] == [("Imported", 2)]
    assert lists[0].id == result["listId"]
    members = [c async for c in client.contact_lists.members(result["listId"])]
    assert [(c.phone, c.first_name, c.main_email) for c in members] == [
        ("+393201111111", "Marco", "m@x.it"),
        ("+393202222222", "Anna", "a@x.it"),
    ]


async def test_vcard_upload_then_confirm_into_an_existing_list(client: AsyncQlara) -> None:
    """A vCard upload, confirmed into an existing list with listId."""
    cards = (
        b"BEGIN:VCARD\nVERSION:3.0\nFN:Marco Rossi\nTEL;TYPE=CELL:+393201111111\nEND:VCARD\n"
        b"BEGIN:VCARD\nVERSION:3.0\nFN:Anna Bianchi\nTEL:+393202222222\nEND:VCARD\n"
    )
    parsed = await client.contacts.upload_vcard(cards)
    assert parsed.columns == ["FN", "TEL"]
    target = await client.contact_lists.create(name="Cards")
    assert target.id is not None
    result = await client.contacts.confirm_vcard(
        mappings=[{"column": "TEL", "field": "phone"}, {"column": "FN", "field": "fullName"}],
        list_id=target.id,
    )
    assert result["imported"] == 2
    members = [c async for c in client.contact_lists.members(target.id)]
    assert [(c.phone, c.full_name) for c in members] == [
        ("+393201111111", "Marco Rossi"),
        ("+393202222222", "Anna Bianchi"),
    ]


async def test_1250_seeded_contacts_each_once_in_13_requests(
    sim: Simulator, client: AsyncQlara
) -> None:
    """client.contacts.list() gets 1,250 seeded contacts, each exactly once, in 13 requests
    of 100."""
    seeded = sim.seed("contacts", 1250, key=KEY)
    before = len(sim.arrivals)
    ids = [c.id async for c in client.contacts.list(page_size=100)]
    requests = len(sim.arrivals) - before
    print(f"1,250 contacts in {requests} requests")
    assert requests == 13
    assert ids == [c["id"] for c in seeded]
    assert len(set(ids)) == 1250


async def test_contact_list_filters_reach_the_simulator(client: AsyncQlara) -> None:
    """The client's filter keywords are ones the simulator reads (it refuses unknown ones)."""
    await client.contacts.create(phone="+393201111111", first_name="Marco", gender="M")
    await client.contacts.create(phone="+441234567890", first_name="Anna", gender="F")
    assert [c.first_name async for c in client.contacts.list(name="anna")] == ["Anna"]
    assert [c.first_name async for c in client.contacts.list(phone="+44")] == ["Anna"]
    assert [c.first_name async for c in client.contacts.list(gender="M")] == ["Marco"]
    assert len([c async for c in client.contacts.list(valid=True, channel="SMS")]) == 2


@pytest.mark.parametrize("given", ["path", "file object"])
async def test_media_upload_list_get_delete(client: AsyncQlara, tmp_path: Path, given: str) -> None:
    """A PNG given as a path or as a file object uploads (201 with an id and a mediaKey), is
    listed and got; after delete, get is NotFoundError."""
    path = tmp_path / "logo.png"
    path.write_bytes(PNG)
    if given == "path":
        media = await client.media.upload(path, name="logo", description="d", folder_id=3)
    else:
        with path.open("rb") as f:
            media = await client.media.upload(f, name="logo", description="d", folder_id=3)
    assert media.id is not None and media.media_key
    assert (media.name, media.description, media.folder_id) == ("logo", "d", 3)
    assert (media.mime_type, media.size) == ("image/png", len(PNG))
    assert [m.id async for m in client.media.list()] == [media.id]
    got = await client.media.get(media.id)
    assert (got.media_key, got.name) == (media.media_key, "logo")
    await client.media.delete(media.id)
    with pytest.raises(NotFoundError):
        await client.media.get(media.id)
    assert [m async for m in client.media.list()] == []


async def test_media_upload_from_bytes_keeps_the_file_name(client: AsyncQlara) -> None:
    """Bytes with a filename: the simulator names the item after the file."""
    media = await client.media.upload(io.BytesIO(PNG), filename="pic.png")
    assert media.name == "pic.png"
