"""Workflow 1 of the platform overview: send a message, then follow its delivery status.

    python examples/track_status.py                 # against an embedded simulator
    QLARA_API_KEY=... python examples/track_status.py +393201234567

The message carries your own ``messageId``; the status endpoint answers by that id.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import uuid

from qlara_async import AsyncQlara


async def main(destination: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        if os.environ.get("QLARA_API_KEY"):
            client = AsyncQlara()  # QLARA_API_KEY and QLARA_BASE_URL
        else:
            from qlara_async.testing import Simulator, serve

            url = await stack.enter_async_context(serve(Simulator(delivery_delay=0.5)))
            client = AsyncQlara(api_key="test-key", base_url=url)
        await stack.enter_async_context(client)

        message_id = f"order-{uuid.uuid4()}"
        sent = await client.sms.send(
            destination=destination, sender="MyShop", body="Your order has shipped",
            message_id=message_id,
        )  # fmt: skip
        print(f"sent {sent.message_id}: accepted={sent.accepted}")

        # Poll with a growing interval until the platform reports a final state.
        delay = 0.25
        for _ in range(20):
            status = await client.messages.status(message_id, channel="SMS")
            print(f"  status: {status.delivery_status}")
            if status.delivery_status in ("DELIVERED", "FAILED", "EXPIRED", "REJECTED"):
                break
            await asyncio.sleep(delay)
            delay = min(delay * 2, 30)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else "+393201234567"))
