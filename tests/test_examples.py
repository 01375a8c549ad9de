"""Every script in examples/ runs green against the simulator (each starts one on loopback).

The scripts run in this process (``runpy``, as ``__main__``) so the suite stays fast; their
printed output is checked for what each workflow must show.
"""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from qlara_async.redis.testing import redis_server
from qlara_async.testing import Simulator, run_in_thread

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
    # Two worker processes against a throwaway redis-server; small, the same code path.
    ("sharded_bulk.py", ["--workers", "2", "--n", "60", "--shards", "4"], ["60 of 60 processed, 0 twice, 0 missing, 0 429s"]),
]  # fmt: skip
# Tested below, or elsewhere: the webhooks receiver's example with the receiver.
OTHERS = {"sharded_bulk_arq.py", "webhooks_fastapi.py"}


def test_every_example_is_tested() -> None:
    assert {p.name for p in EXAMPLES.glob("*.py")} <= {name for name, _, _ in CASES} | OTHERS
    assert (Path(__file__).parent / "test_webhooks_example.py").exists()


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
    try:
        runpy.run_path(str(EXAMPLES / script), run_name="__main__")
    except SystemExit as exc:  # a script that ends with sys.exit(main())
        assert exc.code in (0, None), capsys.readouterr()
    out = capsys.readouterr().out
    for text in expected:
        assert text in out, out


@pytest.fixture
def arq_example(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[ModuleType]:
    """examples/sharded_bulk_arq.py imported against a real redis-server, with 4 shards of
    40 messages and its client pointed at a simulator (the environment the script reads)."""
    sim = Simulator(api_keys=("test-key",))
    with redis_server() as server, run_in_thread(sim) as url:
        monkeypatch.setenv("REDIS_URL", server.url)
        monkeypatch.setenv("JOURNAL_DIR", str(tmp_path))
        monkeypatch.setenv("QLARA_API_KEY", "test-key")
        monkeypatch.setenv("QLARA_BASE_URL", url)
        spec = importlib.util.spec_from_file_location(
            "sharded_bulk_arq", EXAMPLES / "sharded_bulk_arq.py"
        )
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        monkeypatch.setattr(module, "SHARDS", 4)
        real = module.make_messages
        monkeypatch.setattr(module, "make_messages", lambda: itertools.islice(real(), 40))
        module.simulator = sim
        yield module


# arq's Worker.close() calls redis-py's deprecated close() (arq 0.28, redis-py 5+).
@pytest.mark.filterwarnings("ignore:Call to deprecated close:DeprecationWarning")
def test_arq_example_sends_every_message_once_through_an_arq_worker(
    arq_example: ModuleType,
) -> None:
    # The real arq: the script's enqueue(), then a worker with its WorkerSettings in burst
    # mode (it ends when the queue is empty). Enqueueing twice queues each shard once.
    from arq.worker import Worker

    settings = arq_example.WorkerSettings
    # Each arq job makes a ShardedJob whose run_shard leaves its Redis connection open for a
    # next call: the example closes it (``async with``), which is checked after the worker.
    jobs: list[Any] = []
    make_job = arq_example.sharded_job

    def recorded() -> Any:
        jobs.append(make_job())
        return jobs[-1]

    arq_example.sharded_job = recorded

    async def main() -> None:
        await arq_example.enqueue()
        await arq_example.enqueue()
        worker = Worker(
            functions=settings.functions,
            on_startup=settings.on_startup,
            on_shutdown=settings.on_shutdown,
            redis_settings=settings.redis_settings,
            burst=True,
            poll_delay=0.05,
            handle_signals=False,
        )
        try:
            await worker.main()
        finally:
            await worker.close()
        assert worker.jobs_complete == 4 and worker.jobs_failed == 0
        assert len(jobs) == 4
        assert all(job._redis is None for job in jobs), "a job's Redis connection was left open"

    asyncio.run(main())
    destinations = [m.destination for m in arq_example.simulator.processed]
    assert len(destinations) == 40 and len(set(destinations)) == 40
