"""The simulator's media library, in-process (ASGI) and over real HTTP on loopback: multipart
upload typed by content, strict form fields, list, get, delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from qlara_async._clock import ManualClock
from qlara_async.testing import Simulator

from ._sim_http import sim_http

pytestmark = pytest.mark.anyio

PATH = "/partner-gateway/v1/media"
KEY = {"X-Api-Key": "test-key"}
WALL = 1_700_000_000.0
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 24
GIF = b"GIF89a" + b"\x00" * 24
MP4 = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 24


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


@pytest.mark.parametrize(
    ("content", "mime"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (MP4, "video/mp4")],
)
async def test_upload_answers_201_typed_by_content(
    client: httpx.AsyncClient, content: bytes, mime: str
) -> None:
    """Upload answers 201 with an id and a mediaKey; the type comes from the bytes, not the
    file name or the part's Content-Type; name defaults to the file name."""
    files = {"file": ("misnamed.txt", content, "application/octet-stream")}
    r = await client.post(PATH, files=files)
    assert r.status_code == 201, r.text
    body = r.json()
    assert set(body) == {
        "id",
        "name",
        "description",
        "folderId",
        "mediaKey",
        "url",
        "mimeType",
        "size",
        "creationDate",
    }
    assert (body["id"], body["name"], body["mimeType"], body["size"]) == (
        1,
        "misnamed.txt",
        mime,
        len(content),
    )
    assert body["mediaKey"] and "/" not in body["mediaKey"]
    assert body["creationDate"] == "2023-11-14T22:15:00Z"


async def test_upload_get_list_delete(client: httpx.AsyncClient) -> None:
    """name, description and folderId are stored; get and list return the item; delete is
    204, then get and a second delete are 404."""
    data = {"name": "logo", "description": "the logo", "folderId": "7"}
    made = (await client.post(PATH, files={"file": ("a.png", PNG, "image/png")}, data=data)).json()
    assert (made["name"], made["description"], made["folderId"]) == ("logo", "the logo", 7)
    assert (await client.get(f"{PATH}/{made['id']}")).json() == made
    page = (await client.get(PATH)).json()
    assert page == {"data": [made], "pagination": {"offset": 0, "limit": 20, "total": 1}}
    r = await client.delete(f"{PATH}/{made['id']}")
    assert (r.status_code, r.content) == (204, b"")
    r = await client.get(f"{PATH}/{made['id']}")
    assert (r.status_code, r.json()["message"]) == (404, f"Media {made['id']} not found.")
    assert (await client.delete(f"{PATH}/{made['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("files", "data", "word"),
    [
        pytest.param({"name": (None, "x")}, {}, "'file' can't be blank", id="no-file"),
        pytest.param({"file": ("a.pdf", b"%PDF-1.4", "image/png")}, {}, "JPEG, PNG", id="pdf"),
        pytest.param({"file": ("a.png", b"", "image/png")}, {}, "empty", id="empty"),
        pytest.param(
            {"file": ("a.png", PNG, "image/png")}, {"folderId": "x"}, "'folderId'", id="f"
        ),
        pytest.param(
            {"file": ("a.png", PNG, "image/png")}, {"folderId": "-1"}, "'folderId'", id="n"
        ),
        pytest.param({"file": ("a.png", PNG, "image/png")}, {"folder": "1"}, "'folder'", id="typo"),
        pytest.param({"file": ("a.png", PNG, "image/png")}, {"name": ""}, "'name'", id="blank"),
        pytest.param({"image": ("a.png", PNG, "image/png")}, {}, "'image'", id="wrong-part"),
    ],
)
async def test_bad_upload_is_400_and_stores_nothing(
    sim: Simulator,
    client: httpx.AsyncClient,
    files: dict[str, Any],
    data: dict[str, str],
    word: str,
) -> None:
    """A missing or non-media file, a mistyped or unknown field: a platform 400 naming it."""
    r = await client.post(PATH, files=files, data=data)
    assert r.status_code == 400, r.text
    body = r.json()
    assert set(body) == {"status", "error", "message", "timestamp", "path"}
    assert word in body["message"], body["message"]
    assert len(sim.collection("media", key="test-key")) == 0


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"file": "x"}', id="json"),
        pytest.param(b"--b\r\nContent-Disposition: form-data; name=file\r\n\r\nx", id="no-end"),
        pytest.param(b"--b\r\nContent-Type: image/png\r\n\r\nx\r\n--b--\r\n", id="no-disp"),
        pytest.param(
            b"--b\r\nContent-Disposition: form-data; name=name\r\n\r\na\r\n"
            b"--b\r\nContent-Disposition: form-data; name=name\r\n\r\nb\r\n--b--\r\n",
            id="repeated-field",
        ),
    ],
)
async def test_malformed_multipart_is_400(client: httpx.AsyncClient, content: bytes) -> None:
    """A body that is not well-formed multipart/form-data is a 400, not a crash."""
    r = await client.post(PATH, content=content)
    assert r.status_code == 400
    assert r.json()["status"] == 400


async def test_120_seeded_items_page_each_once(sim: Simulator, client: httpx.AsyncClient) -> None:
    """Seeded media page with offset/limit; unknown query parameters are a 400."""
    seeded = sim.seed("media", 120, key="test-key")
    first = (await client.get(PATH, params={"limit": 100})).json()
    second = (await client.get(PATH, params={"offset": 100, "limit": 100})).json()
    ids = [m["id"] for m in first["data"] + second["data"]]
    assert ids == [m["id"] for m in seeded]
    assert first["pagination"]["total"] == 120
    assert "sha256" not in first["data"][0]
    assert (await client.get(PATH, params={"folder": "1"})).status_code == 400
    assert (await client.get(f"{PATH}/abc")).status_code == 400
