"""The simulator refuses a callback URL it could never POST to (a port that is not a number)."""

from __future__ import annotations

import anyio
import httpx
import pytest

from qlara_async.testing import Simulator


@pytest.mark.parametrize("url", ["https://host:xx/hook", "https://host:99999/hook"])
def test_a_callback_url_with_a_bad_port_is_a_400(url: str) -> None:
    async def main() -> httpx.Response:
        transport = httpx.ASGITransport(Simulator())
        async with httpx.AsyncClient(transport=transport, base_url="http://sim/api") as http:
            return await http.post(
                "/partner-gateway/v1/webhooks/delivery-status",
                json={"callbackUrl": url},
                headers={"X-Api-Key": "test-key"},
            )

    r = anyio.run(main)
    assert r.status_code == 400 and "callbackUrl" in r.text
