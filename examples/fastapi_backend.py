"""An async web backend: a FastAPI app that shares one client through its lifespan.

    python examples/fastapi_backend.py              # self-check against an embedded simulator
    QLARA_API_KEY=... uvicorn examples.fastapi_backend:app

One client per process, made at startup and closed at shutdown: it holds the connection pool
and the rate limiter, so every request handler spends the same plan budget (a client per request
would open new connections each time and let N handlers each believe they own the whole plan,
which ends in 429s).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from pydantic import BaseModel

from qlara_async import AsyncQlara, QlaraError, ValidationError


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncQlara() as client:  # QLARA_API_KEY, QLARA_BASE_URL
        app.state.qlara = client
        yield


app = FastAPI(lifespan=lifespan)


class Welcome(BaseModel):
    phone: str
    name: str


@app.post("/welcome")
async def welcome(data: Welcome, request: Request) -> dict[str, str]:
    client: AsyncQlara = request.app.state.qlara
    # A web request has a deadline: fail fast rather than retry for a minute.
    fast = client.with_options(timeout=5.0, max_retries=1)
    try:
        result = await fast.sms.send(
            destination=data.phone, sender="MyShop", body="Welcome, {name}!",
            placeholders={"name": data.name},
        )  # fmt: skip
    except ValidationError as exc:
        raise HTTPException(422, f"{exc.field}: {exc}") from None
    except QlaraError as exc:
        raise HTTPException(502, "messaging provider unavailable") from exc
    return {"message_id": result.message_id, "accepted": str(result.accepted)}


async def self_check() -> None:
    """Run the app (lifespan included) against an embedded simulator; call the endpoint."""
    import os

    import httpx

    from qlara_async.testing import Simulator, serve

    async with serve(Simulator()) as url:
        os.environ.setdefault("QLARA_API_KEY", "test-key")
        os.environ.setdefault("QLARA_BASE_URL", url)
        # What uvicorn does: run the lifespan (one client for every request), serve requests.
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app)
            async with httpx.AsyncClient(transport=transport, base_url="http://app") as http:
                for name in ("Ada", "Bob"):
                    r = await http.post("/welcome", json={"phone": "+393201234567", "name": name})
                    print(r.status_code, r.json())
                r = await http.post("/welcome", json={"phone": "12", "name": "X"})
                print(r.status_code, r.json())


if __name__ == "__main__":
    import asyncio

    asyncio.run(self_check())
