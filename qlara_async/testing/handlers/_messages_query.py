"""Query helpers shared by the status, history, export and campaign handlers: the ``from``/``to``
date range and the ``channel`` filter, each strictly checked (a 400 naming the parameter)."""

from __future__ import annotations

import calendar
import re
from datetime import datetime, timezone
from typing import Final

from ._api import BadRequest, Request

__all__ = ["CHANNELS", "date_range", "in_range", "iso", "one_of", "parse_iso"]

CHANNELS: Final = ("SMS", "RCS", "WHATSAPP")

_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")


def iso(wall: float) -> str:
    """Unix time as the API writes it: ``2026-04-09T12:34:56Z``."""
    return datetime.fromtimestamp(wall, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(name: str, value: str, *, end: bool = False) -> float:
    """An ISO 8601 date-time (``2026-04-09T12:34:56Z``, an offset, or UTC when none) or a date
    (``2026-04-09``: its start, or with ``end`` its last millisecond) as Unix time."""
    try:
        if _DATE.fullmatch(value):
            day = datetime.strptime(value, "%Y-%m-%d")
            return calendar.timegm(day.timetuple()) + (86399.999 if end else 0.0)
        text = value[:-1] + "+00:00" if value.endswith(("Z", "z")) else value
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadRequest(
            f"'{name}' must be an ISO 8601 date or date-time (2026-04-09T12:34:56Z), got {value!r}"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.timestamp()


def date_range(request: Request) -> tuple[float | None, float | None]:
    """The ``from``/``to`` query parameters as Unix times (``to`` inclusive); ``from`` after
    ``to`` is a 400."""
    lo = request.query.get("from")
    hi = request.query.get("to")
    start = parse_iso("from", lo) if lo is not None else None
    stop = parse_iso("to", hi, end=True) if hi is not None else None
    if start is not None and stop is not None and start > stop:
        raise BadRequest("'from' must not be after 'to'")
    return start, stop


def one_of(request: Request, name: str, allowed: tuple[str, ...]) -> str | None:
    """Query parameter ``name`` when given: one of ``allowed`` (exactly as spelled), else 400."""
    value = request.query.get(name)
    if value is not None and value not in allowed:
        raise BadRequest(f"'{name}' must be one of {', '.join(allowed)}, got {value!r}")
    return value


def in_range(wall: float, start: float | None, stop: float | None) -> bool:
    """Whether ``wall`` lies in ``[start, stop]`` (either end open when ``None``)."""
    return (start is None or wall >= start) and (stop is None or wall <= stop)
