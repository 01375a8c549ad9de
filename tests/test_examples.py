"""Every script in examples/ runs green against the simulator (each starts one on loopback).

The scripts run in this process (``runpy``, as ``__main__``) so the suite stays fast; their
printed output is checked for what each workflow must show.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# script, arguments, what its output must contain
CASES = [
    ("track_status.py", [], ["accepted=True", "status: DELIVERED"]),
    ("webhook_setup.py", ["https://example.com/hook", "--remove"], ["configured: https://example.com/hook", "webhook removed"]),
    ("campaign.py", [], ["recipients", "stats:"]),
    ("export_history.py", [], ["ready: https://"]),
    ("bulk_csv.py", [str(EXAMPLES / "recipients.csv")], ["4 accepted, 1 rejected, 0 failed", "row 5: rejected: destination"]),
    ("fastapi_backend.py", [], ["200 {'message_id'", "422 {'detail': \"destination"]),
    ("load_run.py", ["200", "--rate", "1000"], ["200/200 accepted", "0 answered 429", "0 duplicates"]),
]  # fmt: skip


def test_every_example_is_tested() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} <= {name for name, _, _ in CASES} | {
        "webhooks_fastapi.py"  # the webhooks receiver's example, tested with the receiver
    }


@pytest.mark.parametrize(("script", "args", "expected"), CASES, ids=[c[0] for c in CASES])
def test_example_runs(
    script: str,
    args: list[str],
    expected: list[str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No key in the environment: each script starts its own simulator.
    monkeypatch.delenv("QLARA_API_KEY", raising=False)
    monkeypatch.delenv("QLARA_BASE_URL", raising=False)
    monkeypatch.setattr(sys, "argv", [script, *args])
    runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    out = capsys.readouterr().out
    for text in expected:
        assert text in out, out
