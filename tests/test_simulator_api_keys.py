"""The simulator's API-keys area end to end, in-process (ASGI) and over real HTTP on loopback:
the proof that an area built on the handler API, the store and offset paging works."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from qlara_async._clock import ManualClock
from qlara_async.testing import Simulator

from ._sim_http import sim_http

pytestmark = pytest.mark.anyio

PATH = "/partner-gateway/v1/authentication"
KEY = {"X-Api-Key": "test-key"}
WALL = 1_700_000_000.0


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


async def test_create_answers_201_with_the_key_once(client: httpx.AsyncClient) -> None:
    """Create answers 201 with id, fields, creation time and the full apiKey."""
    r = await client.post(PATH, json={"username": "ops", "operations": ["SEND_SMS"]})
    assert r.status_code == 201
    body = r.json()
    assert set(body) == {"id", "username", "operations", "apiKey", "creationDate"}
    assert (body["id"], body["username"], body["operations"]) == (1, "ops", ["SEND_SMS"])
    assert body["creationDate"] == "2023-11-14T22:15:00Z"  # WALL + 100, ISO 8601 UTC
    assert body["apiKey"]


async def test_create_then_find_returns_it_without_the_secret(client: httpx.AsyncClient) -> None:
    """A created key is found by its value; find and list never show the apiKey again."""
    made = (await client.post(PATH, json={"username": "ops", "operations": ["A", "B"]})).json()
    r = await client.get(f"{PATH}/{made['apiKey']}")
    assert r.status_code == 200
    assert r.json() == {k: v for k, v in made.items() if k != "apiKey"}
    listed = (await client.get(PATH)).json()["data"]
    assert listed == [r.json()]
    assert made["apiKey"] not in (await client.get(PATH)).text


async def test_delete_then_find_is_404(client: httpx.AsyncClient) -> None:
    """Delete answers 204 with no body; the key is gone from find and list; a second delete
    is 404 in the platform error format."""
    made = (await client.post(PATH, json={"username": "ops", "operations": []})).json()
    r = await client.delete(f"{PATH}/{made['id']}")
    assert (r.status_code, r.content) == (204, b"")
    assert "content-type" not in r.headers
    r = await client.get(f"{PATH}/{made['apiKey']}")
    assert r.status_code == 404
    assert made["apiKey"] not in r.json()["message"]
    assert (await client.get(PATH)).json()["data"] == []
    r = await client.delete(f"{PATH}/{made['id']}")
    assert r.status_code == 404
    body = r.json()
    assert set(body) == {"status", "error", "message", "timestamp", "path"}
    assert (body["status"], body["error"], body["message"]) == (
        404,
        "Not Found",
        f"API key {made['id']} not found.",
    )
    assert body["path"] == f"/api{PATH}/{made['id']}"


async def test_250_seeded_keys_page_each_exactly_once(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    """250 seeded keys, paged with offset/limit 100: three pages, each key once, total 250."""
    seeded = sim.seed("api_keys", 250)
    seen: list[int] = []
    requests = 0
    offset = 0
    while True:
        r = await client.get(PATH, params={"offset": offset, "limit": 100})
        requests += 1
        assert r.status_code == 200
        page = r.json()
        assert page["pagination"] == {"offset": offset, "limit": 100, "total": 250}
        seen += [item["id"] for item in page["data"]]
        offset += 100
        if offset >= page["pagination"]["total"]:
            break
    assert requests == 3
    assert seen == [item["id"] for item in seeded]
    assert len(set(seen)) == 250


async def test_list_defaults_to_20(sim: Simulator, client: httpx.AsyncClient) -> None:
    """Without paging parameters the list answers the first 20 items (the documented default);
    an offset past the end answers an empty page with the total."""
    sim.seed("api_keys", 25)
    page = (await client.get(PATH)).json()
    assert page["pagination"] == {"offset": 0, "limit": 20, "total": 25}
    assert [item["id"] for item in page["data"]] == list(range(1, 21))
    page = (await client.get(PATH, params={"offset": 40})).json()
    assert page == {"data": [], "pagination": {"offset": 40, "limit": 20, "total": 25}}


@pytest.mark.parametrize(
    "query",
    [
        pytest.param("limit=101", id="limit-over-max"),
        pytest.param("limit=0", id="limit-zero"),
        pytest.param("limit=-1", id="limit-negative"),
        pytest.param("offset=-20", id="offset-negative"),
        pytest.param("offset=1.5", id="offset-fraction"),
        pytest.param("limit=ten", id="limit-word"),
        pytest.param("limit=", id="limit-blank"),
        pytest.param("offset=0&offset=20", id="offset-repeated"),
        pytest.param("page=1", id="page-style"),
        pytest.param("size=50", id="size-style"),
    ],
)
async def test_bad_paging_params_are_400(client: httpx.AsyncClient, query: str) -> None:
    """Paging parameters are validated strictly: a 400 in the platform format, never a
    clamped or ignored value."""
    r = await client.get(f"{PATH}?{query}")
    assert r.status_code == 400
    body = r.json()
    assert set(body) == {"status", "error", "message", "timestamp", "path"}
    assert body["status"] == 400


@pytest.mark.parametrize(
    ("body", "word"),
    [
        pytest.param(b'{"operations": []}', "'username' can't be blank", id="no-username"),
        pytest.param(b'{"username": "x"}', "'operations' can't be blank", id="no-operations"),
        pytest.param(
            b'{"username": "x", "operations": [], "role": "admin"}',
            "'role' is not a known field",
            id="unknown-field",
        ),
        pytest.param(b'{"username": 1, "operations": []}', "username", id="bad-type"),
        pytest.param(b"{", "Malformed JSON", id="not-json"),
    ],
)
async def test_bad_create_body_is_400_and_creates_nothing(
    sim: Simulator, client: httpx.AsyncClient, body: bytes, word: str
) -> None:
    """A create body that does not fit the schema is a platform 400 naming the field, and no
    key is created."""
    r = await client.post(PATH, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json()["status"] == 400
    assert word in r.json()["message"]
    assert len(sim.collection("api_keys")) == 0
    assert sim.stats.bad_requests == 1


async def test_delete_needs_an_integer_id(client: httpx.AsyncClient) -> None:
    """DELETE with an id that is not an integer is a 400, not a 404 or a crash."""
    r = await client.delete(f"{PATH}/abc")
    assert r.status_code == 400
    assert "'id' must be an integer" in r.json()["message"]


async def test_keys_are_per_account() -> None:
    """Each API key is an account: one account's keys are invisible to another."""
    sim = Simulator(api_keys=("alice", "bob"))
    transport = httpx.ASGITransport(sim)
    async with httpx.AsyncClient(transport=transport, base_url="http://sim/api") as http:
        made = await http.post(
            PATH, json={"username": "a", "operations": []}, headers={"X-Api-Key": "alice"}
        )
        secret = made.json()["apiKey"]
        r = await http.get(PATH, headers={"X-Api-Key": "bob"})
        assert r.json()["pagination"]["total"] == 0
        r = await http.get(f"{PATH}/{secret}", headers={"X-Api-Key": "bob"})
        assert r.status_code == 404
        r = await http.get(f"{PATH}/{secret}", headers={"X-Api-Key": "alice"})
        assert r.status_code == 200


async def test_clear_forgets_keys(sim: Simulator, client: httpx.AsyncClient) -> None:
    """Simulator.clear() empties every account's collections; ids start again from 1."""
    sim.seed("api_keys", 3)
    sim.clear()
    assert (await client.get(PATH)).json()["pagination"]["total"] == 0
    r = await client.post(PATH, json={"username": "again", "operations": []})
    assert r.json()["id"] == 1
