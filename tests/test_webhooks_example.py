"""``examples/webhooks_fastapi.py`` end to end: the FastAPI app configures the simulator's webhook
on startup, the simulator's callbacks (duplicated, reordered) reach it over real HTTP, and every
message's delivery is logged and answered by ``GET /deliveries/{id}``."""

from __future__ import annotations

import importlib.util
import logging
import sys
from pathlib import Path
from types import ModuleType

import httpx
import pytest

from qlara_async import AsyncQlara
from qlara_async.models import SmsMessage, WhatsAppMessage
from qlara_async.testing import CallbackOptions, Simulator, run_in_thread

pytest.importorskip("fastapi")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "webhooks_fastapi.py"


def load_example() -> ModuleType:
    spec = importlib.util.spec_from_file_location("webhooks_fastapi_example", EXAMPLE)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.anyio
async def test_the_fastapi_example_logs_every_delivery(caplog: pytest.LogCaptureFixture) -> None:
    example = load_example()
    caplog.set_level(logging.INFO, logger="webhooks_example")
    options = CallbackOptions(
        delay=0, read_after=0, duplicate_rate=0.5, reorder=True, undelivered=["+393470000003"]
    )
    sim = Simulator(callbacks=options)
    with run_in_thread(sim) as api_url:
        client = AsyncQlara("test-key", base_url=api_url)
        token = "example-token"
        placeholder = example.create_app(
            client=client, public_url="http://127.0.0.1:1", token=token
        )
        assert placeholder.state.tracker is not None
        # Serve the app first (its port is the public URL), then run its startup.
        with run_in_thread(_Late(), base_path="") as app_url:
            app = example.create_app(client=client, public_url=app_url, token=token)
            _Late.target = app
            async with app.router.lifespan_context(app):
                hook = await client.webhooks.get()
                assert hook.callback_url == f"{app_url}/qlara/callbacks?token={token}"
                messages = [
                    SmsMessage(destination=f"+39347000000{i}", sender="Brand", body="Ciao")
                    if i % 2
                    else WhatsAppMessage(
                        destination=f"+39347000000{i}",
                        phone_number_id=5,
                        body={"text": {"body": "x"}},
                    )
                    for i in range(8)
                ]
                ids: dict[int, str] = {}
                report = await client.bulk.run(
                    messages, on_outcome=lambda o: ids.__setitem__(o.index, o.message_id)
                )
                assert report.accepted == 8
                # Every callback is due at once: one pump POSTs them all; each answer comes after
                # the app's handler ran, so the states are known when pump returns.
                await sim.callbacks.pump()
                async with httpx.AsyncClient(base_url=app_url) as http:
                    states = {}
                    for i, m in enumerate(messages):
                        r = await http.get(f"/deliveries/{ids[i]}")
                        states[m.destination] = r.json()
                    refused = await http.post("/qlara/callbacks?token=wrong", content=b"{}")
    assert refused.status_code == 401
    assert all(s["final"] for s in states.values())
    assert states["+393470000003"]["state"] == "NOT_DELIVERED"
    assert states["+393470000000"]["state"] == "READ"  # WhatsApp: delivered, then read
    assert states["+393470000001"]["state"] == "DELIVERED"  # SMS has no READ
    assert sim.callbacks.stats.duplicates > 0
    logged = [r.getMessage() for r in caplog.records if r.name == "webhooks_example"]
    assert {line.split()[1].rstrip(":") for line in logged[1:]} == set(ids.values())
    assert not any("+39" in line or token in line for line in logged)


class _Late:
    """An ASGI app that forwards to ``target`` once set (the app needs the server's URL first)."""

    target: object = None

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        assert _Late.target is not None
        await _Late.target(scope, receive, send)  # type: ignore[operator]
