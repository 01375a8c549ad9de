"""The producer of a bulk job: the input, read lazily, becomes work for the senders.

One task per job. For each message it takes from the input it prepares the message (a bad one
becomes a rejection with the validation error), gives it its ``messageId`` (derived from the
journal's job id and the index when there is a journal, so a resumed job reuses it), refuses a
caller-given id used twice in the job, and checks it against the journal: a message an earlier
run settled goes straight to the consumer as its journaled ``Outcome``; anything else is handed
to the senders as an :class:`Item`, waiting for a free one (the input is read no faster than
the senders free up). Stopping cancels its scope; the input is closed however the job ends.

The job's shared state (the report, the journal, stopping, the outcome hand-on) stays the
``Engine``'s (``_engine.py``), which runs this as one of its tasks.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, cast

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from .._exceptions import ValidationError
from ..models import PreparedMessage, prepare_message
from ._journal import JournalMismatchError, digest, invalid_digest
from ._options import Messages
from ._outcome import Outcome, OutcomeStatus
from ._rows import InvalidRow

if TYPE_CHECKING:
    from ._engine import Engine

__all__ = ["Item", "Producer"]


class Item:
    """One message between the producer and a sender."""

    __slots__ = ("claimed", "digest", "error", "index", "message_id", "prepared", "prior_attempts")

    def __init__(
        self,
        index: int,
        prepared: PreparedMessage | None,
        message_id: str | None,
        digest: bytes,
        error: ValidationError | None = None,
        prior_attempts: int = 0,
    ) -> None:
        self.index = index
        self.prepared = prepared
        self.message_id = message_id
        self.digest = digest
        self.error = error
        self.prior_attempts = prior_attempts
        self.claimed = False
        """A sender took it, or it was counted as not sent: either, once."""


class Producer:
    """Reads one job's input and hands each message on (see the module docstring)."""

    def __init__(self, engine: Engine, messages: Messages) -> None:
        self.engine = engine
        self.messages = messages
        self._ids: dict[str, int] = {}  # caller-given message ids -> first index
        self._scope: anyio.CancelScope | None = None

    def cancel(self) -> None:
        """Stop reading the input (the job is stopping)."""
        if self._scope is not None:
            self._scope.cancel()

    async def run(
        self, work_send: MemoryObjectSendStream[Item], out_send: MemoryObjectSendStream[Outcome]
    ) -> None:
        """Read the input to its end (or until the job stops), then close it and the work
        stream; ``report.next_index`` says how far it got."""
        engine = self.engine
        index = 0
        iterator: Iterator[Any] | AsyncIterator[Any] | None = None
        with anyio.CancelScope() as scope:
            self._scope = scope
            if engine.stopping:
                scope.cancel()
            try:
                messages = self.messages
                if isinstance(messages, AsyncIterable):
                    iterator = aiter_ = messages.__aiter__()
                else:
                    iterator = iter_ = iter(messages)
                while True:
                    if isinstance(messages, AsyncIterable):
                        try:
                            message = await aiter_.__anext__()
                        except StopAsyncIteration:
                            break
                    else:
                        try:
                            message = next(iter_)
                        except StopIteration:
                            break
                    taken = await self.take(index, message)
                    index += 1
                    if isinstance(taken, Outcome):
                        # Counted already: it must reach the consumer even if we are stopping.
                        with anyio.CancelScope(shield=True):
                            await engine.hand_on(taken, out_send)
                    else:
                        await self._hand_over(work_send, taken)
                    if engine.stopping:
                        break
            except Exception as exc:
                # A broken input (or a journal mismatch) ends the job after what is in flight.
                if engine.error is None:
                    engine.error = exc
                engine.stop()
            finally:
                engine.report.next_index = index
                work_send.close()
                if iterator is not None:
                    with anyio.CancelScope(shield=True):
                        await self._close_input(iterator)

    def close_unread(self) -> None:
        """Close an input the job never read (its journal was refused). A sync close only:
        an async generator never started needs no cleanup."""
        close = getattr(self.messages, "close", None)
        if close is not None and isinstance(self.messages, Iterator):
            close()

    async def _close_input(self, iterator: Iterator[Any] | AsyncIterator[Any]) -> None:
        """Close the input (a user's file or cursor), also when the job ended early."""
        try:
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                await aclose()
                return
            close = getattr(iterator, "close", None)
            if close is not None:
                close()
        except Exception as exc:
            if self.engine.error is None:
                self.engine.error = exc

    async def _hand_over(self, work_send: MemoryObjectSendStream[Item], item: Item) -> None:
        try:
            try:
                # Without a scheduling point while the buffer has room (the producer yields
                # when it is full, and the senders at every send).
                work_send.send_nowait(item)
            except anyio.WouldBlock:
                await work_send.send(item)
        except BaseException:
            # Stopped while waiting for a free sender (or every sender is gone). anyio may
            # raise even when the item was handed to a sender that has not run yet, hence the
            # flag rather than the exception.
            if not item.claimed:
                self.engine.mark_not_sent(item)
            raise

    async def take(self, index: int, message: Any) -> Item | Outcome:
        """Take input ``index``: check it against the journal, prepare it, count it.

        It is counted in ``total`` only on return (no checkpoint after), so a stop in the middle
        leaves it unread rather than lost. A message an earlier run settled comes back as its
        journaled ``Outcome`` (``resumed``), counted.
        """
        engine = self.engine
        journal = engine.journal
        prepared: PreparedMessage | None = None
        error: ValidationError | None = None
        try:
            if isinstance(message, InvalidRow):
                # A row the reader could not read: rejected with the reader's reason.
                raise message.error
            if journal is None:
                prepared = prepare_message(message)
            else:
                # Ids derived from the job and the index are stable across runs without a
                # write before the send (prepare_message only asks when the caller set none).
                prepared = prepare_message(message, new_id=lambda: journal.message_id(index))
        except ValidationError as exc:
            error = exc
        caller_id = getattr(message, "message_id", None)
        if prepared is None or not caller_id or prepared.message_id != caller_id:
            caller_id = None  # derived ids are unique by construction: not tracked
        mid = prepared.message_id if prepared is not None else getattr(message, "message_id", None)
        ident = b""
        prior = 0
        if journal is not None:
            ident = digest(prepared.content) if prepared is not None else invalid_digest(message)
            row = await journal.lookup(index)
            if row is not None:
                if row.digest != ident:
                    raise JournalMismatchError(
                        f"message {index} differs from the one journal {engine.journal_path}"
                        " recorded: the input is not the journal's job (use a new journal"
                        " for a new job)",
                        index=index,
                        path=engine.journal_path,
                    )
                if row.status in ("accepted", "rejected"):
                    if caller_id is not None:
                        self._ids.setdefault(caller_id, index)
                    status = cast(OutcomeStatus, row.status)
                    engine.report.total += 1
                    engine.report.skipped += 1
                    engine.count(status)
                    return Outcome(
                        index, row.message_id, status, None, None, row.attempts, resumed=True
                    )
                prior = row.attempts
        if caller_id is not None:
            first = self._ids.setdefault(caller_id, index)
            if first != index:
                error = ValidationError(
                    f"messageId {caller_id!r} of message {index} was already used by message"
                    f" {first} of this job: the platform would deliver only one of them",
                    field="messageId",
                )
                prepared = None
        engine.report.total += 1
        return Item(index, prepared, mid, ident, error, prior)
