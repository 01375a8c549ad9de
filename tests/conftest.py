"""Shared fixtures: every async test runs on asyncio and trio through anyio's pytest plugin."""

from __future__ import annotations

import os
from collections.abc import Iterator

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


# The (event loop, HTTP backend) pairs a real-socket test runs on: aiohttp runs on asyncio only, so
# trio x aiohttp is never generated (rather than generated and skipped).
_BACKEND_PAIRS = [
    pytest.param("asyncio", "httpx", id="asyncio-httpx"),
    pytest.param("trio", "httpx", id="trio-httpx"),
    pytest.param("asyncio", "aiohttp", id="asyncio-aiohttp"),
]


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize a test that takes ``http_backend`` over the valid pairs only.

    Added as a ``parametrize`` mark before pytest's own hooks run, so the fixtures' own params
    give way to it (pytest lets a test's parametrize mark override a parametrized fixture).
    """
    if "http_backend" not in metafunc.fixturenames:
        return
    if "anyio_backend" in metafunc.fixturenames:
        mark = pytest.mark.parametrize(("anyio_backend", "http_backend"), _BACKEND_PAIRS)
    else:
        mark = pytest.mark.parametrize("http_backend", ["httpx", "aiohttp"])
    metafunc.definition.add_marker(mark)


@pytest.fixture
def http_backend() -> str:
    """Run a real-socket test on each HTTP backend (``AsyncQlara(http_backend=...)``).

    Only tests over real sockets take it: ``httpx.MockTransport`` is httpx's own. The values
    come from ``pytest_generate_tests`` (trio with aiohttp is not generated: aiohttp runs on
    asyncio only); this body runs only if that hook is bypassed.
    """
    return "httpx"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[pytest.MonkeyPatch]:
    """No proxy or CA-bundle variable from the machine's environment (either case): the
    proxy and pool tests set the ones they test."""
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "REQUEST_METHOD",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    yield monkeypatch
