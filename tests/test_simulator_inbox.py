"""The simulator's inbox, in-process (ASGI) and over real HTTP: seeded conversations with their
messages, the list's filters and order, reply (202, on the conversation's channel), the
idFrom/idTo window, read/archive/unarchive (204) and 404s for an unknown chat."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from qlara_async._clock import ManualClock
from qlara_async.testing import Simulator, run_in_thread

pytestmark = pytest.mark.anyio

PATH = "/partner-gateway/v1/inbox/conversations"
KEY = {"X-Api-Key": "test-key"}
WALL = 1_800_000_000.0  # 2027-01-15T08:00:00Z, after every seeded message


@pytest.fixture
def sim() -> Simulator:
    sim = Simulator(clock=ManualClock(100.0, wall_offset=WALL))
    sim.seed("conversations", 6)
    return sim


@pytest.fixture(params=["asgi", pytest.param("http", marks=pytest.mark.e2e)])
async def client(
    sim: Simulator, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "asgi":
        transport = httpx.ASGITransport(sim)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://sim/api", headers=KEY
        ) as http:
            yield http
    else:
        with run_in_thread(sim) as url:
            async with httpx.AsyncClient(base_url=url, headers=KEY) as http:
                yield http


async def _ids(client: httpx.AsyncClient, query: str = "") -> list[int]:
    r = await client.get(f"{PATH}?{query}")
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["data"]]


async def test_seeded_conversations_are_doc_shaped_and_paged(client: httpx.AsyncClient) -> None:
    """Offset paging with the data + pagination envelope; messages stay out of the list."""
    r = await client.get(PATH, params={"offset": 2, "limit": 2})
    body = r.json()
    assert body["pagination"] == {"offset": 2, "limit": 2, "total": 6}
    first = body["data"][0]
    assert set(first) == {"id", "chatId", "channel", "channelId", "contact", "lastMessageDate",
                          "unreadCount", "archived", "creationDate"}  # fmt: skip
    assert (first["id"], first["chatId"], first["channel"], first["channelId"]) == (
        3, 3, "WHATSAPP", 5)  # fmt: skip
    assert (await client.get(PATH, params={"page": 1})).status_code == 400


async def test_list_filters_and_order(client: httpx.AsyncClient) -> None:
    """channelIds (comma-separated), unreadOnly, dateFrom, orderBy with +/- prefix."""
    assert await _ids(client) == [1, 2, 3, 4, 5, 6]
    assert await _ids(client, "channelIds=10") == [2, 4, 6]
    assert await _ids(client, "channelIds=5,10") == [1, 2, 3, 4, 5, 6]
    assert await _ids(client, "channelIds=7") == []
    assert await _ids(client, "unreadOnly=true") == [1, 4]
    assert await _ids(client, "unreadOnly=true&channelIds=10") == [4]
    assert await _ids(client, "dateFrom=2026-04-09T08:03:00Z") == [4, 5, 6]
    assert await _ids(client, "dateFrom=2026-04-10") == []
    assert await _ids(client, "orderBy=-lastMessageDate") == [6, 5, 4, 3, 2, 1]
    assert await _ids(client, "orderBy=%2BlastMessageDate") == [1, 2, 3, 4, 5, 6]
    assert await _ids(client, "orderBy=-unreadCount") == [4, 1, 6, 5, 3, 2]


@pytest.mark.parametrize(
    "query",
    ["channelIds=a,b", "dateFrom=yesterday", "orderBy=-colour", "orderBy=--id",
     "unreadOnly=yes", "limit=101", "colour=red"],
)  # fmt: skip
async def test_bad_list_queries_are_400(client: httpx.AsyncClient, query: str) -> None:
    r = await client.get(f"{PATH}?{query}")
    assert r.status_code == 400 and r.json()["status"] == 400


async def test_messages_window(client: httpx.AsyncClient) -> None:
    """idFrom/idTo bound the ids (inclusive); idFrom > idTo is a 400; an unknown chat 404."""
    r = await client.get(f"{PATH}/2/messages")
    msgs = r.json()["data"]
    assert [m["id"] for m in msgs] == [1, 2, 3]
    assert [m["direction"] for m in msgs] == ["INBOUND", "OUTBOUND", "INBOUND"]
    assert "receivedDate" in msgs[0] and "sentDate" in msgs[1]
    r = await client.get(f"{PATH}/2/messages", params={"idFrom": 2, "idTo": 2})
    assert [m["id"] for m in r.json()["data"]] == [2]
    assert (await client.get(f"{PATH}/2/messages?idFrom=3&idTo=1")).status_code == 400
    assert (await client.get(f"{PATH}/2/messages?idFrom=x")).status_code == 400
    assert (await client.get(f"{PATH}/99/messages")).status_code == 404
    assert (await client.get(f"{PATH}/abc/messages")).status_code == 404


async def test_reply_is_accepted_on_the_conversations_channel(client: httpx.AsyncClient) -> None:
    """202 with the new message's id and the conversation's channel; the reply is the
    conversation's last message."""
    r = await client.post(f"{PATH}/reply", json={"chatId": 2, "text": "Grazie!"})
    assert r.status_code == 202
    assert r.json() == {"id": 4, "chatId": 2, "channel": "RCS", "status": "ACCEPTED"}
    r = await client.post(f"{PATH}/reply", json={"chatId": "1", "mediaKey": "k/1"})
    assert r.status_code == 202 and r.json()["channel"] == "WHATSAPP"
    last = (await client.get(f"{PATH}/2/messages?idFrom=4")).json()["data"]
    assert last == [{"id": 4, "direction": "OUTBOUND", "messageType": "TEXT", "text": "Grazie!",
                     "sentDate": "2027-01-15T08:01:40Z"}]  # fmt: skip
    assert await _ids(client, "orderBy=-lastMessageDate&limit=2") == [2, 1]


@pytest.mark.parametrize(
    ("body", "status", "word"),
    [
        ({"chatId": 99, "text": "x"}, 404, "Conversation 99 not found."),
        ({"chatId": 2}, 400, "'text'"),
        ({"chatId": 2, "text": ""}, 400, "text"),
        ({"text": "x"}, 400, "'chatId' can't be blank"),
        ({"chatId": 2, "text": "x", "channel": "SMS"}, 400, "'channel' is not a known field"),
    ],
)
async def test_bad_replies(
    client: httpx.AsyncClient, body: dict[str, object], status: int, word: str
) -> None:
    r = await client.post(f"{PATH}/reply", json=body)
    assert r.status_code == status and word in r.json()["message"]


async def test_read_archive_unarchive(client: httpx.AsyncClient) -> None:
    """204 with no body; the flags change; an unknown chat is 404."""
    for action in ("read", "archive"):
        r = await client.patch(f"{PATH}/4/{action}")
        assert (r.status_code, r.content) == (204, b"")
    conv = (await client.get(PATH, params={"channelIds": 10})).json()["data"][1]
    assert (conv["id"], conv["unreadCount"], conv["archived"]) == (4, 0, True)
    assert (await client.get(f"{PATH}/4/messages")).json()["pagination"]["total"] == 3
    assert (await client.patch(f"{PATH}/4/unarchive")).status_code == 204
    assert (await client.get(PATH)).json()["data"][3]["archived"] is False
    for action in ("read", "archive", "unarchive"):
        assert (await client.patch(f"{PATH}/77/{action}")).status_code == 404


async def test_conversations_are_per_account() -> None:
    sim = Simulator(api_keys=("alice", "bob"))
    sim.seed("conversations", 2, key="alice")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(sim), base_url="http://sim/api"
    ) as http:
        r = await http.get(PATH, headers={"X-Api-Key": "bob"})
        assert r.json()["pagination"]["total"] == 0
        r = await http.post(f"{PATH}/reply", json={"chatId": 1, "text": "x"},
                            headers={"X-Api-Key": "bob"})  # fmt: skip
        assert r.status_code == 404
