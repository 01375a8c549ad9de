"""Findings of the hostile review of the bulk sender, each pinned (numbers as in the review)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

from qlara_async import SmsMessage
from qlara_async.bulk import JournalCorruptError, Outcome

from .test_bulk import Recorder, check_report, make_client, ok, sms

pytestmark = pytest.mark.anyio


def _self_referencing() -> dict[str, Any]:
    d: dict[str, Any] = {}
    d["me"] = d
    return d


@pytest.mark.parametrize(
    "bad",
    [
        pytest.param(
            SmsMessage(destination="+393201234567", sender="MyBrand", body="ciao \ud800"),
            id="lone-surrogate",
        ),
        pytest.param(
            SmsMessage(
                destination="+393201234567",
                sender="MyBrand",
                body="x",
                placeholders=_self_referencing(),
            ),
            id="self-referencing",
        ),
    ],
)
async def test_1_an_invalid_message_that_breaks_the_encoder_is_one_rejection(
    bad: SmsMessage, tmp_path: Path
) -> None:
    """With a journal, a message whose validation failed was digested by encoding it, which
    raised UnicodeEncodeError or RecursionError and ended the job; it is one rejection."""
    messages = [sms(i) for i in range(5)] + [bad] + [sms(i) for i in range(5, 10)]
    rec = Recorder()
    async with make_client(rec) as client:
        report = await client.bulk.run(messages, journal=tmp_path / "j.sqlite")
    check_report(report)
    assert (report.accepted, report.rejected, report.total) == (10, 1, 11)


async def test_2_a_blocking_on_outcome_cannot_keep_a_cancelled_job_alive() -> None:
    """After a cancel, outcomes still reach ``on_outcome`` only within the grace period."""
    never = anyio.Event()
    calls = 0

    async def on_outcome(outcome: Outcome) -> None:
        nonlocal calls
        calls += 1
        if calls >= 2:
            await never.wait()  # a callback that blocks for ever

    rec = Recorder()
    async with make_client(rec) as client:
        job = client.bulk.job([sms(i) for i in range(50)], on_outcome=on_outcome, grace_period=0.5)
        with anyio.move_on_after(1.0) as scope:
            await job.run()
    assert scope.cancelled_caught or scope.cancel_called
    check_report(job.report)


async def test_3a_a_callback_raising_during_a_cancel_is_raised_unwrapped() -> None:
    """The callback's exception, raised while the outcomes of a cancelled job were being
    handed over, came out inside an ExceptionGroup."""

    class Boom(Exception):
        pass

    job_box: list[Any] = []

    async def on_outcome(outcome: Outcome) -> None:
        if job_box[0].stopping:  # the job was cancelled: these are the outcomes drained
            raise Boom("callback failed after the cancel")

    scope = anyio.CancelScope()
    answered = 0

    def server(request: httpx.Request) -> httpx.Response:
        # The fifth request cancels the job from outside while sends are in flight: no clock.
        nonlocal answered
        answered += 1
        if answered == 5:
            scope.cancel()
        return ok(json.loads(request.content))

    async with make_client(server) as client:
        job = client.bulk.job([sms(i) for i in range(40)], on_outcome=on_outcome, concurrency=4)
        job_box.append(job)
        with pytest.raises(Boom), scope:
            await job.run()
    check_report(job.report)


async def test_3b_a_damaged_journal_row_is_a_journal_error(tmp_path: Path) -> None:
    """A row whose ``attempts`` is not a number crashed a sender inside nested groups."""
    path = tmp_path / "j.sqlite"
    rec = Recorder()
    async with make_client(rec) as client:
        await client.bulk.run([sms(i) for i in range(10)], journal=path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE outcomes SET status = 'failed', attempts = 'x' WHERE idx = 3")
    async with make_client(rec) as client:
        with pytest.raises(JournalCorruptError, match="message 3"):
            await client.bulk.run([sms(i) for i in range(10)], journal=path)


async def test_4_same_table_names_other_columns_is_refused_before_sending(tmp_path: Path) -> None:
    """A file with ``meta`` and ``outcomes`` tables of other columns passed the open checks
    and failed only after six messages went out unrecorded."""
    path = tmp_path / "foreign.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
        db.execute("CREATE TABLE outcomes (idx INTEGER, x TEXT)")
    rec = Recorder()
    async with make_client(rec) as client:
        with pytest.raises(JournalCorruptError, match="columns"):
            await client.bulk.run([sms(i) for i in range(8)], journal=path)
    assert rec.requests == 0


async def test_6_messages_only_ever_throttled_are_not_sent_after_a_stop() -> None:
    """Stopped during a long 429 cooldown, a message whose every answer was a 429 was
    reported failed ("may have been processed"); the server processed nothing: not sent."""

    def decide(body: dict[str, Any], n: int) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "100000"})

    rec = Recorder(decide)
    async with make_client(rec) as client:
        job = client.bulk.job([sms(i) for i in range(12)], concurrency=4, grace_period=0.5)
        async with anyio.create_task_group() as tg:

            async def stop_soon() -> None:
                await anyio.wait_all_tasks_blocked()
                job.stop()

            tg.start_soon(stop_soon)
            report = await job.run()
    check_report(report)
    assert report.failed == 0 and report.not_sent == report.total > 0


async def test_14_a_200_that_is_not_a_send_result_fails_and_is_resent(tmp_path: Path) -> None:
    """Issue 7 item 14: ``{"status": "maintenance"}`` in a 200 was counted rejected and skipped
    on resume; it is a failure, and the resume sends the message again under its id."""
    path = tmp_path / "j.sqlite"

    def maintenance(body: dict[str, Any], n: int) -> httpx.Response:
        return httpx.Response(200, json={"status": "maintenance"})

    rec = Recorder(maintenance)
    async with make_client(rec) as client:
        first = await client.bulk.run([sms(i) for i in range(3)], journal=path)
    assert (first.failed, first.rejected) == (3, 0)
    again = Recorder()
    async with make_client(again) as client:
        second = await client.bulk.run([sms(i) for i in range(3)], journal=path)
    assert second.accepted == 3 and again.requests == 3
    for dest, ids in again.ids.items():
        assert ids == rec.ids[dest][:1]  # the same messageId as the first run's
