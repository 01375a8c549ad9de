"""A pytest plugin (installed with the package, entry point ``pytest11``): the simulator as fixtures.

::

    async def test_welcome_sms(qlara_client, qlara_simulator):
        async with qlara_client as client:
            await client.sms.send(destination="+393201234567", sender="Shop", body="Ciao")
        assert qlara_simulator.stats.processed == 1

* ``qlara_simulator``: a fresh :class:`~qlara_async.testing.Simulator` per test (no rate limit,
  no faults, key ``test-key``); change its knobs (``.faults``, ``.storm(...)``) in the test.
  Override the fixture in your ``conftest.py`` for other settings.
* ``qlara_simulator_url``: the simulator served over real HTTP on loopback (its own thread), as
  ``http://127.0.0.1:PORT/api``.
* ``qlara_client``: an :class:`~qlara_async.AsyncQlara` pointed at it, with the key set and no
  client-side rate limit; use it as ``async with qlara_client as client:`` in any async test
  (pytest-asyncio, anyio or trio). The fixture closes it if the test did not.

Nothing here runs unless a test asks for one of these fixtures.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from .._client import AsyncQlara
from ._app import Simulator
from ._server import run_in_thread

__all__ = ["qlara_client", "qlara_simulator", "qlara_simulator_url"]

KEY = "test-key"


@pytest.fixture
def qlara_simulator() -> Simulator:
    """A fresh simulator (no rate limit, no faults; accepts the key ``test-key``)."""
    return Simulator(api_keys=(KEY,))


@pytest.fixture
def qlara_simulator_url(qlara_simulator: Simulator) -> Iterator[str]:
    """The simulator on loopback, over real HTTP: ``http://127.0.0.1:PORT/api``."""
    with run_in_thread(qlara_simulator) as url:
        yield url


@pytest.fixture
def qlara_client(qlara_simulator_url: str) -> Iterator[AsyncQlara]:
    """An ``AsyncQlara`` for the simulator; ``async with qlara_client as client:`` in the test."""
    client = AsyncQlara(api_key=KEY, base_url=qlara_simulator_url, rate_limit=None)
    yield client
    # Closing twice is harmless; this closes a client the test never entered.
    asyncio.run(client.aclose())
