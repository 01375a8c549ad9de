"""The bulk sender under hostile input and hostile servers: each test pins one finding of the
hardening issue (its number in the test's docstring). The producer's (15, 20) are in
``test_bulk_producer.py``."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx
import pytest

from qlara_async import (
    APIConnectionError,
    APIResponseValidationError,
    AuthenticationError,
    ManualClock,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from qlara_async.bulk import BulkReport, Outcome

from .test_bulk import Recorder, dest, make_client, ok, sms

pytestmark = pytest.mark.anyio


def check_report(report: BulkReport) -> None:
    """The invariant: every message taken ends accepted, rejected, failed or not sent."""
    assert report.total == report.accepted + report.rejected + report.failed + report.not_sent
    assert report.skipped <= report.accepted + report.rejected


def journal_statuses(path: Path) -> dict[int, str]:
    with sqlite3.connect(path) as db:
        return dict(db.execute("SELECT idx, status FROM outcomes").fetchall())


# -- 13: job-wide 401/403/404 ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param(401, AuthenticationError, id="401"),
        pytest.param(403, PermissionDeniedError, id="403"),
        pytest.param(404, NotFoundError, id="404"),
    ],
)
async def test_job_wide_refusal_stops_the_job_and_a_resume_sends_everything(
    tmp_path: Path, status: int, error: type[Exception]
) -> None:
    """13: a 401/403/404 says nothing about the message: the job stops, raises the error, and
    journals no rejection, so a resume with the right key sends every message."""
    journal = tmp_path / "job.sqlite"
    n = 40
    first: list[Outcome] = []
    refused = Recorder(lambda body, k: httpx.Response(status, json={"message": "no"}))
    async with make_client(refused) as client:
        job = client.bulk.job(
            [sms(i) for i in range(n)], concurrency=4, journal=journal, on_outcome=first.append
        )
        with pytest.raises(error):
            await job.run()
    report = job.report
    check_report(report)
    assert report.stopped and report.rejected == 0 and report.accepted == 0
    assert report.failed >= 1 and report.failed == len(first)
    assert all(o.status == "failed" and isinstance(o.error, error) for o in first)
    assert "rejected" not in journal_statuses(journal).values()
    # Only the messages in flight when it came were sent: the job stopped.
    assert refused.requests <= 4

    rec = Recorder()
    second: list[Outcome] = []
    async with make_client(rec) as client:
        r2 = await client.bulk.run(
            [sms(i) for i in range(n)], concurrency=4, journal=journal, on_outcome=second.append
        )
    assert r2.accepted == n and r2.rejected == 0 and r2.skipped == 0
    ids = {o.index: o.message_id for o in second}
    for o in first:  # a failed message goes again under its one id
        assert ids[o.index] == o.message_id


async def test_a_malformed_2xx_is_failed_not_rejected(tmp_path: Path) -> None:
    """13: a response not shaped like the API's says nothing about the message: failed."""
    journal = tmp_path / "job.sqlite"
    rec = Recorder(lambda body, k: httpx.Response(200, text="<html>maintenance</html>"))
    got: list[Outcome] = []
    async with make_client(rec) as client:
        report = await client.bulk.run([sms(0)], journal=journal, on_outcome=got.append)
    (o,) = got
    assert o.status == "failed" and isinstance(o.error, APIResponseValidationError)
    assert report.failed == 1 and journal_statuses(journal) == {0: "failed"}


# -- 19: a resumed job yields an outcome per skipped message ---------------------------------------


async def test_resume_yields_the_journaled_outcome_of_each_skipped_message(tmp_path: Path) -> None:
    """19: a resume yields one Outcome per input message, those from the journal marked resumed,
    and its report covers the whole job."""
    journal = tmp_path / "job.sqlite"

    def decide(body: dict[str, Any], n: int) -> httpx.Response:
        if body["destination"] == dest(3):
            return ok(body, accepted=False)
        if body["destination"] == dest(5) and rec.requests < 20:
            return httpx.Response(400, json={"message": "bad"})
        return ok(body)

    rec = Recorder(decide)
    first: dict[int, Outcome] = {}
    async with make_client(rec) as client:
        await client.bulk.run(
            [sms(i) for i in range(8)],
            journal=journal,
            on_outcome=lambda o: first.__setitem__(o.index, o),
        )
    # Forget index 6, as if a kill had cut its journal write.
    with sqlite3.connect(journal) as db:
        db.execute("DELETE FROM outcomes WHERE idx = 6")

    second: list[Outcome] = []
    async with make_client(rec) as client:
        async with client.bulk.stream([sms(i) for i in range(8)], journal=journal) as outcomes:
            second = [o async for o in outcomes]
        report = outcomes.report
    assert sorted(o.index for o in second) == list(range(8))
    by_index = {o.index: o for o in second}
    for i in range(8):
        o = by_index[i]
        assert o.resumed is (i != 6)
        assert o.message_id == first[i].message_id
        if i != 6:
            assert (o.status, o.attempts) == (first[i].status, first[i].attempts)
    assert (report.accepted, report.rejected, report.failed) == (6, 2, 0)
    assert (report.skipped, report.total, report.requests) == (7, 8, 1)
    check_report(report)


async def test_on_outcome_hears_of_resumed_messages(tmp_path: Path) -> None:
    """19: run()'s on_outcome is called for the messages a resume skips, too."""
    journal = tmp_path / "job.sqlite"
    async with make_client(Recorder()) as client:
        await client.bulk.run([sms(i) for i in range(5)], journal=journal)
        got: list[Outcome] = []
        report = await client.bulk.run(
            [sms(i) for i in range(5)], journal=journal, on_outcome=got.append
        )
    assert sorted(o.index for o in got) == list(range(5)) and all(o.resumed for o in got)
    assert (report.accepted, report.skipped, report.requests) == (5, 5, 0)


# -- 22: a dead server does not keep a job alive forever ------------------------------------------


async def test_a_dead_server_stops_the_job_after_max_outage() -> None:
    """22: connection refused for ever: past ``max_outage`` the job stops in order, raises an
    APIConnectionError, and the report says the outage stopped it."""
    clock = ManualClock()

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    got: list[Outcome] = []
    async with make_client(refuse, clock=clock) as client:
        job = client.bulk.job(
            (sms(i) for i in range(1000)), concurrency=8, max_outage=60, on_outcome=got.append
        )
        with pytest.raises(APIConnectionError) as info:
            await job.run()
    report = job.report
    assert report.stopped and report.outage
    assert report.accepted == 0 and report.not_sent > 0 and report.total < 1000
    assert len(got) == report.failed
    check_report(report)
    assert clock.now() >= 60
    assert "60" in str(info.value)


def test_max_outage_none_means_forever() -> None:
    """22: ``max_outage=None`` waits for ever; the default is bounded."""
    from qlara_async.bulk import BulkOptions

    assert BulkOptions().max_outage is not None and math.isfinite(BulkOptions().max_outage)
    assert BulkOptions(max_outage=None).max_outage is None


# -- 6: options ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("option", "value"),
    [
        pytest.param("concurrency", 200_000, id="concurrency-huge"),
        pytest.param("concurrency", 2.0, id="concurrency-float"),
        pytest.param("grace_period", "1", id="grace-str"),
        pytest.param("grace_period", -1, id="grace-negative"),
        pytest.param("grace_period", math.nan, id="grace-nan"),
        pytest.param("buffer", -1, id="buffer-negative"),
        pytest.param("buffer", "2", id="buffer-str"),
        pytest.param("progress_interval", "1", id="interval-str"),
        pytest.param("progress_interval", math.inf, id="interval-inf"),
        pytest.param("max_attempts", 0, id="attempts-zero"),
        pytest.param("max_attempts", 2.5, id="attempts-float"),
        pytest.param("total", -1, id="total-negative"),
        pytest.param("total", "10", id="total-str"),
        pytest.param("max_outage", 0, id="outage-zero"),
        pytest.param("max_outage", "5", id="outage-str"),
        pytest.param("retry_policy", "fast", id="policy-str"),
        pytest.param("on_outcome", 3, id="on-outcome-not-callable"),
        pytest.param("journal", 3, id="journal-int"),
    ],
)
def test_every_option_is_checked_naming_its_field(option: str, value: Any) -> None:
    """6: a bad option is a ValidationError naming it, before anything runs."""
    client = make_client(Recorder())
    with pytest.raises(ValidationError) as info:
        client.bulk.job([sms(0)], **{option: value})
    assert info.value.field == option


async def test_no_more_senders_than_messages() -> None:
    """6: a huge concurrency for a short input starts only as many senders as it needs."""
    tasks: list[int] = []
    async with make_client(Recorder()) as client:
        await client.bulk.run(
            [sms(0), sms(1)],
            concurrency=10_000,
            on_outcome=lambda o: tasks.append(len(anyio.get_running_tasks())),
        )
    assert tasks and max(tasks) < 50


# -- 25: a long 429 cooldown is waited out ---------------------------------------------------------


async def test_a_bulk_job_waits_out_a_429_beyond_the_clients_cap() -> None:
    """25: a Retry-After beyond RetryPolicy.max_retry_after is waited out by a bulk job."""
    clock = ManualClock()

    def decide(body: dict[str, Any], n: int) -> httpx.Response:
        if n == 1:
            return httpx.Response(429, headers={"Retry-After": "900"})
        return ok(body)

    async with make_client(Recorder(decide), clock=clock) as client:
        report = await client.bulk.run([sms(0)])
    assert report.accepted == 1 and report.throttles == 1
    assert clock.now() >= 900


async def test_progress_reports_the_429_cooldown() -> None:
    """25: Progress.cooldown is the 429 cooldown still to wait."""
    clock = ManualClock()
    async with make_client(Recorder(), clock=clock) as client:
        job = client.bulk.job([sms(0)])
        assert job.progress().cooldown == 0.0
        client.limiter.pause(42.0)  # type: ignore[attr-defined]
        assert job.progress().cooldown == pytest.approx(42.0)
        clock.advance(40.0)
        assert job.progress().cooldown == pytest.approx(2.0)


async def test_bulk_job_takes_options_or_keywords() -> None:
    """34: ``BulkJob`` takes one ``BulkOptions``, or the option keywords of earlier versions."""
    from qlara_async.bulk import BulkJob, BulkOptions

    async with make_client(Recorder()) as client:
        by_options = BulkJob(client, [sms(0), sms(1)], BulkOptions(concurrency=1))
        by_keywords = BulkJob(client, [sms(2), sms(3)], concurrency=1)
        assert (await by_options.run()).accepted == 2
        assert (await by_keywords.run()).accepted == 2
        with pytest.raises(ValidationError):
            BulkJob(client, [sms(0)], concurrency=0)
        with pytest.raises(ValidationError):
            BulkJob(client, [sms(0)], BulkOptions(), concurrency=2)


async def test_stream_raises_a_job_wide_refusal() -> None:
    """13: through stream() too, a 401 ends the iteration with the error, unwrapped."""
    refused = Recorder(lambda body, k: httpx.Response(401, json={"message": "no"}))
    async with make_client(refused) as client:
        with pytest.raises(AuthenticationError):
            async with client.bulk.stream([sms(i) for i in range(20)], concurrency=2) as outcomes:
                async for o in outcomes:
                    assert o.status == "failed"
        assert outcomes.report.rejected == 0 and outcomes.report.stopped


def test_the_outage_error_pickles() -> None:
    """22: BulkOutageError is an APIConnectionError, public, and survives pickling."""
    import pickle

    from qlara_async.bulk import BulkOutageError

    err = BulkOutageError("down for 301 s", seconds=301.0, report=BulkReport(outage=True))
    back = pickle.loads(pickle.dumps(err))
    assert isinstance(back, APIConnectionError) and BulkOutageError.__module__ == "qlara_async.bulk"
    assert back.seconds == 301.0 and back.report.outage and str(back) == "down for 301 s"


async def test_progress_rate_counts_only_this_runs_outcomes(tmp_path: Path) -> None:
    """19: a resumed job's rate and throughput leave out the outcomes taken from the journal."""
    journal = tmp_path / "job.sqlite"
    clock = ManualClock()
    snapshots = []
    async with make_client(Recorder(), clock=clock) as client:
        await client.bulk.run([sms(i) for i in range(4)], journal=journal)

        def on_outcome(o: Outcome) -> None:
            clock.advance(1.0)

        report = await client.bulk.run(
            [sms(i) for i in range(6)],
            journal=journal,
            on_outcome=on_outcome,
            on_progress=snapshots.append,
            progress_interval=3600,
        )
    assert (report.accepted, report.skipped) == (6, 4)
    assert report.throughput == pytest.approx(2 / report.elapsed)
    final = snapshots[-1]
    assert final.done == 6 and final.rate == pytest.approx(2 / final.elapsed)
