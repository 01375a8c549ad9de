"""The simulator's contacts and contact-lists area, in-process (ASGI) and over real HTTP on
loopback: CRUD, strict bodies, filters, membership, and the CSV/vCard import flow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from qlara_async._clock import ManualClock
from qlara_async.testing import Simulator

from ._sim_http import sim_http

pytestmark = pytest.mark.anyio

GW = "/partner-gateway/v1"
CONTACTS = f"{GW}/contacts"
LISTS = f"{GW}/contacts/list"
MEMBERS = f"{GW}/contacts/list/contacts"
KEY = {"X-Api-Key": "test-key"}
WALL = 1_700_000_000.0
PLATFORM = {"status", "error", "message", "timestamp", "path"}


@pytest.fixture
def sim() -> Simulator:
    """An unlimited simulator on a manual clock (Unix time WALL + 100)."""
    return Simulator(clock=ManualClock(100.0, wall_offset=WALL))


@pytest.fixture(params=["asgi", pytest.param("http", marks=pytest.mark.e2e)])
async def client(
    sim: Simulator, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    """A client for ``sim``: in-process through ASGITransport, or over HTTP via run_in_thread."""
    async with sim_http(sim, request.param) as http:
        yield http


def _bad(r: httpx.Response, word: str) -> None:
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == PLATFORM and body["status"] == 400
    assert word in body["message"], body["message"]


async def _contact(client: httpx.AsyncClient, phone: str, **fields: Any) -> dict[str, Any]:
    r = await client.post(CONTACTS, json={"phone": phone, **fields})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _list(client: httpx.AsyncClient, name: str) -> dict[str, Any]:
    r = await client.post(LISTS, json={"name": name})
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


async def _members(client: httpx.AsyncClient, list_id: int, **params: Any) -> list[int]:
    r = await client.get(f"{LISTS}/{list_id}/contacts", params=params)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["data"]]


# ----------------------------------------------------------------------------- contacts


async def test_create_get_update_delete(client: httpx.AsyncClient) -> None:
    """Create answers 201 with every documented field; get returns it; PUT merges (left out
    stays, null clears); bulk delete answers 204 and get is then 404."""
    made = await _contact(client, "+393201234567", firstName="Marco", city="Roma")
    assert made["id"] == 1 and made["creationDate"] == "2023-11-14T22:15:00Z"
    assert (made["phone"], made["firstName"], made["city"], made["lastName"]) == (
        "+393201234567",
        "Marco",
        "Roma",
        None,
    )
    assert {"mainEmail", "birthDate", "cap", "groupId", "company"} <= set(made)
    assert (await client.get(f"{CONTACTS}/1")).json() == made
    r = await client.put(f"{CONTACTS}/1", json={"lastName": "Rossi", "city": None})
    assert r.status_code == 200
    after = r.json()
    assert (after["firstName"], after["lastName"], after["city"]) == ("Marco", "Rossi", None)
    assert (await client.get(f"{CONTACTS}/1")).json() == after
    r = await client.request("DELETE", CONTACTS, json=[1])
    assert (r.status_code, r.content) == (204, b"")
    r = await client.get(f"{CONTACTS}/1")
    assert r.status_code == 404
    assert r.json()["message"] == "Contact 1 not found."


@pytest.mark.parametrize(
    ("body", "word"),
    [
        pytest.param({"firstName": "x"}, "'phone' can't be blank", id="no-phone"),
        pytest.param({"phone": "3201234567"}, "international format", id="national-phone"),
        pytest.param({"phone": "+39 320 123"}, "international format", id="spaces"),
        pytest.param({"phone": 393201234567}, "phone", id="phone-number-type"),
        pytest.param({"phone": "+393201234567", "firstname": "x"}, "'firstname'", id="typo"),
        pytest.param({"phone": "+393201234567", "city": 5}, "city", id="city-type"),
    ],
)
async def test_bad_contact_is_400_naming_the_field(
    sim: Simulator, client: httpx.AsyncClient, body: dict[str, Any], word: str
) -> None:
    """A create body that does not fit is a platform 400 naming the field; nothing is made."""
    _bad(await client.post(CONTACTS, json=body), word)
    assert len(sim.collection("contacts", key="test-key")) == 0


async def test_update_checks_fields_and_missing_ids(client: httpx.AsyncClient) -> None:
    """PUT refuses a cleared or malformed phone and unknown fields; an unknown id is 404 and
    a non-integer id is 400."""
    await _contact(client, "+393201234567")
    _bad(await client.put(f"{CONTACTS}/1", json={"phone": None}), "'phone' can't be blank")
    _bad(await client.put(f"{CONTACTS}/1", json={"phone": "12"}), "international")
    _bad(await client.put(f"{CONTACTS}/1", json={"mail": "a@b"}), "'mail' is not a known field")
    assert (await client.put(f"{CONTACTS}/9", json={"city": "x"})).status_code == 404
    _bad(await client.get(f"{CONTACTS}/abc"), "'id' must be an integer")


async def test_bulk_delete_is_all_or_nothing(sim: Simulator, client: httpx.AsyncClient) -> None:
    """A delete naming an id that does not exist is 404 and deletes none; the body must be a
    non-empty array of integers."""
    sim.seed("contacts", 3, key="test-key")
    r = await client.request("DELETE", CONTACTS, json=[1, 99])
    assert r.status_code == 404
    assert len(sim.collection("contacts", key="test-key")) == 3
    _bad(await client.request("DELETE", CONTACTS, json=[]), "at least one id")
    _bad(await client.request("DELETE", CONTACTS, json={"ids": [1]}), "array")
    _bad(await client.request("DELETE", CONTACTS, json=["1"]), "int")
    r = await client.request("DELETE", CONTACTS, json=[1, 3])
    assert r.status_code == 204
    assert [c["id"] for c in sim.collection("contacts", key="test-key").list()] == [2]


async def test_1250_seeded_contacts_page_each_exactly_once(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """1,250 seeded contacts, paged by 100: 13 pages, each contact once."""
    seeded = sim.seed("contacts", 1250, key="test-key")
    seen: list[int] = []
    offset = 0
    requests = 0
    while True:
        page = (await client.get(CONTACTS, params={"offset": offset, "limit": 100})).json()
        requests += 1
        assert page["pagination"]["total"] == 1250
        seen += [c["id"] for c in page["data"]]
        offset += 100
        if offset >= page["pagination"]["total"]:
            break
    assert requests == 13
    assert seen == [c["id"] for c in seeded]


async def test_list_filters(sim: Simulator, client: httpx.AsyncClient) -> None:
    """name, phone, email, gender, valid and channel filter the list; an unknown parameter or
    a bad value is a 400."""
    sim.seed("contacts", 6, key="test-key")  # ids 1..6; RCS on i % 3 == 0 (ids 1, 4)
    await _contact(client, "+441234567890", fullName="Anna Bianchi", mainEmail="ANNA@x.it")

    async def ids(**params: Any) -> list[int]:
        r = await client.get(CONTACTS, params=params)
        assert r.status_code == 200, r.text
        return [c["id"] for c in r.json()["data"]]

    assert await ids(name="bianchi") == [7]
    assert await ids(name="name0002") == [3]
    assert await ids(phone="+4412") == [7]
    assert await ids(email="anna@") == [7]
    assert await ids(gender="f") == [1, 3, 5]
    assert await ids(channel="rcs") == [1, 4]
    assert await ids(valid="true") == [1, 2, 3, 4, 5, 6, 7]
    assert await ids(valid="false") == []
    _bad(await client.get(CONTACTS, params={"nmae": "x"}), "'nmae'")
    _bad(await client.get(CONTACTS, params={"valid": "yes"}), "'valid'")
    _bad(await client.get(CONTACTS, params={"channel": "FAX"}), "'channel'")
    _bad(await client.get(CONTACTS, params={"page": "1"}), "'page'")
    _bad(await client.get(CONTACTS, params={"limit": "101"}), "'limit'")


async def test_contacts_are_per_account() -> None:
    """Each API key is an account: another key does not see, get or delete the contact."""
    sim = Simulator(api_keys=("alice", "bob"))
    transport = httpx.ASGITransport(sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim/api") as http:
        alice, bob = {"X-Api-Key": "alice"}, {"X-Api-Key": "bob"}
        r = await http.post(CONTACTS, json={"phone": "+393201234567"}, headers=alice)
        assert r.status_code == 201
        assert (await http.get(f"{CONTACTS}/1", headers=bob)).status_code == 404
        assert (await http.get(CONTACTS, headers=bob)).json()["pagination"]["total"] == 0
        assert (await http.get(f"{CONTACTS}/1", headers=alice)).status_code == 200


# ----------------------------------------------------------------------------- lists


async def test_list_crud_and_routing(client: httpx.AsyncClient) -> None:
    """/contacts/list is the lists, not contact 'list' (literal first); a list shows id, name,
    description, numContacts, creationDate; PUT merges; bulk delete 204 then 404."""
    made = await _list(client, "VIP")
    assert made == {
        "id": 1,
        "name": "VIP",
        "description": None,
        "numContacts": 0,
        "creationDate": "2023-11-14T22:15:00Z",
    }
    page = (await client.get(LISTS)).json()
    assert page == {"data": [made], "pagination": {"offset": 0, "limit": 20, "total": 1}}
    r = await client.put(f"{LISTS}/1", json={"description": "best"})
    assert r.json() == {**made, "description": "best"}
    r = await client.put(f"{LISTS}/1", json={"name": "Gold"})
    assert (r.json()["name"], r.json()["description"]) == ("Gold", "best")
    assert (await client.get(f"{LISTS}/1")).json() == r.json()
    _bad(await client.put(f"{LISTS}/1", json={"name": None}), "'name' can't be blank")
    _bad(await client.post(LISTS, json={"description": "x"}), "'name' can't be blank")
    _bad(await client.post(LISTS, json={"name": "x", "descr": "y"}), "'descr'")
    r = await client.request("DELETE", LISTS, json=[1])
    assert r.status_code == 204
    assert (await client.get(f"{LISTS}/1")).status_code == 404


async def test_membership_add_browse_remove(client: httpx.AsyncClient) -> None:
    """Adding contacts to lists counts them once; members page in order of joining, with
    filters and sorting; removing from some lists, or one contact from every list, works; a
    deleted contact leaves its lists."""
    for i in range(4):
        await _contact(client, f"+3932000000{i}", firstName=f"N{3 - i}")
    a, b = (await _list(client, "A"))["id"], (await _list(client, "B"))["id"]
    body = {"listIds": [a, b], "contactIds": [3, 1, 2]}
    assert (await client.post(MEMBERS, json=body)).status_code == 204
    assert (await client.post(MEMBERS, json=body)).status_code == 204  # again: no duplicates
    assert (await client.get(f"{LISTS}/{a}")).json()["numContacts"] == 3
    assert await _members(client, a) == [1, 2, 3]
    assert await _members(client, a, sortBy="firstName") == [3, 2, 1]
    assert await _members(client, a, sortBy="id", sortOrder="desc") == [3, 2, 1]
    assert await _members(client, a, phone="+39320000001") == [2]
    r = await client.request("DELETE", MEMBERS, json={"listIds": [a], "contactIds": [2]})
    assert r.status_code == 204
    assert (await _members(client, a), await _members(client, b)) == ([1, 3], [1, 2, 3])
    assert (await client.delete(f"{MEMBERS}/3")).status_code == 204
    assert (await _members(client, a), await _members(client, b)) == ([1], [1, 2])
    await client.request("DELETE", CONTACTS, json=[1])
    assert (await _members(client, a), await _members(client, b)) == ([], [2])
    assert (await client.delete(f"{MEMBERS}/99")).status_code == 404


async def test_all_contacts_with_exclusions(client: httpx.AsyncClient) -> None:
    """allContacts adds every contact but the excluded ones."""
    for i in range(4):
        await _contact(client, f"+3932000000{i}")
    a = (await _list(client, "A"))["id"]
    body = {"listIds": [a], "allContacts": True, "excludeIdsAllContacts": [2]}
    assert (await client.post(MEMBERS, json=body)).status_code == 204
    assert await _members(client, a) == [1, 3, 4]


@pytest.mark.parametrize(
    ("body", "word"),
    [
        pytest.param({"contactIds": [1]}, "'listIds' can't be blank", id="no-lists"),
        pytest.param({"listIds": [], "contactIds": [1]}, "'listIds' can't be empty", id="empty"),
        pytest.param({"listIds": [1]}, "'contactIds' can't be blank", id="no-contacts"),
        pytest.param(
            {"listIds": [1], "contactIds": [1], "excludeIdsAllContacts": [1]},
            "'excludeIdsAllContacts'",
            id="exclude-without-all",
        ),
        pytest.param({"listIds": [1], "allContacts": "yes"}, "allContacts", id="all-type"),
        pytest.param({"listIds": [1], "contactId": [1]}, "'contactId'", id="typo"),
        pytest.param({"listIds": ["1"], "contactIds": [1]}, "listIds", id="id-type"),
    ],
)
async def test_bad_membership_is_400(
    client: httpx.AsyncClient, body: dict[str, Any], word: str
) -> None:
    """Membership bodies are strict, for add and remove alike."""
    await _contact(client, "+393201234567")
    await _list(client, "A")
    _bad(await client.post(MEMBERS, json=body), word)
    _bad(await client.request("DELETE", MEMBERS, json=body), word)


async def test_membership_with_a_missing_id_is_404_and_changes_nothing(
    client: httpx.AsyncClient,
) -> None:
    """A list or contact that does not exist is a 404; no list changes."""
    await _contact(client, "+393201234567")
    a = (await _list(client, "A"))["id"]
    r = await client.post(MEMBERS, json={"listIds": [a], "contactIds": [1, 42]})
    assert (r.status_code, r.json()["message"]) == (404, "Contact 42 not found.")
    r = await client.post(MEMBERS, json={"listIds": [a, 7], "contactIds": [1]})
    assert (r.status_code, r.json()["message"]) == (404, "Contact list 7 not found.")
    assert await _members(client, a) == []
    assert (await client.get(f"{LISTS}/7/contacts")).status_code == 404


# ----------------------------------------------------------------------------- imports

CSV = b"phone,first name,email\r\n+393201111111,Marco,m@x.it\r\n+393202222222,Anna,\r\n12,Bad,\r\n"


def _file(content: bytes, kind: str = "text/csv", name: str = "c.csv") -> dict[str, Any]:
    return {"file": (name, content, kind)}


async def test_csv_upload_then_confirm_into_a_new_list(client: httpx.AsyncClient) -> None:
    """The upload answers the CSV's columns and rows; confirming with mappings creates the
    valid rows as contacts in the new list and reports the rejected ones; the upload is then
    used up."""
    r = await client.post(f"{CONTACTS}/upload", files=_file(CSV))
    assert r.status_code == 200, r.text
    parsed = r.json()
    assert parsed["columns"] == ["phone", "first name", "email"]
    assert parsed["rows"][0] == ["+393201111111", "Marco", "m@x.it"]
    assert parsed["totalRows"] == 3
    mappings = [
        {"column": 0, "field": "phone"},
        {"column": "first name", "field": "firstName"},
        {"column": 2, "field": "mainEmail"},
    ]
    body = {"mappings": mappings, "newList": {"name": "Imported", "description": "csv"}}
    r = await client.post(f"{CONTACTS}/mapped/file", json=body)
    assert r.status_code == 200, r.text
    result = r.json()
    assert (result["imported"], result["rejected"][0]["row"]) == (2, 3)
    listed = (await client.get(f"{LISTS}/{result['listId']}")).json()
    assert (listed["name"], listed["description"], listed["numContacts"]) == ("Imported", "csv", 2)
    page = (await client.get(f"{LISTS}/{result['listId']}/contacts")).json()["data"]
    assert [(c["phone"], c["firstName"], c["mainEmail"]) for c in page] == [
        ("+393201111111", "Marco", "m@x.it"),
        ("+393202222222", "Anna", None),
    ]
    _bad(await client.post(f"{CONTACTS}/mapped/file", json=body), "upload one first")


async def test_confirm_into_an_existing_list(client: httpx.AsyncClient) -> None:
    """listId adds the imported contacts to a list that exists; one that does not is 404."""
    await client.post(f"{CONTACTS}/upload", files=_file(b"tel;nome\n+393201111111;Marco\n"))
    mappings = [{"column": "tel", "field": "phone"}]
    r = await client.post(f"{CONTACTS}/mapped/file", json={"mappings": mappings, "listId": 5})
    assert r.status_code == 404
    a = (await _list(client, "A"))["id"]
    r = await client.post(f"{CONTACTS}/mapped/file", json={"mappings": mappings, "listId": a})
    assert r.json() == {"imported": 1, "rejected": [], "listId": a}
    assert await _members(client, a) == [1]


@pytest.mark.parametrize(
    ("body", "word"),
    [
        pytest.param({"listId": 1}, "'mappings' can't be blank", id="no-mappings"),
        pytest.param({"mappings": []}, "'mappings' can't be empty", id="empty"),
        pytest.param(
            {"mappings": [{"column": 1, "field": "firstName"}]}, "to 'phone'", id="no-phone"
        ),
        pytest.param({"mappings": [{"column": 9, "field": "phone"}]}, "out of range", id="col"),
        pytest.param({"mappings": [{"column": "tel", "field": "phone"}]}, "names no", id="name"),
        pytest.param({"mappings": [{"column": 0, "field": "mobile"}]}, "'mobile'", id="field"),
        pytest.param({"mappings": [{"column": 0, "fild": "phone"}]}, "'mappings[0].fild'", id="k"),
        pytest.param(
            {"mappings": [{"column": 0, "field": "phone"}], "listId": 1, "newList": {"name": "x"}},
            "not both",
            id="both",
        ),
        pytest.param(
            {"mappings": [{"column": 0, "field": "phone"}], "newList": {"title": "x"}},
            "'newList.title'",
            id="new-list-typo",
        ),
        pytest.param(
            {"mappings": [{"column": 0, "field": "phone"}], "listID": 1}, "'listID'", id="listID"
        ),
    ],
)
async def test_bad_confirm_is_400(
    sim: Simulator, client: httpx.AsyncClient, body: dict[str, Any], word: str
) -> None:
    """Confirm bodies are strict; nothing is imported and the upload stays pending."""
    await client.post(f"{CONTACTS}/upload", files=_file(CSV))
    await _list(client, "A")
    _bad(await client.post(f"{CONTACTS}/mapped/file", json=body), word)
    assert len(sim.collection("contacts", key="test-key")) == 0
    ok = {"mappings": [{"column": 0, "field": "phone"}]}
    assert (await client.post(f"{CONTACTS}/mapped/file", json=ok)).json()["imported"] == 2


@pytest.mark.parametrize(
    ("files", "word"),
    [
        pytest.param(_file(b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"), "CSV or Excel", id="png"),
        pytest.param(_file(b"\x89PNG\r\n\x1a\n\x00\x00"), "binary", id="png-as-csv"),
        pytest.param(_file(b"%PDF-1.4 hello"), "binary", id="pdf-as-csv"),
        pytest.param(_file(b"\xff\xfe\xfa"), "UTF-8", id="not-utf8"),
        pytest.param(_file(b""), "empty", id="empty"),
        pytest.param(_file(b"a,b\n1,2,3\n"), "row 2", id="ragged"),
        pytest.param({"upload": ("c.csv", CSV, "text/csv")}, "'upload'", id="wrong-field"),
    ],
)
async def test_upload_refuses_what_is_not_csv_or_excel(
    client: httpx.AsyncClient, files: dict[str, Any], word: str
) -> None:
    """A body that is not CSV or Excel, or a form without 'file', is a 400."""
    _bad(await client.post(f"{CONTACTS}/upload", files=files), word)


async def test_upload_needs_a_multipart_body(client: httpx.AsyncClient) -> None:
    """JSON or a truncated multipart body is a 400, not a crash."""
    _bad(await client.post(f"{CONTACTS}/upload", json={"file": "x"}), "multipart")
    truncated = b"--b\r\nContent-Disposition: form-data; name=file; filename=a.csv\r\n\r\na,b\r\n"
    _bad(await client.post(f"{CONTACTS}/upload", content=truncated), "closing boundary")


async def test_excel_is_accepted_by_its_bytes(client: httpx.AsyncClient) -> None:
    """An .xlsx (zip magic) is accepted; the simulator does not read its cells."""
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    r = await client.post(f"{CONTACTS}/upload", files=_file(b"PK\x03\x04rest", xlsx, "c.xlsx"))
    assert r.status_code == 200
    assert (r.json()["columns"], r.json()["rows"]) == ([], [])


VCARD = (
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Marco Rossi\r\nN:Rossi;Marco;;;\r\n"
    b"TEL;TYPE=CELL:+393201111111\r\nEMAIL:marco@x.it\r\nEND:VCARD\r\n"
    b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Anna\r\n  Bianchi\r\nTEL:+393202222222\r\nEND:VCARD\r\n"
)


async def test_vcard_upload_then_confirm(client: httpx.AsyncClient) -> None:
    """A vCard upload answers one row per card (folded lines joined, parameters dropped);
    confirming maps its properties to contact fields."""
    r = await client.post(f"{CONTACTS}/upload/vcard", files=_file(VCARD, "text/vcard", "a.vcf"))
    assert r.status_code == 200, r.text
    assert r.json()["columns"] == ["FN", "N", "TEL", "EMAIL"]
    assert r.json()["rows"][1] == ["Anna Bianchi", "", "+393202222222", ""]
    mappings = [{"column": "TEL", "field": "phone"}, {"column": "FN", "field": "fullName"}]
    body = {"mappings": mappings, "newList": {"name": "Cards"}}
    # A CSV confirm does not take the vCard upload.
    _bad(await client.post(f"{CONTACTS}/mapped/file", json=body), "upload one first")
    r = await client.post(f"{CONTACTS}/mapped/vcard", json=body)
    assert r.json()["imported"] == 2
    page = (await client.get(f"{LISTS}/{r.json()['listId']}/contacts")).json()["data"]
    assert [(c["phone"], c["fullName"]) for c in page] == [
        ("+393201111111", "Marco Rossi"),
        ("+393202222222", "Anna Bianchi"),
    ]


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"phone,name\n+39320,Marco\n", id="csv"),
        pytest.param(b"BEGIN:VCARD\nFN:x\n", id="unterminated"),
        pytest.param(b"END:VCARD\n", id="end-first"),
        pytest.param(b"BEGIN:VCARD\nBEGIN:VCARD\n", id="nested"),
    ],
)
async def test_vcard_upload_refuses_what_is_not_vcard(
    client: httpx.AsyncClient, content: bytes
) -> None:
    """Text that is not well-formed vCard is a 400."""
    r = await client.post(f"{CONTACTS}/upload/vcard", files=_file(content, "text/vcard"))
    _bad(r, "'file'")
