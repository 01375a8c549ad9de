"""The ``qlara`` command line, in-process (typer's runner) against a simulator on loopback.

Each command is one real call over HTTP; the tests check what the simulator received and what
the user sees: a result, JSON for scripts, or one error line and a non-zero exit (never a
traceback, never the key).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer
from typer.testing import CliRunner

from qlara_async import RateLimit
from qlara_async.cli import app
from qlara_async.cli._common import make_client, parse_rate, plan_rate
from qlara_async.cli._demo import run_demo
from qlara_async.cli._simulate import parse_faults
from qlara_async.testing import Faults, Simulator, run_in_thread

KEY = "test-key-0123456789"


@pytest.fixture
def sim() -> Simulator:
    return Simulator(api_keys=(KEY,), export_delay=0.0, delivery_delay=0.0)


@pytest.fixture
def cli(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """A runner whose environment points at the simulator."""
    with run_in_thread(sim) as url:
        monkeypatch.setenv("QLARA_API_KEY", KEY)
        monkeypatch.setenv("QLARA_BASE_URL", url)
        monkeypatch.delenv("QLARA_LOG", raising=False)
        yield CliRunner()


def invoke(cli: CliRunner, *args: str) -> tuple[int, str, str]:
    result = cli.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_send_sms_prints_the_result_and_the_simulator_got_it(
    cli: CliRunner, sim: Simulator
) -> None:
    code, out, err = invoke(
        cli, "send", "sms", "+393201234567", "--sender", "Shop", "--body", "Ciao {nome}",
        "-p", "nome=Marco", "--message-id", "m-1",
    )  # fmt: skip
    assert code == 0, err
    assert "accepted" in out and "m-1" in out
    [m] = sim.processed
    assert (m.message_id, m.channel, m.destination) == ("m-1", "sms", "+393201234567")
    assert KEY not in out + err


def test_send_json_output_is_the_send_result(cli: CliRunner) -> None:
    code, out, _ = invoke(
        cli, "send", "rcs", "+393401234567", "--agent-id", "10", "--text", "Hi", "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert data["results"]["rcs"]["accepted"] is True
    assert data["messageId"] if "messageId" in data else data["message_id"]


def test_send_whatsapp_template(cli: CliRunner, sim: Simulator) -> None:
    code, _, err = invoke(
        cli, "send", "whatsapp", "+393401234567", "--phone-number-id", "5", "--template-id", "42"
    )
    assert code == 0, err
    assert [m.channel for m in sim.processed] == ["whatsapp"]


def test_a_rejected_destination_exits_non_zero(cli: CliRunner, sim: Simulator) -> None:
    sim.rejected_destinations["+393209999999"] = ["BLACKLISTED"]
    code, out, _ = invoke(cli, "send", "sms", "+393209999999", "--sender", "S", "--body", "x")
    assert code == 1
    assert "rejected" in out and "BLACKLISTED" in out


def test_bad_input_is_one_line_naming_the_field_and_nothing_is_sent(
    cli: CliRunner, sim: Simulator
) -> None:
    code, out, err = invoke(cli, "send", "sms", "not-a-number", "--sender", "S", "--body", "x")
    assert code == 1
    assert err.startswith("error:") and "destination" in err
    assert "Traceback" not in out + err
    assert sim.stats.arrivals == 0


def test_a_wrong_key_is_one_line_without_the_key(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QLARA_API_KEY", "wrong-key-secret-42")
    code, out, err = invoke(cli, "send", "sms", "+393201234567", "--sender", "S", "--body", "x")
    assert code == 1
    assert "401" in err and "Traceback" not in err
    assert "wrong-key-secret-42" not in out + err
    assert len(err.strip().splitlines()) <= 3  # one message, wrapped by the terminal width


def test_a_missing_key_is_one_line(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QLARA_API_KEY")
    code, _, err = invoke(cli, "contacts", "list")
    assert code == 1
    assert "QLARA_API_KEY" in err


def test_unreachable_server_is_one_line(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    # Port 9 (discard) refuses; no retries, so the test does not wait out the backoff.
    monkeypatch.setattr(
        "qlara_async.cli._platform.make_client",
        lambda key, url: make_client(key, "http://127.0.0.1:9/api", max_retries=0),
    )
    code, _, err = invoke(cli, "webhooks", "get")
    assert code == 1
    assert err.startswith("error:") and "Connect" in err and "Traceback" not in err


def test_a_wrong_base_path_is_one_line(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    url = os.environ["QLARA_BASE_URL"]
    monkeypatch.setenv("QLARA_BASE_URL", url.replace("/api", "/nope"))
    code, _, err = invoke(cli, "webhooks", "get")
    assert code == 1
    assert "404" in err and "Traceback" not in err


def test_qlara_log_debug_turns_the_library_logs_on_without_the_key(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("QLARA_LOG", "debug")
    import logging

    before = logging.getLogger("qlara_async").handlers[:]
    try:
        code, out, err = invoke(cli, "send", "sms", "+393201234567", "--sender", "S", "--body", "x")
        captured = capfd.readouterr()
    finally:
        for name in ("qlara_async", "httpx"):
            logger = logging.getLogger(name)
            for h in logger.handlers[:]:
                if h not in before:
                    logger.removeHandler(h)
            logger.setLevel(logging.NOTSET)
    logs = err + captured.err
    assert code == 0
    assert "qlara_async" in logs or "HTTP Request" in logs
    assert KEY not in out + logs


def test_status_of_a_sent_message(cli: CliRunner) -> None:
    invoke(
        cli, "send", "sms", "+393201234567", "--sender", "S", "--body", "x", "--message-id", "s1"
    )
    code, out, err = invoke(cli, "status", "s1", "--json")
    assert code == 0, err
    assert "DELIVERED" in out


def test_contacts_add_list_get_delete(cli: CliRunner, sim: Simulator) -> None:
    code, out, err = invoke(
        cli, "contacts", "add", "+393201234567", "--first-name", "Ada", "--json"
    )
    assert code == 0, err
    cid = json.loads(out)["id"]
    code, out, _ = invoke(cli, "contacts", "list", "--json")
    assert [c["id"] for c in json.loads(out)] == [cid]
    code, out, _ = invoke(cli, "contacts", "get", str(cid))
    assert code == 0 and "Ada" in out
    code, _, _ = invoke(cli, "contacts", "delete", str(cid))
    assert code == 0
    assert sim.collection("contacts").list() == []


def test_campaign_workflow(cli: CliRunner) -> None:
    code, out, err = invoke(
        cli, "campaigns", "create", "--name", "Promo", "--sender", "Shop",
        "--body", "Ciao {{nome}}", "--to", "+393201234567", "--json",
    )  # fmt: skip
    assert code == 0, err
    cid = str(json.loads(out)["id"])
    assert invoke(cli, "campaigns", "cost", cid)[0] == 0
    assert invoke(cli, "campaigns", "confirm", cid)[0] == 0
    code, out, _ = invoke(cli, "campaigns", "list", "--json")
    assert [str(c["id"]) for c in json.loads(out)] == [cid]
    assert invoke(cli, "campaigns", "get", cid)[0] == 0
    assert invoke(cli, "campaigns", "stats", "--json")[0] == 0


def test_webhooks_configure_get_update_delete(cli: CliRunner) -> None:
    code, _, err = invoke(cli, "webhooks", "configure", "https://example.com/hook")
    assert code == 0, err
    code, out, _ = invoke(cli, "webhooks", "get", "--json")
    assert "https://example.com/hook" in out
    assert invoke(cli, "webhooks", "update", "https://example.com/v2")[0] == 0
    assert "example.com/v2" in invoke(cli, "webhooks", "get")[1]
    assert invoke(cli, "webhooks", "delete")[0] == 0
    code, _, err = invoke(cli, "webhooks", "get")
    assert code == 1 and "404" in err


def test_templates_list(cli: CliRunner, sim: Simulator) -> None:
    sim.seed("rcs_templates", 3)
    code, out, err = invoke(cli, "templates", "list", "--json")
    assert code == 0, err
    assert len(json.loads(out)) == 3
    assert invoke(cli, "templates", "list", "--channel", "whatsapp")[0] == 0
    assert invoke(cli, "templates", "list", "--channel", "fax")[0] == 2


def test_exports_history_then_download_link(cli: CliRunner) -> None:
    code, out, err = invoke(cli, "exports", "history", "--channel", "sms", "--json")
    assert code == 0, err
    export_id = str(json.loads(out)["id"])
    code, out, err = invoke(
        cli, "exports", "download", export_id, "--poll-interval", "0.01", "--json"
    )
    assert code == 0, err
    assert json.loads(out)["downloadUrl" if "downloadUrl" in out else "download_url"]
    assert invoke(cli, "exports", "list")[0] == 0


def test_demo_command_sends_through_a_simulator_and_prints_the_summary() -> None:
    result = CliRunner().invoke(app, ["demo", "-n", "30"])
    assert result.exit_code == 0, result.stderr
    for row in (
        "accepted",
        "rejected",
        "429s",
        "throughput",
        "delivery callbacks received",
        "not delivered",
    ):
        assert row in result.stdout


@pytest.mark.anyio
async def test_run_demo_every_message_once() -> None:
    result = await run_demo(60)
    r = result.report
    assert r.total == 60 and r.accepted + r.rejected == 60 and r.failed == 0
    assert r.rejected == 2  # destinations 7 and 57 refuse
    assert result.processed == 60 and result.rate_limited == 0
    # Every accepted message reached a final state through the simulator's callbacks.
    assert result.unknown == 0
    assert result.delivered + result.not_delivered == r.accepted
    assert result.not_delivered == 2  # destinations 13 and 53 never reach a handset
    assert result.callbacks >= r.accepted  # one DELIVERY each, READs on top


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # the demo runs the CLI's own loop: asyncio


@pytest.mark.parametrize(
    ("text", "windows"),
    [
        ("200/1s", ((200, 1.0),)),
        ("50/s", ((50, 1.0),)),
        ("1000/1m", ((1000, 60.0),)),
        ("50/1s,1000/60s", ((50, 1.0), (1000, 60.0))),
        ("5/250ms", ((5, 0.25),)),
    ],
)
def test_parse_rate(text: str, windows: tuple[tuple[int, float], ...]) -> None:
    assert parse_rate(text) == RateLimit(*windows)


@pytest.mark.parametrize("text", ["200", "x/1s", "0/1s", "200/0s", "200/1y", ""])
def test_parse_rate_refuses(text: str) -> None:
    with pytest.raises(typer.BadParameter):
        parse_rate(text)


def test_plan_rate() -> None:
    assert plan_rate(None, None) == RateLimit.PRODUCTION
    assert plan_rate("trial", None) == RateLimit.TRIAL
    assert plan_rate("none", None) is None
    with pytest.raises(typer.BadParameter):
        plan_rate("gold", None)
    with pytest.raises(typer.BadParameter):
        plan_rate("trial", "200/1s")


def test_parse_faults() -> None:
    assert parse_faults(["503=0.1", "reset=0.02"], 3.0) == Faults(
        status_503=0.1, reset=0.02, slow_seconds=3.0
    )
    for bad in (["503"], ["404=0.1"], ["503=2"], ["503=0.7", "500=0.7"]):
        with pytest.raises(typer.BadParameter):
            parse_faults(bad, 5.0)


def test_python_m_qlara_async_and_version() -> None:
    assert CliRunner().invoke(app, ["--version"]).stdout.startswith("qlara-async ")
    out = subprocess.run(
        [sys.executable, "-m", "qlara_async", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    for command in ("demo", "bulk", "simulate", "send", "webhooks", "exports"):
        assert command in out.stdout
