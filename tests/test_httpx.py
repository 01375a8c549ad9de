"""The httpx backend's shortcuts (``qlara_async._httpx``) against httpx's own behaviour.

``RequestBuilder`` must build exactly what ``AsyncClient.build_request`` builds (method, URL,
headers in the same order, body, timeout extension), or hand the job back to httpx; the direct
send must still fill a given client's cookie jar from a ``Set-Cookie``; ``HeaderAuth`` must work
through httpx's own auth flow too. (The library's own pool, ``PoolShards``: ``test_pool.py``.)
"""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qlara_async import AsyncQlara, SmsMessage
from qlara_async._httpx import HeaderAuth, RequestBuilder

URL = "https://api.test/api/message/sms"
OURS = {
    "User-Agent": "qlara-async/test",
    "Accept": "application/json",
    "Accept-Encoding": "gzip, deflate",
}
OURS_JSON = {**OURS, "Content-Type": "application/json"}
TIMEOUT = httpx.Timeout(7.0, connect=2.0)
pytestmark = pytest.mark.anyio

MESSAGE = SmsMessage(destination="+393201234567", sender="Brand", body="Ciao")
SEND_OK = b'{"messageId":"m","results":{"sms":{"accepted":true}}}'


def _same(built: httpx.Request, expected: httpx.Request) -> None:
    assert built.method == expected.method
    assert built.url == expected.url
    assert built.headers.raw == expected.headers.raw  # same headers, same order, same case
    assert built.content == expected.content
    assert built.extensions == expected.extensions
    assert isinstance(built.stream, httpx.AsyncByteStream)


CASES = [
    ("POST", b'{"a":1}', OURS_JSON),
    ("POST", None, OURS),
    ("POST", b"", OURS_JSON),
    ("PUT", b"[]", OURS_JSON),
    ("PATCH", None, OURS),
    ("GET", None, OURS),
    ("DELETE", None, OURS),
]


@pytest.mark.parametrize(("method", "content", "headers"), CASES)
@pytest.mark.parametrize(
    "client_options",
    [
        {},
        {"headers": {"X-Trace": "t1", "User-Agent": "theirs"}},
        {"headers": {"Host": "other.test"}},
        {"base_url": "https://elsewhere.test/v9/"},
    ],
    ids=["plain", "own-headers", "own-host", "base-url"],
)
async def test_the_builder_builds_what_httpx_builds(
    method: str, content: bytes | None, headers: dict[str, str], client_options: dict[str, object]
) -> None:
    async with httpx.AsyncClient(**client_options) as http:  # type: ignore[arg-type]
        builder = RequestBuilder(http)
        for _ in range(2):  # the first builds the template, the second reuses it
            built = builder.build(method, URL, content, headers, TIMEOUT)
            assert built is not None
            expected = http.build_request(
                method, URL, content=content, headers=headers, timeout=TIMEOUT
            )
            _same(built, expected)


async def test_a_change_to_the_clients_headers_is_picked_up() -> None:
    async with httpx.AsyncClient() as http:
        builder = RequestBuilder(http)
        first = builder.build("POST", URL, b"{}", OURS_JSON, TIMEOUT)
        assert first is not None and "X-Added" not in first.headers
        http.headers["X-Added"] = "yes"
        second = builder.build("POST", URL, b"{}", OURS_JSON, TIMEOUT)
        assert second is not None and second.headers["X-Added"] == "yes"
        http.headers["X-Added"] = "changed"  # same length, new value
        third = builder.build("POST", URL, b"{}", OURS_JSON, TIMEOUT)
        assert third is not None and third.headers["X-Added"] == "changed"
        _same(
            third,
            http.build_request("POST", URL, content=b"{}", headers=OURS_JSON, timeout=TIMEOUT),
        )


async def test_another_timeout_object_is_used_as_given() -> None:
    async with httpx.AsyncClient() as http:
        builder = RequestBuilder(http)
        builder.build("POST", URL, b"{}", OURS_JSON, TIMEOUT)
        other = httpx.Timeout(1.5)
        built = builder.build("POST", URL, b"{}", OURS_JSON, other)
        assert built is not None and built.extensions["timeout"] == other.as_dict()


@pytest.mark.parametrize(
    "client_options",
    [
        {"cookies": {"session": "s"}},
        {"params": {"q": "1"}},
        {"headers": {"Content-Length": "5"}},
        {"headers": {"Transfer-Encoding": "chunked"}},
    ],
    ids=["cookies", "params", "content-length", "transfer-encoding"],
)
async def test_what_httpx_must_merge_is_left_to_httpx(client_options: dict[str, object]) -> None:
    async with httpx.AsyncClient(**client_options) as http:  # type: ignore[arg-type]
        assert RequestBuilder(http).build("POST", URL, b"{}", OURS_JSON, TIMEOUT) is None


@pytest.mark.parametrize("url", ["/relative/path", "https://", "http://[::1"])
async def test_a_url_it_cannot_use_is_left_to_httpx(url: str) -> None:
    async with httpx.AsyncClient() as http:
        assert RequestBuilder(http).build("POST", url, b"{}", OURS_JSON, TIMEOUT) is None


async def test_a_new_headers_dict_with_a_reused_id_gets_its_own_template() -> None:
    async with httpx.AsyncClient() as http:
        builder = RequestBuilder(http)
        first = {"X-One": "1"}
        builder.build("POST", URL, b"{}", first, TIMEOUT)
        # The same key as far as id() goes, another dict: its own headers must be sent.
        other = {"X-Two": "2"}
        builder._templates[(URL, id(other))] = builder._templates.pop((URL, id(first)))
        built = builder.build("POST", URL, b"{}", other, TIMEOUT)
        assert built is not None and "X-Two" in built.headers and "X-One" not in built.headers


_SHARED = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(500)))
_header_name = st.from_regex(r"\AX-[A-Za-z][A-Za-z0-9-]{0,12}\Z")
_header_value = st.from_regex(r"\A[ -~]{0,30}\Z").map(str.strip)


@settings(max_examples=150, deadline=None)
@given(
    client_headers=st.dictionaries(_header_name, _header_value, max_size=4),
    ours=st.dictionaries(_header_name, _header_value, max_size=4),
    content=st.none() | st.binary(max_size=64),
    method=st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE"]),
)
def test_any_headers_and_body_build_the_same(
    client_headers: dict[str, str], ours: dict[str, str], content: bytes | None, method: str
) -> None:
    http = _SHARED
    http.headers = client_headers  # (a client per example would cost an SSL context each)
    built = RequestBuilder(http).build(method, URL, content, ours, TIMEOUT)
    assert built is not None
    _same(built, http.build_request(method, URL, content=content, headers=ours, timeout=TIMEOUT))


async def test_a_given_clients_cookie_jar_still_gets_set_cookie() -> None:
    """The direct send skips httpx's cookie parsing only when there is no Set-Cookie."""

    def answer(request: httpx.Request) -> httpx.Response:
        headers = {"content-type": "application/json"}
        if request.headers.get("x-want-cookie"):
            headers["set-cookie"] = "lb=node-7; Path=/"
        return httpx.Response(200, content=SEND_OK, headers=headers)

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer))
    async with AsyncQlara(api_key="k", base_url="https://api.test/api", http_client=http) as client:
        await client.send(MESSAGE)
        assert not http.cookies
        http.headers["X-Want-Cookie"] = "1"
        await client.send(MESSAGE)
        assert http.cookies.get("lb") == "node-7"


async def test_header_auth_works_through_httpx_too() -> None:
    """Through ``AsyncClient.send`` (a client with event hooks goes that way) the credential
    is added by the auth flow, as the direct path adds it."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["X-Api-Key"])
        return httpx.Response(200, content=SEND_OK, headers={"content-type": "application/json"})

    async def hook(request: httpx.Request) -> None:
        pass

    http = httpx.AsyncClient(transport=httpx.MockTransport(answer), event_hooks={"request": [hook]})
    async with AsyncQlara(api_key="key-1", base_url="https://api.test/api", http_client=http) as c:
        await c.send(MESSAGE)
    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as plain:
        await plain.post("https://api.test/x", auth=HeaderAuth("X-Api-Key", lambda: "key-2"))
    assert seen == ["key-1", "key-2"]
    assert "key" not in repr(HeaderAuth("X-Api-Key", lambda: "key-3"))


# -- PoolShards: the library's own pool ---------------------------------------------------------


async def test_a_lower_case_method_builds_as_httpx_builds_it() -> None:
    async with httpx.AsyncClient() as http:
        built = RequestBuilder(http).build("post", URL, None, OURS, TIMEOUT)
        assert built is not None
        _same(built, http.build_request("post", URL, headers=OURS, timeout=TIMEOUT))
