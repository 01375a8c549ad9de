"""The groundwork handler modules build on: the store, the three pagination styles, the strict
query and body helpers, and the router's per-pattern parameter names."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, cast

import msgspec
import pytest

from qlara_async._clock import ManualClock
from qlara_async.testing import Simulator
from qlara_async.testing._router import Router
from qlara_async.testing._store import Store, define_collection, spec_for
from qlara_async.testing.handlers._api import (
    BadRequest,
    Fail,
    NotFound,
    Port,
    Reply,
    Request,
    Strict,
    paginate_offset,
    paginate_page_limit,
    paginate_page_size,
)

WALL = 1_700_000_000.0
NOTES = define_collection("test_notes", "Note", seed=lambda i: {"text": f"note {i}", "n": i})
"""A collection only these tests use."""


def request(query: str = "", body: bytes = b"") -> Request:
    """A Request as a handler receives it; the helpers tested here never reach the port."""
    return Request(
        cast(Port, None),
        method="GET",
        path="/api/x",
        params={},
        query=query,
        body=body,
        key="k",
        now=0.0,
    )


def store() -> Store:
    """A store on a fixed wall clock."""
    return Store(lambda: WALL)


# ----------------------------------------------------------------------------- the store


def test_collection_crud() -> None:
    """create assigns ids from 1 and ISO 8601 UTC timestamps; get, update, replace and delete
    act on one item; a missing one is NotFound naming it."""
    notes = store().collection("acct", NOTES.name)
    a = notes.create({"text": "a"})
    b = notes.create({"text": "b", "tag": "x"})
    assert a == {
        "id": 1,
        "text": "a",
        "creationDate": "2023-11-14T22:13:20Z",
        "lastUpdateDate": "2023-11-14T22:13:20Z",
    }
    assert b["id"] == 2
    assert notes.get(2) == b
    assert notes.update(2, {"text": "B", "id": 99})["text"] == "B"
    assert notes.get(2)["id"] == 2  # a body cannot move an item
    replaced = notes.replace(2, {"text": "only"})
    assert set(replaced) == {"id", "text", "creationDate", "lastUpdateDate"}
    assert notes.delete(1)["text"] == "a"
    with pytest.raises(NotFound, match="Note 1 not found"):
        notes.get(1)
    assert notes.create({"text": "c"})["id"] == 3  # ids are never reused


def test_collection_list_filters_in_id_order() -> None:
    """list keeps id order and filters by equal fields and by a predicate; find gives the
    first match or None."""
    notes = store().collection("acct", NOTES.name)
    for i in range(6):
        notes.create({"parity": i % 2, "n": i})
    assert [x["n"] for x in notes.list(parity=1)] == [1, 3, 5]
    assert [x["n"] for x in notes.list(lambda x: x["n"] > 3)] == [4, 5]
    assert notes.find(n=4) is not None
    assert notes.find(n=42) is None


def test_collection_hands_out_copies() -> None:
    """Changing a returned item, or the dict it was created from, changes nothing stored."""
    notes = store().collection("acct", NOTES.name)
    fields: dict[str, Any] = {"tags": ["a"]}
    made = notes.create(fields)
    fields["tags"].append("b")
    made["tags"].append("c")
    notes.list()[0]["tags"].append("d")
    assert notes.get(made["id"])["tags"] == ["a"]


def test_collections_are_per_account() -> None:
    """Each account has its own collection and its own ids."""
    s = store()
    s.collection("alice", NOTES.name).create({"text": "a"})
    bob = s.collection("bob", NOTES.name)
    assert len(bob) == 0
    assert bob.create({"text": "b"})["id"] == 1


def test_collection_names_are_declared_once() -> None:
    """Declaring a name twice fails (two areas cannot share one by accident); an undeclared
    name fails naming the declared ones."""
    with pytest.raises(ValueError, match="defined twice"):
        define_collection(NOTES.name, "Note")
    with pytest.raises(KeyError, match="test_notes"):
        spec_for("nope")


def test_concurrent_creates_get_distinct_ids() -> None:
    """Creates from several threads at once each get their own id: none lost, none repeated."""
    notes = store().collection("acct", NOTES.name)
    start = threading.Barrier(8)

    def work() -> None:
        start.wait()
        for _ in range(200):
            notes.create({})

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [x["id"] for x in notes.list()]
    assert sorted(ids) == list(range(1, 1601))


# ----------------------------------------------------------------------------- seeding


def test_seed_uses_the_area_factory_and_the_clock() -> None:
    """sim.seed makes n items with the declared factory, ids and the simulator's time."""
    sim = Simulator(clock=ManualClock(5.0, wall_offset=WALL))
    made = sim.seed(NOTES.name, 1250)
    assert len(made) == len(sim.collection(NOTES.name)) == 1250
    assert made[7] == {
        "id": 8,
        "text": "note 7",
        "n": 7,
        "creationDate": "2023-11-14T22:13:25Z",
        "lastUpdateDate": "2023-11-14T22:13:25Z",
    }


def test_seed_with_an_explicit_factory_and_key() -> None:
    """factory= overrides the area's; with several API keys, key= picks the account."""
    sim = Simulator(api_keys=("a", "b"))
    with pytest.raises(ValueError, match="key="):
        sim.seed(NOTES.name, 1)
    sim.seed(NOTES.name, 2, key="b", factory=lambda i: {"text": "custom"})
    assert [x["text"] for x in sim.collection(NOTES.name, key="b").list()] == ["custom"] * 2
    assert len(sim.collection(NOTES.name, key="a")) == 0


def test_seed_needs_a_declared_collection() -> None:
    """Seeding a collection no area declared fails instead of creating a stray one."""
    with pytest.raises(KeyError, match="no collection 'contacts_typo'"):
        Simulator().seed("contacts_typo", 3)


# ----------------------------------------------------------------------------- pagination

ITEMS = [{"id": i} for i in range(1, 1251)]


def _walk(
    paginate: Callable[[Request, list[dict[str, Any]]], Reply],
    query: Callable[[int], str],
    ids: Callable[[Any], list[int]],
    done: Callable[[Any, int], bool],
) -> tuple[list[int], int]:
    seen: list[int] = []
    i = 0
    while True:
        reply = paginate(request(query(i)), ITEMS)
        assert reply.status == 200
        body = msgspec.json.decode(reply.body)
        seen += ids(body)
        i += 1
        if done(body, i):
            return seen, i


def test_offset_style_pages_1250_items_exactly_once() -> None:
    """offset/limit 100 over 1,250 items: 13 pages, each item once, pagination.total 1250."""
    seen, pages = _walk(
        paginate_offset,
        lambda i: f"offset={i * 100}&limit=100",
        lambda b: [x["id"] for x in b["data"]],
        lambda b, i: i * 100 >= b["pagination"]["total"],
    )
    assert (seen, pages) == ([x["id"] for x in ITEMS], 13)


def test_rcs_page_limit_style_pages_1250_items_exactly_once() -> None:
    """page (0-based)/limit 100 over 1,250 items: 13 pages, each item once."""
    seen, pages = _walk(
        paginate_page_limit,
        lambda i: f"page={i}&limit=100",
        lambda b: [x["id"] for x in b["data"]],
        lambda b, i: i >= b["totalPages"],
    )
    assert (seen, pages) == ([x["id"] for x in ITEMS], 13)


def test_whatsapp_page_size_style_pages_1250_items_exactly_once() -> None:
    """page (0-based)/size 100 over 1,250 items: 13 pages, each item once."""
    seen, pages = _walk(
        paginate_page_size,
        lambda i: f"page={i}&size=100",
        lambda b: [x["id"] for x in b["content"]],
        lambda b, i: i >= b["page"]["totalPages"],
    )
    assert (seen, pages) == ([x["id"] for x in ITEMS], 13)


def test_the_three_envelopes_differ() -> None:
    """Each style answers its own envelope, so a client decoding the wrong one fails."""
    bodies = [
        msgspec.json.decode(p(request(""), ITEMS[:3]).body)
        for p in (paginate_offset, paginate_page_limit, paginate_page_size)
    ]
    assert bodies[0] == {
        "data": ITEMS[:3],
        "pagination": {"offset": 0, "limit": 20, "total": 3},
    }
    assert bodies[1] == {"data": ITEMS[:3], "page": 0, "limit": 20, "total": 3, "totalPages": 1}
    assert bodies[2] == {
        "content": ITEMS[:3],
        "page": {"size": 20, "number": 0, "totalElements": 3, "totalPages": 1},
    }


@pytest.mark.parametrize(
    ("paginate", "query"),
    [
        pytest.param(paginate_offset, "page=1", id="offset-refuses-page"),
        pytest.param(paginate_offset, "limit=101", id="offset-limit-over-100"),
        pytest.param(paginate_page_limit, "offset=20", id="rcs-refuses-offset"),
        pytest.param(paginate_page_limit, "size=20", id="rcs-refuses-size"),
        pytest.param(paginate_page_limit, "page=-1", id="rcs-negative-page"),
        pytest.param(paginate_page_limit, "limit=101", id="rcs-limit-over-100"),
        pytest.param(paginate_page_size, "limit=20", id="wa-refuses-limit"),
        pytest.param(paginate_page_size, "offset=20", id="wa-refuses-offset"),
        pytest.param(paginate_page_size, "page=x", id="wa-page-not-int"),
        pytest.param(paginate_page_size, "size=0", id="wa-size-zero"),
        pytest.param(paginate_page_size, "size=%2B5", id="wa-size-signed"),
    ],
)
def test_each_style_refuses_bad_and_foreign_params(
    paginate: Callable[[Request, list[dict[str, Any]]], Reply], query: str
) -> None:
    """A bad value, or another style's parameter, is a 400 (BadRequest), never ignored."""
    with pytest.raises(BadRequest):
        paginate(request(query), ITEMS)


# ----------------------------------------------------------------------------- request helpers


class Body(Strict):
    """A schema for the decode tests."""

    name: str


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        pytest.param(b"{}", "'name' can't be blank", id="missing"),
        pytest.param(b'{"name": "x", "nmae": 1}', "'nmae' is not a known field", id="unknown"),
    ],
)
def test_decode_in_either_error_format(raw: bytes, field: str) -> None:
    """decode raises BadRequest (platform) by default and Fail (JSend) with errors="jsend",
    both naming the field."""
    with pytest.raises(BadRequest, match=field):
        request(body=raw).decode(Body)
    with pytest.raises(Fail) as info:
        request(body=raw).decode(Body, errors="jsend")
    assert field in next(iter(info.value.errors.values()))
    assert request(body=b'{"name": "ok"}').decode(Body) == Body(name="ok")


def test_query_keeps_the_last_non_blank_value() -> None:
    """query is the last non-blank value per name; raw_query keeps everything."""
    req = request("a=1&a=2&b=&c")
    assert req.query == {"a": "2"}
    assert req.raw_query == [("a", "1"), ("a", "2"), ("b", ""), ("c", "")]


def test_router_names_parameters_per_pattern() -> None:
    """Two patterns with a parameter at the same place may name it differently, and each
    handler gets its own names."""
    router = Router[str]()
    router.add("GET", "/authentication/{value}", "find")
    router.add("DELETE", "/authentication/{id}", "delete")
    router.add("GET", "/contacts/list/{id}", "list")
    router.add("GET", "/contacts/list/{listId}/contacts", "members")
    assert router.match("GET", "/authentication/abc").params == {"value": "abc"}
    assert router.match("DELETE", "/authentication/7").params == {"id": "7"}
    assert router.match("GET", "/contacts/list/3/contacts").params == {"listId": "3"}
    assert router.match("GET", "/contacts/list/3").params == {"id": "3"}
    with pytest.raises(ValueError, match="repeated"):
        router.add("GET", "/a/{x}/b/{x}", "bad")
