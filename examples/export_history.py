"""Workflow 4 of the platform overview: export the message history as a file.

    python examples/export_history.py                        # against an embedded simulator
    QLARA_API_KEY=... python examples/export_history.py

The export runs in the background (202); ``client.exports.wait`` polls with backoff until it
is available and returns its download link. From the shell:
``qlara exports history`` then ``qlara exports download ID --output history.csv``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from qlara_async import AsyncQlara


async def main() -> None:
    async with contextlib.AsyncExitStack() as stack:
        if os.environ.get("QLARA_API_KEY"):
            client = AsyncQlara()
        else:
            from qlara_async.testing import Simulator, serve

            url = await stack.enter_async_context(serve(Simulator(export_delay=1.0)))
            client = AsyncQlara(api_key="test-key", base_url=url)
        await stack.enter_async_context(client)

        job = await client.messages.export_history(channel="SMS")
        print(f"export {job.id} requested")
        link = await client.exports.wait(job.id, timeout=600, poll_interval=0.5)
        print(f"ready: {link.link}")


if __name__ == "__main__":
    asyncio.run(main())
