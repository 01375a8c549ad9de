"""Bulk sending: many messages, one outcome each, calm under faults, resumable with a journal.

::

    report = await client.bulk.run(messages, concurrency=32, journal="job.sqlite")

    async with client.bulk.stream(messages_from_rows(read_csv("recipients.csv"),
                                                     sender="MyBrand", body="Ciao {nome}")) as outcomes:
        async for outcome in outcomes:
            ...
"""

from __future__ import annotations

from ._health import BulkOutageError, HealthGate
from ._job import BulkJob, OutcomeStream
from ._journal import (
    JournalCorruptError,
    JournalError,
    JournalLockedError,
    JournalMismatchError,
)
from ._options import BulkOptions
from ._outcome import BulkEvent, BulkReport, Outcome, OutcomeStatus, Progress
from ._resource import BulkResource
from ._rows import InvalidRow, messages_from_rows, read_csv, read_jsonl

__all__ = [
    "BulkEvent",
    "BulkJob",
    "BulkOptions",
    "BulkOutageError",
    "BulkReport",
    "BulkResource",
    "HealthGate",
    "InvalidRow",
    "JournalCorruptError",
    "JournalError",
    "JournalLockedError",
    "JournalMismatchError",
    "Outcome",
    "OutcomeStatus",
    "OutcomeStream",
    "Progress",
    "messages_from_rows",
    "read_csv",
    "read_jsonl",
]
