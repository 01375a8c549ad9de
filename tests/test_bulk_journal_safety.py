"""The journal file under hostile conditions: copied without sidecars, shared by two jobs or two
processes, corrupt, truncated or read-only (findings 16, 17, 18 of the hardening issue)."""

from __future__ import annotations

import pickle
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from qlara_async import QlaraError
from qlara_async.bulk import Outcome

from .test_bulk import Recorder, make_client, ok, sms

pytestmark = pytest.mark.anyio


async def test_the_main_file_alone_is_a_complete_journal(tmp_path: Path) -> None:
    """16: a copy of the journal's main file, taken mid-job without any sidecar, resumes the
    job: the same ids, and nothing the copy recorded is sent again."""
    journal = tmp_path / "job.sqlite"
    copy = tmp_path / "copy.sqlite"
    first: dict[int, str | None] = {}

    def on_outcome(o: Outcome) -> None:
        first[o.index] = o.message_id
        if len(first) == 10:
            shutil.copyfile(journal, copy)  # the main file only, mid-job

    async with make_client(Recorder()) as client:
        await client.bulk.run(
            [sms(i) for i in range(30)], concurrency=2, journal=journal, on_outcome=on_outcome
        )
    rec = Recorder()
    got: list[Outcome] = []
    async with make_client(rec) as client:
        report = await client.bulk.run(
            [sms(i) for i in range(30)], journal=copy, on_outcome=got.append
        )
    assert report.skipped >= 10 and report.accepted == 30
    assert all(o.message_id == first[o.index] for o in got)
    assert rec.requests == 30 - report.skipped


async def test_a_journal_with_outcomes_but_no_meta_is_refused(tmp_path: Path) -> None:
    """16: outcomes without the job id are never taken for a new job."""
    from qlara_async.bulk import JournalMismatchError

    journal = tmp_path / "job.sqlite"
    async with make_client(Recorder()) as client:
        await client.bulk.run([sms(i) for i in range(5)], journal=journal)
    with sqlite3.connect(journal) as db:
        db.execute("DELETE FROM meta")
    rec = Recorder()
    async with make_client(rec) as client:
        with pytest.raises(JournalMismatchError, match=r"job\.sqlite"):
            await client.bulk.run([sms(i) for i in range(5)], journal=journal)
    assert rec.requests == 0


async def test_a_second_job_on_a_busy_journal_is_refused(tmp_path: Path) -> None:
    """17: while one job holds the journal, another (same process) is refused before sending."""
    from qlara_async.bulk import JournalLockedError

    journal = tmp_path / "job.sqlite"
    release = anyio.Event()
    started = anyio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        started.set()
        await release.wait()
        return ok(__import__("json").loads(request.content))

    rec = Recorder()
    async with (
        make_client(slow) as first,
        make_client(rec) as second,
        anyio.create_task_group() as tg,
    ):
        tg.start_soon(lambda: first.bulk.run([sms(i) for i in range(5)], journal=journal))
        await started.wait()
        with pytest.raises(JournalLockedError, match=r"job\.sqlite"):
            await second.bulk.run([sms(i) for i in range(5)], journal=journal)
        release.set()
    assert rec.requests == 0


_HOLDER = textwrap.dedent(
    """
    import sys
    import anyio
    from qlara_async.bulk._journal import Journal

    async def main() -> None:
        journal = await Journal.open(sys.argv[1])
        print("open", flush=True)
        sys.stdin.readline()
        await journal.aclose()

    anyio.run(main)
    """
)


def test_another_process_holding_the_journal_is_refused(tmp_path: Path) -> None:
    """17: a journal held by another process is refused with JournalLockedError, nothing sent."""
    from qlara_async.bulk import JournalLockedError

    journal = tmp_path / "job.sqlite"
    script = tmp_path / "hold.py"
    script.write_text(_HOLDER)
    root = str(Path(__file__).resolve().parents[1])
    rec = Recorder()

    async def run(n: int) -> int:
        async with make_client(rec) as client:
            report = await client.bulk.run([sms(i) for i in range(n)], journal=journal)
        return report.accepted

    proc = subprocess.Popen(
        [sys.executable, str(script), str(journal)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={"PYTHONPATH": root, "PATH": "/usr/bin:/bin"},
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "open"
        with pytest.raises(JournalLockedError, match=r"job\.sqlite") as info:
            anyio.run(run, 5)
        assert rec.requests == 0
        assert isinstance(info.value, QlaraError)
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.close()
        proc.wait(timeout=30)
        if proc.stdout is not None:
            proc.stdout.close()
    # Once the holder is gone the journal is usable.
    assert anyio.run(run, 5) == 5


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
async def test_a_corrupt_journal_is_a_qlara_error_naming_the_path(
    tmp_path: Path, damage: str
) -> None:
    """18: a corrupt or truncated journal raises a QlaraError naming the file; nothing sent."""
    journal = tmp_path / "job.sqlite"
    if damage == "garbage":
        journal.write_bytes(b"this is not a database" * 100)
    else:
        async with make_client(Recorder()) as client:
            await client.bulk.run((sms(i) for i in range(1500)), journal=journal, concurrency=64)
        data = journal.read_bytes()
        journal.write_bytes(data[: len(data) // 2])
    rec = Recorder()
    async with make_client(rec) as client:
        with pytest.raises(QlaraError, match=r"job\.sqlite"):
            await client.bulk.run((sms(i) for i in range(1500)), journal=journal)
    assert rec.requests == 0


async def test_a_read_only_journal_is_refused_before_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """18: a journal that cannot be written is found out at open, before the first send."""
    journal = tmp_path / "job.sqlite"
    async with make_client(Recorder()) as client:
        await client.bulk.run([sms(i) for i in range(3)], journal=journal)
    real_connect = sqlite3.connect

    def read_only(path: Any, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        kwargs.pop("uri", None)
        return real_connect(f"file:{path}?mode=ro", *args, uri=True, **kwargs)

    monkeypatch.setattr(sqlite3, "connect", read_only)
    rec = Recorder()
    async with make_client(rec) as client:
        with pytest.raises(QlaraError, match=r"job\.sqlite"):
            await client.bulk.run([sms(i) for i in range(6)], journal=journal)
    assert rec.requests == 0


def test_journal_errors_pickle_and_live_in_the_public_module() -> None:
    """The journal errors are public, picklable, and keep their attributes."""
    from qlara_async.bulk import JournalError, JournalLockedError, JournalMismatchError

    for cls in (JournalError, JournalLockedError, JournalMismatchError):
        assert cls.__module__ == "qlara_async.bulk" and issubclass(cls, QlaraError)
    err = JournalMismatchError("differs", index=3, path="/x/job.sqlite")
    back = pickle.loads(pickle.dumps(err))
    assert type(back) is JournalMismatchError
    assert (back.index, back.path, str(back)) == (3, "/x/job.sqlite", "differs")
    locked = pickle.loads(pickle.dumps(JournalLockedError("held", path="/x/j")))
    assert locked.path == "/x/j"


async def test_a_foreign_sqlite_file_is_not_written_into(tmp_path: Path) -> None:
    """18: a SQLite file that is not a journal is refused, naming it, and left alone."""
    from qlara_async.bulk import JournalCorruptError

    path = tmp_path / "app.db"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE users (id INTEGER)")
    rec = Recorder()
    async with make_client(rec) as client:
        with pytest.raises(JournalCorruptError, match=r"app\.db"):
            await client.bulk.run([sms(0)], journal=path)
    assert rec.requests == 0
    with sqlite3.connect(path) as db:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert tables == {"users"}


@pytest.mark.parametrize(
    ("key", "value", "error"),
    [
        pytest.param("format", "0", "JournalMismatchError", id="format"),
        pytest.param("job_id", "not-a-uuid", "JournalCorruptError", id="job-id"),
    ],
)
async def test_a_journal_with_bad_meta_is_refused(
    tmp_path: Path, key: str, value: str, error: str
) -> None:
    """18: a journal of another format, or with a damaged job id, is refused before sending."""
    import qlara_async.bulk

    journal = tmp_path / "job.sqlite"
    async with make_client(Recorder()) as client:
        await client.bulk.run([sms(0)], journal=journal)
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE meta SET value = ? WHERE key = ?", (value, key))
    rec = Recorder()
    async with make_client(rec) as client:
        with pytest.raises(getattr(qlara_async.bulk, error), match=r"job\.sqlite"):
            await client.bulk.run([sms(0)], journal=journal)
    assert rec.requests == 0


async def test_a_refused_journal_still_closes_the_input(tmp_path: Path) -> None:
    """20: a job that fails at open (its journal is held) closes the generator it was given."""
    from qlara_async.bulk import JournalLockedError
    from qlara_async.bulk._journal import Journal

    journal = tmp_path / "job.sqlite"
    closed = []

    def gen() -> Any:
        try:
            yield sms(0)
        finally:
            closed.append(True)

    holder = await Journal.open(journal)
    try:
        messages = gen()
        next(messages)  # started, so that closing it runs its finally
        async with make_client(Recorder()) as client:
            with pytest.raises(JournalLockedError):
                await client.bulk.run(messages, journal=journal)
    finally:
        await holder.aclose()
    assert closed == [True]


async def test_two_jobs_racing_to_create_one_journal(tmp_path: Path) -> None:
    """17: two jobs that create the same journal at once: one runs, the other gets
    JournalLockedError (never a raw sqlite3 error) and sends nothing."""
    from qlara_async.bulk import JournalLockedError

    journal = tmp_path / "new.sqlite"
    recorders = [Recorder(), Recorder()]
    results: list[object] = []

    async def job(rec: Recorder) -> None:
        async with make_client(rec) as client:
            try:
                results.append(await client.bulk.run([sms(i) for i in range(5)], journal=journal))
            except JournalLockedError as exc:
                results.append(exc)

    async with anyio.create_task_group() as tg:
        for rec in recorders:
            tg.start_soon(job, rec)
    # One held the file and the other was refused, or the second resumed the first's finished
    # job, or (rarely, when both open the new file in the same instant) both were refused:
    # never a raw sqlite3 error, and never a message sent twice.
    assert len(results) == 2
    refused = sum(isinstance(r, JournalLockedError) for r in results)
    sent = sum(rec.requests for rec in recorders)
    assert (refused, sent) in ((0, 5), (1, 5), (2, 0))
