"""Defaults, named once so constructors and docs agree."""

from __future__ import annotations

DEFAULT_BASE_URL = "https://lora-api.agiletelecom.com/api"
ENV_API_KEY = "QLARA_API_KEY"
ENV_BASE_URL = "QLARA_BASE_URL"

DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 4
"""Retries after the first attempt: five attempts in all, as the API reference advises."""

DEFAULT_BACKOFF_BASE = 1.0
"""First retry waits 1 s, then 2 s, 4 s, 8 s (the reference's schedule)."""
DEFAULT_BACKOFF_MAX = 60.0
DEFAULT_JITTER = 0.5
"""0-500 ms of random delay added to every backoff wait."""
DEFAULT_MAX_RETRY_AFTER = 300.0
"""Cap on a server's Retry-After: the FAQ suggests 5 minutes before giving up."""

DEFAULT_MAX_RESPONSE_SIZE = 8 * 1024 * 1024
"""Largest response body read (8 MiB): the API's answers are a few kB, a page of 100 items some
tens; a body past this is refused instead of filling memory."""
MAX_ERROR_BODY_SIZE = 64 * 1024
"""An error response's body is read up to 64 KiB and the rest dropped."""
MAX_ERROR_DETAIL = 500
"""Characters of the server's error text kept in an error's message."""

DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_MAX_KEEPALIVE = 100

API_KEY_HEADER = "X-Api-Key"
REQUEST_ID_HEADER = "X-Request-Id"


class NotGiven:
    """The type of ``NOT_GIVEN``: an option the caller did not pass (``None`` may mean
    something, e.g. "no timeout"), as httpx's ``USE_CLIENT_DEFAULT`` and openai's ``NOT_GIVEN``."""

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven()
"""Marks an option left out, so a default can be told apart from a value equal to it."""
