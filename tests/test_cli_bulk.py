"""``qlara bulk`` and ``qlara simulate`` end to end: real processes over loopback HTTP.

The acceptance runs of issue 9: a 300-row CSV gives 300 result lines with each row's
placeholders (the simulator's JSON-lines log shows what arrived); a job killed with SIGKILL and
run again with its journal re-sends nothing and completes the file to 300 lines; SIGTERM stops in
order and says what was not sent; ``qlara simulate --rate 200/1s`` and a 2,000-message
``qlara bulk`` in another process: every message once, no 429.
"""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from qlara_async.bulk import Outcome
from qlara_async.cli import app
from qlara_async.cli._bulk import ResultsFile
from qlara_async.testing import Simulator, run_in_thread

pytestmark = pytest.mark.e2e

QLARA = [sys.executable, "-m", "qlara_async"]
BODY = "Ciao {nome} da {citta}"


def write_csv(path: Path, n: int, prefix: str = "+39320") -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["destination", "nome", "citta"])
        for i in range(n):
            w.writerow([f"{prefix}{i:07d}", f"Nome{i}", f"Citta{i}"])
    return path


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait until ``condition()`` holds (a state another process reaches), or fail."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def plain_env(**extra: str) -> dict[str, str]:
    """The environment without coverage's subprocess hook: a traced process runs a few times
    slower, so only the runs that reach code no other test does are measured."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COVERAGE_")}
    return {**env, **extra}


def lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.endswith("}")]


class SimProcess:
    """``qlara simulate`` in its own process."""

    def __init__(self, tmp: Path, *args: str, measured: bool = True) -> None:
        self.log = tmp / "arrivals.jsonl"
        self.proc = subprocess.Popen(
            [*QLARA, "simulate", "--port", "0", "--log", str(self.log), *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=None if measured else plain_env(),
        )
        assert self.proc.stdout is not None
        first = self.proc.stdout.readline()  # blocks until the server listens
        assert first.startswith("QLARA_BASE_URL="), first + self.proc.stderr.read()
        self.url = first.split("=", 1)[1].strip()

    def stats(self) -> dict[str, Any]:
        stats: dict[str, Any] = httpx.get(self.url + "/_simulator/stats").json()
        return stats

    def arrivals(self) -> list[dict[str, Any]]:
        return lines(self.log)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=30)
        assert self.proc.returncode == 0, err
        return err


@pytest.fixture
def simulator(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SimProcess]:
    # Coverage measures the processes of the tests marked `measured` only (see plain_env).
    measured = request.node.get_closest_marker("measured") is not None
    sim = SimProcess(tmp_path, "--plan", "none", "--log-bodies", measured=measured)
    try:
        yield sim
    finally:
        sim.stop()


def bulk_cmd(sim: SimProcess, csv_path: Path, out: Path, *extra: str) -> list[str]:
    return [
        *QLARA, "bulk", str(csv_path), "--channel", "sms", "--sender", "Shop", "--body", BODY,
        "--base-url", sim.url, "--api-key", "test-key", "--output", str(out), *extra,
    ]  # fmt: skip


def test_300_rows_give_300_lines_with_each_rows_placeholders(
    tmp_path: Path, simulator: SimProcess
) -> None:
    rows = write_csv(tmp_path / "r.csv", 300)
    out = tmp_path / "results.jsonl"
    done = subprocess.run(
        bulk_cmd(simulator, rows, out, "--plan", "none"),
        capture_output=True,
        text=True,
        env=plain_env(),
    )
    assert done.returncode == 0, done.stderr
    results = lines(out)
    assert sorted(r["index"] for r in results) == list(range(300))
    assert {r["status"] for r in results} == {"accepted"}
    by_id = {a["message_id"]: a["body"] for a in simulator.arrivals()}
    for r in results:
        i = r["index"]
        assert r["destination"] == f"+39320{i:07d}"
        body = by_id[r["message_id"]]
        assert body["destination"] == r["destination"]
        assert body["body"] == BODY
        assert body["placeholders"] == {"nome": f"Nome{i}", "citta": f"Citta{i}"}
    assert simulator.stats()["unique_messages"] == 300


@pytest.mark.measured
def test_sigterm_then_sigkill_then_rerun_with_the_journal_sends_each_message_once(
    tmp_path: Path, simulator: SimProcess
) -> None:
    rows = write_csv(tmp_path / "r.csv", 300)
    out, journal = tmp_path / "results.jsonl", tmp_path / "job.sqlite"
    cmd = bulk_cmd(simulator, rows, out, "--journal", str(journal))
    # 100/s: slow enough to be stopped mid-job, fast enough to finish soon.
    first = subprocess.Popen([*cmd, "--rate", "100/1s"], stderr=subprocess.PIPE, text=True)
    wait_for(lambda: len(lines(out)) >= 20, "20 results before SIGTERM")
    first.send_signal(signal.SIGTERM)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 143, err  # 128 + SIGTERM, the shell convention
    assert "not sent" in err and "run the same command again to resume" in err
    assert "Traceback" not in err
    stopped_at = len(lines(out))
    assert 20 <= stopped_at < 300

    # The same command resumes; this time it is killed outright.
    second = subprocess.Popen(
        [*cmd, "--rate", "100/1s"], stderr=subprocess.DEVNULL, env=plain_env()
    )
    wait_for(lambda: len(lines(out)) >= stopped_at + 40, "40 more results before the kill")
    second.kill()
    second.wait()
    killed_at = len(lines(out))
    assert killed_at < 300

    done = subprocess.run(
        [*cmd, "--plan", "none", "--json"], capture_output=True, text=True, env=plain_env()
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["accepted"] == 300 and report["skipped"] >= killed_at - 64
    results = lines(out)
    assert len(results) == 300
    assert sorted(r["index"] for r in results) == list(range(300))
    # The simulator processed each message once: a send whose answer the kill lost went again
    # under its messageId and was answered from the de-duplication store.
    stats = simulator.stats()
    assert stats["processed"] == stats["unique_messages"] == 300
    sent = Counter(a["message_id"] for a in simulator.arrivals())
    assert set(sent) == {r["message_id"] for r in results}
    assert sum(sent.values()) == 300 + stats["duplicates"]


def test_simulate_rate_200_and_2000_messages_from_another_process(tmp_path: Path) -> None:
    sim = SimProcess(tmp_path, "--rate", "200/1s", measured=False)
    try:
        rows = tmp_path / "big.jsonl"
        rows.write_text(
            "".join(
                json.dumps({"destination": f"+39321{i:07d}", "nome": f"N{i}"}) + "\n"
                for i in range(2000)
            )
        )
        out = tmp_path / "results.jsonl"
        cmd = [
            *QLARA, "bulk", str(rows), "--sender", "Shop", "--body", "Ciao {nome}",
            "--rate", "200/1s", "--concurrency", "64", "--output", str(out), "--json",
        ]  # fmt: skip
        env = plain_env(QLARA_API_KEY="test-key", QLARA_BASE_URL=sim.url)
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout)["accepted"] == 2000
        arrivals = sim.arrivals()
        sent = Counter(a["message_id"] for a in arrivals)
        assert len(sent) == 2000 and set(sent.values()) == {1}
        assert [a for a in arrivals if a["status"] == 429] == []
        assert len(lines(out)) == 2000
    finally:
        err = sim.stop()
    assert "2000 messages processed" in err and "0 answered 429" in err


# ------------------------------------------------------------------ in-process checks


@pytest.fixture
def local(monkeypatch: pytest.MonkeyPatch) -> Iterator[Simulator]:
    sim = Simulator()
    with run_in_thread(sim) as url:
        monkeypatch.setenv("QLARA_API_KEY", "test-key")
        monkeypatch.setenv("QLARA_BASE_URL", url)
        yield sim


def test_dry_run_validates_every_row_and_sends_nothing(tmp_path: Path, local: Simulator) -> None:
    rows = write_csv(tmp_path / "r.csv", 5)
    with rows.open("a") as f:
        f.write("12345,Bad,Row\n")
    result = CliRunner().invoke(
        app, ["bulk", str(rows), "--sender", "Shop", "--body", BODY, "--dry-run"]
    )
    assert result.exit_code == 1  # one row is invalid
    printed = [json.loads(line) for line in result.stdout.splitlines()]
    assert [p["index"] for p in printed] == [0, 1, 2, 3, 4]
    assert printed[1]["placeholders"] == {"nome": "Nome1", "citta": "Citta1"}
    assert "row 5" in result.stderr and "destination" in result.stderr
    assert "6 messages, 5 valid, 1 invalid" in result.stderr
    assert local.stats.arrivals == 0


def test_a_placeholder_the_file_lacks_is_refused_before_any_send(
    tmp_path: Path, local: Simulator
) -> None:
    rows = write_csv(tmp_path / "r.csv", 5)
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(
        app, ["bulk", str(rows), "--sender", "S", "--body", "Ciao {cognome}", "-o", str(out)]
    )
    assert result.exit_code == 1
    assert "{cognome}" in result.stderr and "Traceback" not in result.stderr
    assert local.stats.arrivals == 0


def test_rcs_and_whatsapp_files(tmp_path: Path, local: Simulator) -> None:
    rows = write_csv(tmp_path / "r.csv", 4)
    for args in (["--channel", "rcs", "--agent-id", "10", "--body", "Hi {nome}"],
                 ["--channel", "whatsapp", "--phone-number-id", "5", "--template-id", "42"]):  # fmt: skip
        result = CliRunner().invoke(app, ["bulk", str(rows), *args, "--plan", "none"])
        assert result.exit_code == 0, result.stderr
    assert Counter(m.channel for m in local.processed) == {"rcs": 4, "whatsapp": 4}


def test_bad_options_are_named(tmp_path: Path, local: Simulator) -> None:
    rows = write_csv(tmp_path / "r.csv", 2)
    for args, word in (
        (["--channel", "fax"], "channel"),
        (["--channel", "rcs"], "--agent-id"),
        (["--channel", "sms", "--body", "x"], "--sender"),
        (["--rate", "fast", "--sender", "S", "--body", "x"], "--rate"),
    ):
        result = CliRunner().invoke(app, ["bulk", str(rows), *args])
        assert result.exit_code != 0 and word in result.stderr, (args, result.stderr)
    result = CliRunner().invoke(
        app, ["bulk", str(tmp_path / "x.xls"), "--sender", "S", "--body", "x"]
    )
    assert result.exit_code == 1 and "--format" in result.stderr
    assert local.stats.arrivals == 0


def test_results_file_drops_a_line_cut_short_and_never_writes_an_index_twice(
    tmp_path: Path,
) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text('{"index": 0, "status": "accepted"}\n{"index": 1, "sta')
    results = ResultsFile(str(path), resume=True)
    results.write(Outcome(index=0, message_id="a", status="accepted"), "+39")
    results.write(Outcome(index=1, message_id="b", status="failed", attempts=3), "+40")
    results.close()
    got = lines(path)
    assert [g["index"] for g in got] == [0, 1]
    assert got[1] == {
        "index": 1, "destination": "+40", "message_id": "b", "status": "failed", "attempts": 3,
    }  # fmt: skip
    fresh = ResultsFile(str(path), resume=False)
    fresh.close()
    assert path.read_text() == ""
