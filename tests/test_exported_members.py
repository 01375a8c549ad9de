"""The package's public names: one sorted __all__, every name importable, nothing private leaked."""

from __future__ import annotations

import qlara_async


def test_all_is_sorted_and_unique() -> None:
    """__all__ stays sorted (case-sensitive, like httpx) and without duplicates."""
    assert list(qlara_async.__all__) == sorted(set(qlara_async.__all__))


def test_every_exported_name_exists() -> None:
    """Each name in __all__ resolves."""
    for name in qlara_async.__all__:
        assert hasattr(qlara_async, name), name


def test_public_classes_are_exported() -> None:
    """Every public class or function reachable at the top level is listed in __all__."""
    public = {
        name
        for name, value in vars(qlara_async).items()
        if not name.startswith("_") and (isinstance(value, type) or callable(value))
    }
    assert public <= set(qlara_async.__all__)


def test_contract_names() -> None:
    """The names CONTRACT.md promises are importable from the package."""
    from qlara_async import (  # noqa: F401
        APIConnectionError,
        APIError,
        APIStatusError,
        APITimeoutError,
        AsyncQlara,
        AuthenticationError,
        BadRequestError,
        ConflictError,
        InternalServerError,
        NotFoundError,
        PermissionDeniedError,
        QlaraError,
        RateLimit,
        RateLimitError,
        RcsMessage,
        SendResult,
        SmsMessage,
        UnprocessableEntityError,
        ValidationError,
        WhatsAppMessage,
    )


def test_error_tree() -> None:
    """The exception hierarchy is the one CONTRACT.md draws."""
    q = qlara_async
    assert issubclass(q.ValidationError, q.QlaraError) and issubclass(q.ValidationError, ValueError)
    assert issubclass(q.APIError, q.QlaraError)
    assert issubclass(q.APITimeoutError, q.APIConnectionError)
    assert issubclass(q.APIConnectionError, q.APIError)
    for cls in (
        q.BadRequestError,
        q.AuthenticationError,
        q.PermissionDeniedError,
        q.NotFoundError,
        q.ConflictError,
        q.UnprocessableEntityError,
        q.RateLimitError,
        q.InternalServerError,
    ):
        assert issubclass(cls, q.APIStatusError)
    assert issubclass(q.APIStatusError, q.APIError)


def test_rate_limit_presets() -> None:
    """The plan presets are the documented windows, in any order."""
    R = qlara_async.RateLimit
    assert R((1000, 60.0), (50, 1.0)) == R.PRODUCTION
    assert R((10, 1.0), (100, 60.0)) == R.TRIAL
    assert R((5, 0.25)).windows == ((5, 0.25),)
    assert repr(R.PRODUCTION) == "RateLimit((50, 1.0), (1000, 60.0))"
