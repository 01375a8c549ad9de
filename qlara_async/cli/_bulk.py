"""``qlara bulk FILE``: a CSV or JSON-lines file of recipients sent as one resumable job.

Built on the library's bulk engine (``client.bulk.job``, ``messages_from_rows``, the journal);
this module adds what a shell user needs around it: a progress bar with done/total, rate and
ETA, a results file with one JSON line per message (also across a resume: a line already
written is not written again, and a line cut short by a ``kill -9`` is dropped and rewritten),
an orderly stop on the first Ctrl-C/SIGTERM, and ``--dry-run``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, TextIO

import msgspec
import typer
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from .._exceptions import ValidationError
from ..bulk import BulkReport, InvalidRow, Outcome, messages_from_rows, read_csv, read_jsonl
from ..bulk import Progress as JobProgress
from ..models import Message, validate_message
from ._common import (
    ApiKeyOption,
    BaseUrlOption,
    JsonOption,
    err_console,
    make_client,
    plan_rate,
    print_json,
    run,
    to_builtins,
)

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; the journal's own lock still guards a job
    fcntl = None  # type: ignore[assignment]

__all__ = ["ResultsFile", "bulk", "report_table"]

_encode = msgspec.json.Encoder().encode


def _rows(path: str, fmt: str | None) -> Iterator[dict[str, Any]]:
    kind = (fmt or Path(path).suffix.lstrip(".")).lower()
    if kind in ("csv", "txt"):
        return read_csv(path)
    if kind in ("jsonl", "ndjson", "json"):
        return read_jsonl(path)
    raise ValidationError(
        f"{path}: cannot tell the format from the name; pass --format csv or --format jsonl",
        field="format",
    )


def _fields(
    channel: str,
    sender: str | None,
    body: str | None,
    agent_id: int | None,
    phone_number_id: int | None,
    template_id: int | None,
) -> dict[str, Any]:
    """The message fields every row shares, checked per channel (the option is named)."""
    if channel == "sms":
        if not sender or body is None:
            raise ValidationError("--channel sms needs --sender and --body", field="body")
        return {"sender": sender, "body": body}
    if channel == "rcs":
        if agent_id is None:
            raise ValidationError("--channel rcs needs --agent-id", field="agent_id")
        out: dict[str, Any] = {"agent_id": agent_id}
        if template_id is not None:
            out["template_id"] = template_id
        elif body is not None:
            out["body"] = {"type": "TEXT", "body": {"text": body}}
        return out
    if channel == "whatsapp":
        if phone_number_id is None:
            raise ValidationError(
                "--channel whatsapp needs --phone-number-id", field="phone_number_id"
            )
        out = {"phone_number_id": phone_number_id}
        if template_id is not None:
            out["template"] = {"id": template_id}
        elif body is not None:
            out["body"] = {"text": {"body": body}}
        return out
    raise ValidationError(
        f"--channel must be sms, rcs or whatsapp, got {channel!r}", field="channel"
    )


class ResultsFile:
    """The ``--output`` file: one JSON line per message index, the latest outcome's.

    The file is locked for the job's life (a second job writing the same file is refused
    before it touches it). ``resume=True`` keeps the lines already there (a journaled job run
    again) and drops a last line cut short by a kill; otherwise the file starts empty. An index
    that gets a new outcome on a resume (a message that failed before and was sent again) has
    its old line replaced when the file is closed.
    """

    def __init__(self, path: str, *, resume: bool) -> None:
        self.path = path
        self.written: set[int] = set()
        self._replaced = False
        # Opened without truncating, then locked: only the holder of the lock may empty it.
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                raise ValidationError(
                    f"--output {path} is in use by another qlara bulk job", field="output"
                ) from None
        # -o /dev/stdout (a pipe, a terminal) is written as it is: nothing to keep or empty.
        self._regular = stat.S_ISREG(os.fstat(fd).st_mode)
        # Held open for the job's life, line-buffered: each outcome is on disk at once.
        self._file: TextIO = (
            open(fd, "r+", encoding="utf-8", buffering=1)  # noqa: SIM115
            if self._regular
            else open(fd, "w", encoding="utf-8", buffering=1)  # noqa: SIM115
        )
        if not self._regular:
            pass
        elif resume:
            self._file.seek(0)
            data = bytes(self._file.buffer.read())
            keep = data.rfind(b"\n") + 1  # a partial last line goes
            self._file.truncate(keep)
            for line in data[:keep].splitlines():
                try:
                    self.written.add(int(msgspec.json.decode(line)["index"]))
                except (msgspec.DecodeError, KeyError, TypeError, ValueError):
                    continue
            self._file.seek(keep)
        else:
            self._file.truncate(0)

    def write(self, outcome: Outcome, destination: str | None) -> None:
        """Append the outcome's line; an index already there is kept when the outcome comes
        from the journal, and replaced (at ``close()``) when the message was sent again."""
        if outcome.index in self.written:
            if outcome.resumed:
                return
            self._replaced = True
        self.written.add(outcome.index)
        self._file.write(_encode(result_line(outcome, destination)).decode() + "\n")

    def close(self) -> None:
        """Flush; keep only each index's last line if some were replaced; close (unlock)."""
        try:
            if self._replaced and self._regular:
                self._file.flush()
                self._file.seek(0)
                latest: dict[int, bytes] = {}
                for line in self._file.buffer.read().splitlines():
                    try:
                        latest[int(msgspec.json.decode(line)["index"])] = line
                    except (msgspec.DecodeError, KeyError, TypeError, ValueError):
                        continue
                # Written aside and renamed over: a kill mid-rewrite leaves the old file whole.
                tmp = f"{self.path}.tmp"
                with open(tmp, "wb") as f:
                    f.writelines(line + b"\n" for line in latest.values())
                os.replace(tmp, self.path)
        finally:
            self._file.close()


def result_line(outcome: Outcome, destination: str | None) -> dict[str, Any]:
    """One message's line: index, destination, message_id, status, and why when not accepted."""
    line: dict[str, Any] = {
        "index": outcome.index,
        "destination": destination,
        "message_id": outcome.message_id,
        "status": outcome.status,
        "attempts": outcome.attempts,
    }
    if outcome.resumed:
        line["resumed"] = True
    if outcome.error is not None:
        line["error"] = str(outcome.error)
    reasons = outcome.reasons
    if reasons:
        line["reasons"] = to_builtins(reasons)
    return line


def report_table(report: BulkReport, *, title: str = "bulk job") -> Table:
    """The summary people read at the end (counts only)."""
    table = Table(title=title, show_header=False)
    rows = [
        ("accepted", report.accepted),
        ("rejected", report.rejected),
        ("failed", report.failed),
        ("not sent", report.not_sent),
        ("from the journal", report.skipped),
        ("requests", report.requests),
        ("retries", report.retries),
        ("429s", report.throttles),
        ("elapsed", f"{report.elapsed:.1f} s"),
        ("throughput", f"{report.throughput:.1f} msg/s"),
    ]
    for name, value in rows:
        table.add_row(name, str(value))
    return table


def _regular(path: str) -> bool:
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False  # reading it says why


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist yet: the same name is still the same file
        return os.path.realpath(a) == os.path.realpath(b)


def _check_paths(file: str, output: str | None, journal: str | None) -> None:
    """Refuse, before anything is opened, an output or journal that is the input or each
    other: the input would be emptied (and its own result lines read back as rows, forever),
    or result lines written into the SQLite journal."""
    named = [("FILE", file), ("--output", output), ("--journal", journal)]
    for i, (name_a, a) in enumerate(named):
        for name_b, b in named[i + 1 :]:
            if a is not None and b is not None and _same(a, b):
                raise typer.BadParameter(
                    f"{name_a} and {name_b} are the same file ({b}); give each its own",
                    param_hint=name_b,
                )


def _ranges(indices: tuple[int, ...]) -> str:
    parts: list[str] = []
    start = prev = None
    for i in (*indices, None):
        if i is not None and prev is not None and i == prev + 1:
            prev = i
            continue
        if start is not None:
            parts.append(str(start) if start == prev else f"{start}-{prev}")
        start = prev = i
    return ", ".join(parts)


def _dry_run(messages: Iterator[Message]) -> int:
    """Validate every message; print each as it would be sent; return the invalid count."""
    bad = total = 0
    for index, message in enumerate(messages):
        total += 1
        if isinstance(message, InvalidRow):
            bad += 1
            err_console.print(f"row {index}: {message.error.message}")
            continue
        try:
            checked = validate_message(message)
        except ValidationError as exc:
            bad += 1
            err_console.print(f"row {index}: {exc}")
            continue
        wire = {k: v for k, v in to_builtins(checked).items() if v is not None}
        print_json({"index": index, **wire})
    err_console.print(f"dry run: {total} messages, {total - bad} valid, {bad} invalid; none sent")
    return bad


def bulk(
    file: Annotated[str, typer.Argument(help="CSV (with a header line) or JSON lines.")],
    channel: Annotated[str, typer.Option("--channel", help="sms, rcs or whatsapp.")] = "sms",
    sender: Annotated[str | None, typer.Option("--sender", help="SMS sender.")] = None,
    body: Annotated[
        str | None,
        typer.Option("--body", help="Text with {column} placeholders filled from each row."),
    ] = None,
    agent_id: Annotated[int | None, typer.Option("--agent-id", help="RCS agent.")] = None,
    phone_number_id: Annotated[
        int | None, typer.Option("--phone-number-id", help="WhatsApp number id.")
    ] = None,
    template_id: Annotated[
        int | None, typer.Option("--template-id", help="RCS/WhatsApp template.")
    ] = None,
    destination_column: Annotated[
        str, typer.Option("--destination-column", help="The column holding the number.")
    ] = "destination",
    message_id_column: Annotated[
        str | None, typer.Option("--message-id-column", help="A column with your own ids.")
    ] = None,
    fmt: Annotated[
        str | None, typer.Option("--format", help="csv or jsonl (default: from the name).")
    ] = None,
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Results: one JSON line per message.")
    ] = None,
    journal: Annotated[
        str | None, typer.Option("--journal", help="SQLite journal: run again to resume.")
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Sends in flight.")] = 32,
    plan: Annotated[
        str | None, typer.Option("--plan", help="production (default), trial or none.")
    ] = None,
    rate: Annotated[
        str | None, typer.Option("--rate", help="A custom limit instead: 200/1s, 50/1s,1000/60s.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Validate every row, print what would go; send none.")
    ] = False,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Send one message per row of FILE, with a progress bar, a results file and a journal.

    The first Ctrl-C (or SIGTERM) stops in order and prints what was not sent; the same
    command again resumes from --journal without sending anything twice.
    """
    rate_limit = plan_rate(plan, rate)
    channel = channel.lower()
    _check_paths(file, output, journal)

    def messages() -> Iterator[Message]:
        return messages_from_rows(
            _rows(file, fmt),
            channel=channel,  # type: ignore[arg-type]
            destination_field=destination_column,
            message_id_field=message_id_column,
            **_fields(channel, sender, body, agent_id, phone_number_id, template_id),
        )

    if dry_run:

        async def dry() -> int:
            return _dry_run(messages())

        raise typer.Exit(1 if run(dry) else 0)

    # A journal that exists means a resume: the results file keeps its lines.
    resume = journal is not None and os.path.exists(journal)

    async def main() -> tuple[BulkReport, int]:
        first = messages()  # checks the options and the header before any send
        # Counted for the progress bar from a regular file only: a pipe (/dev/stdin) can be
        # read once, and the rows read to count it would be lost to the job.
        total = sum(1 for _ in _rows(file, fmt)) if _regular(file) else None
        return await _send(first, total)

    async def _send(msgs: Iterator[Message], total: int | None) -> tuple[BulkReport, int]:
        destinations: dict[int, str] = {}

        def remembered() -> Iterator[Message]:
            for i, m in enumerate(msgs):
                destinations[i] = (
                    getattr(m, "destination", "") if not isinstance(m, Mapping) else ""
                )
                yield m

        # Locked before it is emptied, and before the journal is opened: a second job on the
        # same files is refused without touching the first one's results.
        results = ResultsFile(output, resume=resume) if output else None
        bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]:.0f}/s"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=err_console,
            disable=not err_console.is_terminal,
        )
        task = bar.add_task("sending", total=total, rate=0.0, note="")

        def on_progress(p: JobProgress) -> None:
            note = "paused: server failing" if p.paused else ""
            if p.cooldown > 0:
                note = f"429: waiting {p.cooldown:.0f}s"
            bar.update(task, completed=p.done, rate=p.rate, note=note)

        def on_outcome(o: Outcome) -> None:
            destination = destinations.pop(o.index, None)
            if results is not None:
                results.write(o, destination)

        try:
            return await _job(remembered(), total, results, bar, task, on_progress, on_outcome)
        finally:
            if results is not None:
                results.close()

    async def _job(
        msgs: Iterator[Message],
        total: int | None,
        results: ResultsFile | None,
        bar: Progress,
        task: Any,
        on_progress: Any,
        on_outcome: Any,
    ) -> tuple[BulkReport, int]:
        interrupted = 0  # the signal that stopped the job
        async with make_client(api_key, base_url, rate_limit=rate_limit) as client:
            job = client.bulk.job(
                msgs,
                concurrency=concurrency,
                journal=journal,
                on_outcome=on_outcome,
                on_progress=on_progress,
                progress_interval=0.2,
                total=total,
            )
            loop = asyncio.get_running_loop()

            def on_signal(signum: int) -> None:
                nonlocal interrupted
                if interrupted:
                    job.abort()  # a second signal: cancel the sends in flight now
                    return
                interrupted = signum
                err_console.print("stopping: in-flight sends finish; Ctrl-C again to hurry")
                job.stop()

            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, on_signal, sig)
            try:
                with bar:
                    report = await job.run()
                    bar.update(task, completed=report.total - report.not_sent)
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)
        return report, interrupted

    report, interrupted = run(main)
    if json:
        print_json({**to_builtins(report), "interrupted": bool(interrupted)})
    else:
        err_console.print(report_table(report))
    if report.not_sent or report.stopped:
        unsent = _ranges(report.not_sent_indices)
        rest = f"; rows {report.next_index} on were never read" if report.stopped else ""
        again = "run the same command again to resume" if journal else "add --journal to resume"
        err_console.print(f"not sent: rows {unsent or 'none'}{rest}; {again}")
    if interrupted:
        # The shell's convention: 128 + the signal (130 for Ctrl-C, 143 for SIGTERM).
        raise typer.Exit(128 + interrupted)
    if report.failed or report.not_sent or report.rejected:
        # Every message not accepted is a non-zero exit, as --dry-run's invalid rows and
        # `qlara send`'s rejection are: a script's `&&` must not go on after a job that sent
        # nothing (every row rejected for a missing column, say).
        if report.rejected and not (report.failed or report.not_sent):
            err_console.print(f"{report.rejected} rejected; see the results for why")
        raise typer.Exit(1)
