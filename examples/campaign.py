"""Workflow 3 of the platform overview: a bulk campaign, created, priced, confirmed, followed.

    python examples/campaign.py                      # against an embedded simulator
    QLARA_API_KEY=... python examples/campaign.py

A campaign is the platform sending to a contact list for you (``qlara bulk`` and
``client.bulk`` send from your side instead). ``sms_body`` uses the campaign syntax
``{{placeholder}}``, filled from each contact.
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

            url = await stack.enter_async_context(serve(Simulator()))
            client = AsyncQlara(api_key="test-key", base_url=url)
        await stack.enter_async_context(client)

        # The audience: a list with two contacts.
        ada = await client.contacts.create(phone="+393201234567", first_name="Ada")
        bob = await client.contacts.create(phone="+393207654321", first_name="Bob")
        customers = await client.contact_lists.create(name="Customers")
        await client.contact_lists.add_contacts(
            list_ids=[customers.id], contact_ids=[ada.id, bob.id]
        )

        campaign = await client.campaigns.create(
            name="Spring promo", sending_mode="SMS", destination_type=1,
            contact_list_ids=[customers.id], sms_sender="MyShop",
            sms_body="Ciao {{firstName}}, -20% this week",
        )  # fmt: skip
        cost = await client.campaigns.calculate_cost(campaign.id)
        print(
            f"campaign {campaign.id}: {cost.recipients} recipients, {cost.amount} {cost.currency}"
        )
        await client.campaigns.confirm(campaign.id)  # schedules and sends
        sent = await client.campaigns.get(campaign.id)
        print(f"status {sent.status}")
        for bucket in await client.campaigns.stats():
            print(f"  stats: {bucket}")


if __name__ == "__main__":
    asyncio.run(main())
