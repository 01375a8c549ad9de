"""Hostile review of the ``qlara`` command line (issue 9): each test is one confirmed defect.

Every test runs the real command against a simulator served in this process on loopback, so
what a shell user sees (stdout, stderr, exit code, the files written) is what is checked: in a
subprocess (``python -m qlara_async``) where the defect is about processes (signals, a pipe on
stdin, two jobs at once, a hang to bound, the logging a fresh interpreter starts with), else
in-process through typer's runner, which is the same code without a second's start-up each.
"""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from qlara_async.cli import app
from qlara_async.testing import ArrivalLog, Simulator, run_in_thread

QLARA = [sys.executable, "-m", "qlara_async"]
KEY = "sk-HOSTILE-cli-key-4242"
README = Path(__file__).resolve().parent.parent / "README.md"


def env(**extra: str) -> dict[str, str]:
    clean = {
        k: v for k, v in os.environ.items() if not k.startswith(("COVERAGE_", "QLARA_", "PYTEST_"))
    }
    return {**clean, **extra}


def qlara_process(
    *args: str, timeout: float = 90, **extra: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*QLARA, *args], capture_output=True, text=True, timeout=timeout, env=env(**extra)
    )


def qlara(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """The command in-process; an exception that escaped it is printed as the shell would."""
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("QLARA_")}
    result = CliRunner().invoke(app, list(args), env={**unset, **extra})
    stderr = result.stderr
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        stderr += "Traceback\n" + "".join(traceback.format_exception(result.exception))
    return subprocess.CompletedProcess(list(args), result.exit_code, result.stdout, stderr)


def no_traceback(done: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    assert "Traceback" not in done.stdout, done.stdout[-1500:]


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[Simulator, str, Path]]:
    simulator = Simulator(api_keys=(KEY,))
    log = tmp_path / "arrivals.jsonl"
    app = ArrivalLog(simulator, str(log))
    with run_in_thread(app) as url:
        yield simulator, url, log
    app.close()


def write_rows(path: Path, n: int, prefix: str = "+39320") -> Path:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["destination", "nome"])
        for i in range(n):
            w.writerow([f"{prefix}{i:07d}", f"N{i}"])
    return path


# ------------------------------------------------------------------ tracebacks instead of errors


@pytest.mark.parametrize("rate", ["99999999999999999999999/1s", "1/.s", "1/0.0000001ms"])
def test_bad_rate_is_one_line_not_a_traceback(tmp_path: Path, rate: str) -> None:
    rows = write_rows(tmp_path / "r.csv", 2)
    done = qlara("bulk", str(rows), "--sender", "S", "--body", "hi", "--rate", rate, "--dry-run")
    no_traceback(done)
    assert done.returncode != 0
    assert "--rate" in done.stderr


def test_simulate_bad_rate_is_one_line_not_a_traceback() -> None:
    done = qlara("simulate", "--port", "0", "--rate", "1/.s")
    no_traceback(done)
    assert done.returncode != 0


def test_send_bad_body_json_is_one_line_not_a_traceback() -> None:
    done = qlara(
        "send", "rcs", "+393201234567", "--agent-id", "1", "--body-json", "{bad",
        QLARA_API_KEY=KEY,
    )  # fmt: skip
    no_traceback(done)
    assert done.returncode != 0
    assert "body-json" in done.stderr


def test_error_text_with_brackets_is_printed_as_is_not_a_traceback(tmp_path: Path) -> None:
    # fail() prints with markup=True: a file name (or a server message) holding "[/x]" is a
    # rich MarkupError and a traceback; "[bold]x.csv" loses its text.
    done = qlara("bulk", "[/x].csv", "--sender", "S", "--body", "hi", QLARA_API_KEY=KEY)
    no_traceback(done)
    assert done.returncode == 1
    assert "[/x].csv" in done.stderr
    done = qlara("bulk", "[bold]x.csv", "--sender", "S", "--body", "hi", QLARA_API_KEY=KEY)
    assert "[bold]x.csv" in done.stderr


def test_server_data_with_brackets_in_a_table_is_not_a_traceback(
    sim: tuple[Simulator, str, Path],
) -> None:
    simulator, url, _ = sim
    simulator.collection("contacts", key=KEY).create(
        {"phone": "+393201234599", "lastName": "Evil [/x] [link=https://evil.example]y[/link]"}
    )
    done = qlara("contacts", "list", "--base-url", url, QLARA_API_KEY=KEY)
    no_traceback(done)
    assert done.returncode == 0
    assert "[/x]" in done.stdout


@pytest.mark.parametrize(
    "args",
    [["--slow-seconds", "inf"], ["--slow-seconds", "nan"], ["--key", ""], ["--key", "  "]],
)
def test_simulate_refuses_a_slow_time_or_key_that_means_nothing(args: list[str]) -> None:
    # Refused before the server starts: a usage error (exit 2) naming the option.
    done = qlara("simulate", "--port", "0", *args)
    no_traceback(done)
    assert done.returncode == 2
    assert args[0] in done.stderr


def test_a_run_where_every_row_is_rejected_exits_non_zero(
    tmp_path: Path, sim: tuple[Simulator, str, Path]
) -> None:
    # As --dry-run exits 1 on an invalid row and `qlara send` on a rejection: a job with a
    # message that was not accepted is not a success for a script's `&&`.
    _, url, _ = sim
    path = tmp_path / "r.csv"
    path.write_text("destination,nome\nnot-a-number,A\n")
    done = qlara(
        "bulk", str(path), "--sender", "S", "--body", "Ciao {nome}", "--base-url", url,
        "--plan", "none", QLARA_API_KEY=KEY,
    )  # fmt: skip
    no_traceback(done)
    assert done.returncode == 1
    assert "1 rejected" in done.stderr


# ------------------------------------------------------------------ results file


def test_resumed_job_rewrites_the_line_of_a_message_that_failed_before(
    tmp_path: Path, sim: tuple[Simulator, str, Path]
) -> None:
    # First run with a wrong key: every message "failed" (journal and results file agree).
    # Second run with the right key resends them and they are accepted, but ResultsFile.write
    # skips an index it has a line for: the file keeps saying "failed".
    _, url, _ = sim
    rows = write_rows(tmp_path / "r.csv", 3)
    out, journal = tmp_path / "results.jsonl", tmp_path / "job.sqlite"
    common = ["bulk", str(rows), "--sender", "S", "--body", "Ciao {nome}", "--plan", "none"]
    common += ["-o", str(out), "--journal", str(journal), "--base-url", url]
    first = qlara(*common, "--api-key", "wrong-key")
    assert first.returncode != 0
    second = qlara(*common, "--api-key", KEY, "--json")
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["accepted"] == 3
    results = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(results) == 3
    assert {r["status"] for r in results} == {"accepted"}, results


def test_second_job_on_the_same_output_does_not_corrupt_the_first_ones_results(
    tmp_path: Path, sim: tuple[Simulator, str, Path]
) -> None:
    # B decides "not a resume" (the journal does not exist yet) at its start, then counts the
    # rows; A meanwhile opens the journal and writes result lines; B then opens the output with
    # "w" (truncating A's lines) before it finds the journal locked. A goes on writing at its
    # own offset: the file starts with NUL bytes and A's first lines are gone.
    _, url, _ = sim
    rows = write_rows(tmp_path / "big.csv", 2_000)
    out, journal = tmp_path / "results.jsonl", tmp_path / "job.sqlite"
    cmd = [*QLARA, "bulk", str(rows), "--sender", "S", "--body", "Ciao {nome}", "--rate", "50/1s"]
    cmd += ["-o", str(out), "--journal", str(journal), "--base-url", url, "--json"]
    a = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(QLARA_API_KEY=KEY)
    )
    # B starts once A is writing results (polling a subprocess: no event to wait on).
    deadline = time.monotonic() + 30
    while (not out.exists() or out.stat().st_size == 0) and time.monotonic() < deadline:
        time.sleep(0.05)
    # The report's B (the same command) and, deterministic with a small file, a B that has a
    # journal of its own, so it is not a resume: either must be refused before it touches A's
    # results (the old code opened the output "w" first, then met the journal's lock).
    other = tmp_path / "other.sqlite"
    bs = [
        subprocess.Popen(
            b_cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env=env(QLARA_API_KEY=KEY),
        )
        for b_cmd in (cmd, [*cmd[:-4], str(other), *cmd[-3:]])
    ]  # fmt: skip
    for b in bs:
        _, b_err = b.communicate(timeout=60)
        assert b.returncode != 0
        assert "in use" in b_err, b_err
    a.send_signal(signal.SIGTERM)
    a_out, a_err = a.communicate(timeout=60)
    report = json.loads(a_out)
    data = out.read_bytes()
    nuls = data.count(b"\0")
    assert nuls == 0, f"{nuls} NUL bytes in the results file"
    results = [json.loads(line) for line in data.splitlines()]
    assert len(results) == report["accepted"] + report["rejected"] + report["failed"]


def test_output_that_is_the_input_file_is_refused(
    tmp_path: Path, sim: tuple[Simulator, str, Path]
) -> None:
    # -o recipients.csv (the input): the results file is opened "w" after the first row was
    # read, so the recipients are truncated away, and the reader then reads the job's own
    # result lines as rows, each giving a new result line: a job that never ends and a file
    # that grows without bound (190 MB in 11 minutes here).
    _, url, _ = sim
    rows = write_rows(tmp_path / "r.csv", 5)
    before = rows.read_bytes()
    try:
        done = qlara_process(
            "bulk", str(rows), "--sender", "S", "--body", "Ciao {nome}", "--plan", "none",
            "-o", str(rows), "--base-url", url, timeout=30, QLARA_API_KEY=KEY,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after 30 s; the input is now {rows.stat().st_size} bytes")
    assert done.returncode != 0
    assert rows.read_bytes() == before


def test_output_that_is_the_journal_is_refused(
    tmp_path: Path, sim: tuple[Simulator, str, Path]
) -> None:
    # -o job.sqlite --journal job.sqlite: result lines are written into the SQLite file; the
    # next run finds the journal "damaged or not a journal", so the job cannot be resumed.
    _, url, _ = sim
    rows = write_rows(tmp_path / "r.csv", 3)
    journal = tmp_path / "job.sqlite"
    cmd = ["bulk", str(rows), "--sender", "S", "--body", "Ciao {nome}", "--plan", "none"]
    cmd += ["-o", str(journal), "--journal", str(journal), "--base-url", url]
    first = qlara(*cmd, QLARA_API_KEY=KEY)
    second = qlara(*cmd, QLARA_API_KEY=KEY)
    assert "damaged" not in second.stderr, second.stderr
    assert first.returncode != 0 or second.returncode == 0


def test_piped_input_is_not_read_twice(tmp_path: Path, sim: tuple[Simulator, str, Path]) -> None:
    # `cat recipients.csv | qlara bulk /dev/stdin --format csv`: the command reads FILE once
    # for the first row, then again to count the rows; from a pipe the count eats what the
    # first read did not buffer. 1,000 rows in: 210 messages (one of them a row cut in two at
    # the buffer's edge), 790 recipients silently dropped, exit 0.
    _, url, _ = sim
    # 100 rows of ~100 bytes: more than one 8 KB read buffer, as the 1,000 rows of the report.
    data = "destination,nome\n" + "".join(f"+39320{i:07d},{'N' * 80}{i}\n" for i in range(100))
    done = subprocess.run(
        [*QLARA, "bulk", "/dev/stdin", "--format", "csv", "--sender", "S", "--body",
         "Ciao {nome}", "--plan", "none", "--base-url", url, "--json"],
        input=data, capture_output=True, text=True, timeout=120, env=env(QLARA_API_KEY=KEY),
    )  # fmt: skip
    if done.returncode == 0:
        report = json.loads(done.stdout)
        assert report["total"] == 100 and report["accepted"] == 100, report
    else:
        assert "stdin" in done.stderr or "pipe" in done.stderr, done.stderr


# ------------------------------------------------------------------ hostile input files


def test_unterminated_quote_does_not_swallow_the_following_rows(tmp_path: Path) -> None:
    # csv in non-strict mode reads to the end of the file inside the quote: three recipients
    # become one message whose {nome} is two lines of CSV; the other two have no outcome.
    path = tmp_path / "r.csv"
    path.write_text('destination,nome\n+393200000001,"A\n+393200000002,B\n+393200000003,C\n')
    done = qlara("bulk", str(path), "--sender", "S", "--body", "Ciao {nome}", "--dry-run")
    assert "3 messages" in done.stderr or done.returncode != 0, done.stderr
    assert "+393200000002,B" not in done.stdout, done.stdout


def test_duplicate_destination_column_is_refused(
    tmp_path: Path, sim: tuple[Simulator, str, Path]
) -> None:
    # csv.DictReader keeps the last of two same-named columns: the job sends to the second
    # "destination" (here: a number the user did not mean) without a word.
    _, url, log = sim
    path = tmp_path / "r.csv"
    path.write_text("destination,nome,destination\n+393200000001,A,+393299999999\n")
    done = qlara(
        "bulk", str(path), "--sender", "S", "--body", "Ciao {nome}", "--base-url", url,
        QLARA_API_KEY=KEY,
    )  # fmt: skip
    assert not log.exists() or log.read_text() == "", "a message left for the duplicate column"
    assert done.returncode != 0
    assert "destination" in done.stderr


def test_placeholder_the_file_lacks_is_refused_when_the_first_row_is_unreadable(
    tmp_path: Path, sim: tuple[Simulator, str, Path]
) -> None:
    # The header has no "nome" column, but the first data row has a bad byte: the up-front
    # check is skipped (it only looks at the first row), every row is rejected one by one,
    # and the command exits 0 with nothing accepted.
    _, url, _ = sim
    path = tmp_path / "r.csv"
    path.write_bytes(b"destination,name\n\xff+393200000001,A\n+393200000002,B\n+393200000003,C\n")
    done = qlara(
        "bulk", str(path), "--sender", "S", "--body", "Ciao {nome}", "--base-url", url,
        QLARA_API_KEY=KEY,
    )  # fmt: skip
    assert done.returncode != 0, done.stderr
    assert "{nome}" in done.stderr


def test_destination_column_the_file_lacks_is_refused(
    tmp_path: Path, sim: tuple[Simulator, str, Path]
) -> None:
    # --destination-column phone on a file whose header has no "phone": every row is rejected
    # ("destination must be in international format"), the real "destination" column goes out
    # as a placeholder, and the command exits 0.
    _, url, _ = sim
    rows = write_rows(tmp_path / "r.csv", 5)
    done = qlara(
        "bulk", str(rows), "--sender", "S", "--body", "Ciao {nome}", "--base-url", url,
        "--destination-column", "phone", QLARA_API_KEY=KEY,
    )  # fmt: skip
    assert done.returncode != 0, done.stderr
    assert "phone" in done.stderr


def test_jsonl_with_a_byte_order_mark_reads_its_first_row(tmp_path: Path) -> None:
    # read_csv reads utf-8-sig; read_jsonl reads utf-8: the first line of a JSON-lines file
    # saved with a BOM is "JSON is malformed" and its recipient is rejected.
    path = tmp_path / "r.jsonl"
    path.write_bytes(
        b'\xef\xbb\xbf{"destination":"+393200000001","nome":"A"}\n'
        b'{"destination":"+393200000002","nome":"B"}\n'
    )
    done = qlara("bulk", str(path), "--sender", "S", "--body", "Ciao {nome}", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert "2 valid" in done.stderr


# ------------------------------------------------------------------ output hygiene


def test_simulate_does_not_print_the_keys_it_accepts() -> None:
    proc = subprocess.Popen(
        [*QLARA, "simulate", "--port", "0", "--key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env(),
    )
    assert proc.stdout is not None and proc.stderr is not None
    url = proc.stdout.readline()
    # The banner that names the keys (by count): written before the server waits for a signal.
    banner = proc.stderr.readline()
    assert "keys:" in banner, banner
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert KEY not in url + banner + out + err


def test_library_warnings_stay_off_stderr_without_qlara_log(
    tmp_path: Path, sim: tuple[Simulator, str, Path]
) -> None:
    # With a wrong key the job prints one "bulk: the API answered 401 ..." warning per sender
    # (Python's last-resort handler), though QLARA_LOG is unset, then the error line.
    _, url, _ = sim
    rows = write_rows(tmp_path / "r.csv", 100)
    done = qlara_process(
        "bulk", str(rows), "--sender", "S", "--body", "hi", "--plan", "none", "--base-url", url,
        "--api-key", "wrong-key",
    )  # fmt: skip
    assert done.returncode != 0
    assert done.stderr.count("the API answered 401") <= 1, done.stderr


# ------------------------------------------------------------------ README snippets as written


def _readme_block(marker: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    return next(b for b in blocks if marker in b)


def test_readme_bulk_worker_snippet_keeps_one_result_line_per_message(
    tmp_path: Path, sim: tuple[Simulator, str, Path]
) -> None:
    # "a results file gets one line per message": the snippet appends every outcome, the
    # journal's resumed ones included, so each run adds a line per message again.
    _, url, _ = sim
    script = tmp_path / "worker.py"
    script.write_text(_readme_block('open("results.jsonl", "a")'))
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, str(script)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env=env(QLARA_API_KEY=KEY, QLARA_BASE_URL=url),
        )
        assert done.returncode == 0, done.stderr
    assert len((tmp_path / "results.jsonl").read_text().splitlines()) == 2


def test_readme_pytest_snippet_runs_as_written(tmp_path: Path) -> None:
    # Copied into a project's tests (pytest-asyncio in its default strict mode): "async def
    # functions are not natively supported" -- the snippet needs a marker or asyncio_mode=auto.
    (tmp_path / "test_snippet.py").write_text(_readme_block("def test_welcome_sms"))
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    # A project's plugins, no more (autoloading this venv's hypothesis, xdist, cov... costs
    # seconds): pytest-asyncio in strict mode, anyio's plugin and the package's own.
    plugins = ["-p", "pytest_asyncio", "-p", "anyio", "-p", "qlara_async.testing._pytest_plugin"]
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *plugins,
         "test_snippet.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env(PYTEST_DISABLE_PLUGIN_AUTOLOAD="1"),
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-1500:]


# ------------------------------------------------------------------ bounds


def _watch_stderr(
    proc: subprocess.Popen[str], text: str
) -> tuple[threading.Event, threading.Thread]:
    """An event set when a line of ``proc``'s stderr contains ``text``, and the thread that
    reads the pipe to its end (so the process never blocks on a full pipe) and closes it."""
    seen = threading.Event()
    assert proc.stderr is not None
    stream = proc.stderr

    def read() -> None:
        with stream:
            for line in stream:
                if text in line:
                    seen.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return seen, reader


def test_second_ctrl_c_hurries_the_stop(tmp_path: Path) -> None:
    # "stopping: in-flight sends finish; Ctrl-C again to hurry": the second signal cancels the
    # task awaiting job.run(), which BulkJob.run treats as stop() (it consumes the cancel and
    # waits the whole grace period): the exit comes ~10 s after the first signal either way.
    from qlara_async.testing import Faults

    simulator = Simulator(api_keys=(KEY,), faults=Faults(slow=1.0, slow_seconds=60.0))
    rows = write_rows(tmp_path / "r.csv", 100)
    out, journal = tmp_path / "results.jsonl", tmp_path / "job.sqlite"
    with run_in_thread(simulator) as url:
        proc = subprocess.Popen(
            [*QLARA, "bulk", str(rows), "--sender", "S", "--body", "Ciao {nome}", "--plan",
             "none", "-o", str(out), "--journal", str(journal), "--base-url", url],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env=env(QLARA_API_KEY=KEY),
        )  # fmt: skip
        stopping, reader = _watch_stderr(proc, "stopping:")
        deadline = time.monotonic() + 60
        while simulator.stats.arrivals < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        # The second signal goes once the first one has been handled (the CLI says so on
        # stderr): sooner, it would be the first one; a fixed sleep would be a guess.
        assert stopping.wait(timeout=30), "no 'stopping:' line after the first SIGINT"
        second = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=60)
        finally:
            proc.kill()
            reader.join(timeout=30)
        hurried = time.monotonic() - second
    assert proc.returncode == 130
    assert hurried < 4.0, f"exit {hurried:.1f} s after the second Ctrl-C"


def test_exports_download_is_bounded_by_its_timeout(tmp_path: Path) -> None:
    # The pre-signed link is fetched with httpx timeout=60 per read and no overall deadline: a
    # link that sends one byte a second never ends, whatever --timeout says.
    import socket
    import threading

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 100000\r\n\r\n")
            try:
                while not stop.is_set():
                    conn.sendall(b"x")
                    time.sleep(1.0)
            except OSError:
                pass
            conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    simulator = Simulator(api_keys=(KEY,), export_delay=0)

    async def app(scope, receive, send):  # type: ignore[no-untyped-def]
        parts = scope.get("path", "").rstrip("/").split("/")
        exports = parts[-2:-1] == ["exports"] and parts[-1].isdigit()
        if scope["type"] == "http" and scope["method"] == "GET" and exports:
            body = b'{"id": 1, "url": "http://127.0.0.1:%d/x.csv"}' % port
            headers = [(b"content-type", b"application/json")]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return
        await simulator(scope, receive, send)

    try:
        with run_in_thread(app) as url:
            made = qlara("exports", "history", "--channel", "sms", "--base-url", url, "--json",
                         QLARA_API_KEY=KEY)  # fmt: skip
            assert made.returncode == 0, made.stderr
            export_id = str(json.loads(made.stdout)["id"])
            started = time.monotonic()
            try:
                done = qlara_process(
                    "exports", "download", export_id, "-o", str(tmp_path / "x.csv"), "--timeout",
                    "2", "--base-url", url, timeout=45, QLARA_API_KEY=KEY,
                )  # fmt: skip
            except subprocess.TimeoutExpired:
                pytest.fail(f"still downloading after {time.monotonic() - started:.0f} s")
            no_traceback(done)
    finally:
        stop.set()
        listener.close()
