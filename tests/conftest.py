"""Shared fixtures: every async test runs on asyncio and trio through anyio's pytest plugin."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# CI runs one fixed set of examples (derandomized), so a run is reproducible and a red CI always
# means a change broke something. Locally examples vary from run to run; `thorough` digs deeper:
#   HYPOTHESIS_PROFILE=thorough make pytest
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.register_profile("thorough", deadline=None, max_examples=2000, print_blob=True)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


@pytest.fixture(
    params=[
        pytest.param("asyncio", id="asyncio"),
        pytest.param("trio", id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Run each ``@pytest.mark.anyio`` test on both backends."""
    return str(request.param)


@pytest.fixture(
    params=[
        pytest.param("httpx", id="httpx"),
        pytest.param("aiohttp", id="aiohttp"),
    ]
)
def http_backend(request: pytest.FixtureRequest) -> str:
    """Run a real-socket test on each HTTP backend (``AsyncQlara(http_backend=...)``).

    Only tests over real sockets take it: ``httpx.MockTransport`` is httpx's own, and aiohttp
    runs on asyncio only (a trio run of an aiohttp test is skipped).
    """
    if (
        request.param == "aiohttp"
        and "anyio_backend" in request.fixturenames
        and request.getfixturevalue("anyio_backend") == "trio"
    ):
        pytest.skip("aiohttp runs on asyncio only")
    return str(request.param)
