"""Type-checked, never run: how users write against the public API (mypy --strict checks it)."""

from __future__ import annotations

from qlara_async import AsyncQlara, RateLimit, SendResult, SmsMessage


async def one_message() -> bool:
    async with AsyncQlara(api_key="k", rate_limit=RateLimit.TRIAL) as client:
        r: SendResult = await client.sms.send(
            destination="+393201234567",
            sender="MyBrand",
            body="Ciao {nome}",
            placeholders={"nome": "Marco"},
        )
        again: SendResult = await client.send(
            SmsMessage(destination="+393201234567", sender="MyBrand", body="Ciao")
        )
        return r.accepted and again.accepted
