"""Bulk sending: many messages, one outcome each, calm under faults, resumable with a journal.

::

    report = await client.bulk.run(messages, concurrency=32, journal="job.sqlite")

    async with client.bulk.stream(messages_from_rows(read_csv("recipients.csv"),
                                                     sender="MyBrand", body="Ciao {nome}")) as outcomes:
        async for outcome in outcomes:
            ...
"""

from __future__ import annotations

from ._health import HealthGate
from ._journal import JournalMismatchError
from ._outcome import BulkEvent, BulkReport, Outcome, OutcomeStatus, Progress
from ._rows import messages_from_rows, read_csv, read_jsonl
from ._sender import BulkJob, BulkResource, OutcomeStream

__all__ = [
    "BulkEvent",
    "BulkJob",
    "BulkReport",
    "BulkResource",
    "HealthGate",
    "JournalMismatchError",
    "Outcome",
    "OutcomeStatus",
    "OutcomeStream",
    "Progress",
    "messages_from_rows",
    "read_csv",
    "read_jsonl",
]
