"""The Struct bases every request and response model derives from, and the shared field types.

One base carries the wire conventions (msgspec ``examples/pyproject-toml``):

* ``rename="camel"``: Python attributes are snake_case, the API speaks camelCase
  (``campaign_id`` <-> ``campaignId``). Every name in the send APIs camel-cases cleanly, so no
  explicit renames are needed yet; add them per field (``msgspec.field(name=...)``) if one ever
  breaks the rule.
* ``omit_defaults=True``: an optional left at its default (``None``) is left out of the JSON
  body, so the API applies its own default and the body equals the docs' examples.
* ``kw_only=True``: models are built with keywords, so adding a field never reorders a call.
  msgspec applies ``kw_only`` to the fields of the class that sets it, so every subclass repeats it.

Input models (what users write) also set ``forbid_unknown_fields=True``: a nested object given as
a dict with a misspelled key is refused instead of silently dropped. Response models do not:
the API may add fields at any time and old clients must keep decoding (msgspec
``schema-evolution``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec

__all__ = [
    "MAX_ID",
    "InputModel",
    "Model",
    "NonEmptyStr",
    "PositiveInt",
    "RcsBodyType",
    "ScheduledDate",
    "format_scheduled_date",
]


class Model(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """Base of every model: camelCase on the wire, unset optionals omitted, keyword-only."""


class InputModel(Model, kw_only=True, forbid_unknown_fields=True):
    """Base of request models: like ``Model``, and a dict with an unknown key is refused."""


NonEmptyStr = Annotated[str, msgspec.Meta(min_length=1)]
"""A string that may not be empty (checked when a nested dict or Struct is validated)."""

MAX_ID = 2**63 - 1
"""The largest id the API can hold (a signed 64-bit integer)."""

PositiveInt = Annotated[int, msgspec.Meta(gt=0, le=MAX_ID)]
"""An id: an ``int`` (not a ``bool``) from 1 to ``MAX_ID``."""

RcsBodyType = Literal["TEXT", "CARD", "CAROUSEL"]
"""The three kinds of inline RCS body."""

ScheduledDate = datetime | str
"""A send time: a timezone-aware ``datetime``, or the API's own string passed through unchanged."""


def format_scheduled_date(value: datetime) -> str:
    """Format an aware ``datetime`` as the API's ``yyyy-MM-dd HH:mm:ss.SSSZ``.

    The offset is kept as given (``2024-12-20 09:00:00.000+0100``), not converted to UTC, so the
    body reads like the caller's intent. The caller checks awareness first.
    """
    return f"{value:%Y-%m-%d %H:%M:%S}.{value.microsecond // 1000:03d}{value:%z}"
