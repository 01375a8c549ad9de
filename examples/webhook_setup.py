"""Workflow 2 of the platform overview: have delivery events POSTed to your server (no polling).

    python examples/webhook_setup.py                               # against an embedded simulator
    QLARA_API_KEY=... python examples/webhook_setup.py https://your-server.example.com/webhook

Configures the delivery-status webhook (replacing one already there), reads it back, and shows
how to change or remove it. The same from the shell: ``qlara webhooks configure URL``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

from qlara_async import AsyncQlara, ConflictError


async def main(callback_url: str, remove: bool) -> None:
    async with contextlib.AsyncExitStack() as stack:
        if os.environ.get("QLARA_API_KEY"):
            client = AsyncQlara()
        else:
            from qlara_async.testing import Simulator, serve

            url = await stack.enter_async_context(serve(Simulator()))
            client = AsyncQlara(api_key="test-key", base_url=url)
        await stack.enter_async_context(client)

        try:
            config = await client.webhooks.configure(callback_url)
        except ConflictError:  # one is configured already: the API answers 409
            config = await client.webhooks.update(callback_url)
        print(f"delivery events go to {config.callback_url}")
        print(f"configured: {(await client.webhooks.get()).callback_url}")
        if remove:
            await client.webhooks.delete()
            print("webhook removed")


if __name__ == "__main__":
    target = next((a for a in sys.argv[1:] if not a.startswith("--")), None)
    asyncio.run(main(target or "https://example.com/qlara-webhook", "--remove" in sys.argv))
