"""``qlara demo``: the main job end to end, with no account, key or network.

It starts the simulator on a free loopback port (the production plan's limits, a few seeded
faults, a few destinations that refuse), sends a bulk job of synthetic SMS, RCS and WhatsApp
messages through the real client over real HTTP, shows a live progress bar, and ends with a
summary table. The simulator POSTs the docs' delivery callbacks (a few duplicated, reordered or
lost and retried) to a local :class:`~qlara_async.webhooks.WebhookReceiver`, and a
:class:`~qlara_async.webhooks.DeliveryTracker` turns them into delivered / not delivered counts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .._client import AsyncQlara
from .._config import RateLimit
from ..bulk import BulkReport
from ..bulk import Progress as JobProgress
from ..models import Message, RcsMessage, SmsMessage, WhatsAppMessage
from ..testing import CallbackOptions, Faults, Simulator, SimulatorServer, run_in_thread
from ..webhooks import DeliveryTracker, WebhookEvent, WebhookReceiver
from ._common import out_console, print_json, run, to_builtins

__all__ = ["DemoResult", "demo", "demo_messages", "run_demo"]

DEMO_KEY = "demo-key"
"""The embedded simulator's key: a local stand-in, not a credential."""

DEMO_TOKEN = "demo-webhook-token"
"""The local receiver's callback token: a local stand-in, not a secret."""


@dataclass(slots=True)
class DemoResult:
    """What the demo did: the job's report and the simulator's own view of it."""

    report: BulkReport
    processed: int
    """Messages the simulator processed (duplicates excluded)."""
    duplicates: int
    """Sends the simulator answered from its de-duplication store (retries of a message)."""
    rate_limited: int
    """429s the simulator answered."""
    callbacks: int
    """Distinct callbacks the local receiver handed on (DELIVERY and READ events)."""
    delivered: int
    """Accepted messages whose final callback said delivered."""
    not_delivered: int
    """Accepted messages whose final callback said not delivered."""
    unknown: int
    """Accepted messages with no final callback by the demo's deadline."""


def demo_messages(n: int) -> Iterator[Message]:
    """``n`` synthetic messages, the three channels in turn; a few destinations refuse."""
    for i in range(n):
        destination = f"+39320{i:07d}"
        if i % 3 == 0:
            yield SmsMessage(
                destination=destination,
                sender="QlaraDemo",
                body="Ciao {nome}, il tuo ordine {ordine} e' partito",
                placeholders={"nome": f"Cliente {i}", "ordine": f"A-{1000 + i}"},
            )
        elif i % 3 == 1:
            yield RcsMessage(
                destination=destination,
                agent_id=10,
                body={"type": "TEXT", "body": {"text": f"Offerta del giorno #{i}"}},
            )
        else:
            yield WhatsAppMessage(destination=destination, phone_number_id=5, template={"id": 42})


def _refusing(n: int) -> list[str]:
    return [f"+39320{i:07d}" for i in range(7, n, 50)]


def _undelivered(n: int) -> list[str]:
    # Accepted, but the handset never gets them: their DELIVERY callback says statusCode 6.
    return [f"+39320{i:07d}" for i in range(13, n, 40)]


async def run_demo(
    n: int = 300,
    *,
    on_progress: Callable[[JobProgress], None] | None = None,
    callback_timeout: float = 20.0,
) -> DemoResult:
    """Send ``n`` demo messages through a real client to a loopback simulator.

    The simulator's delivery callbacks go to a local receiver on another loopback port; the
    demo waits up to ``callback_timeout`` seconds after the job for the last of them.
    """
    sim = Simulator(
        RateLimit.PRODUCTION,
        api_keys=(DEMO_KEY,),
        faults=Faults(status_503=0.02, reset=0.01),
        seed=7,
        rejected_destinations=_refusing(n),
        callbacks=CallbackOptions(
            delay=0.05, jitter=0.2, read_after=0.1, duplicate_rate=0.05, reorder=True,
            failure_rate=0.05, retry_delay=0.05, undelivered=_undelivered(n), seed=7,
        ),
    )  # fmt: skip
    tracker = DeliveryTracker(poll_after=3600)  # the callbacks alone settle every message

    def on_event(event: WebhookEvent) -> None:
        tracker.observe(event)

    receiver = WebhookReceiver(on_event, token=DEMO_TOKEN)
    with SimulatorServer(sim) as server, run_in_thread(receiver, base_path="") as hook_url:
        async with AsyncQlara(api_key=DEMO_KEY, base_url=server.base_url) as client:
            await client.webhooks.configure(f"{hook_url}/callbacks?token={DEMO_TOKEN}")
            job = tracker.job()
            async with sim.callbacks.running():
                report = await client.bulk.run(
                    demo_messages(n),
                    concurrency=32,
                    total=n,
                    on_progress=on_progress,
                    progress_interval=0.1,
                    on_outcome=job.on_outcome,
                )
                tracked = await job.wait(report, timeout=callback_timeout)
    return DemoResult(
        report=report,
        processed=sim.stats.processed,
        duplicates=sim.stats.duplicates,
        rate_limited=sim.stats.rate_limited,
        callbacks=receiver.stats.handled,
        delivered=tracked.delivered,
        not_delivered=tracked.not_delivered,
        unknown=tracked.unknown,
    )


def summary_table(result: DemoResult) -> Table:
    """The demo's closing table."""
    r = result.report
    table = Table(title="qlara demo: bulk job against the local simulator", show_header=False)
    for name, value in (
        ("messages", r.total),
        ("accepted", r.accepted),
        ("rejected", f"{r.rejected} (destinations the simulator refuses)"),
        ("failed", r.failed),
        ("retries", f"{r.retries} (seeded 503s and connection resets)"),
        ("429s", r.throttles),
        ("requests", r.requests),
        ("processed by the simulator", f"{result.processed} (each message once)"),
        ("throughput", f"{r.throughput:.0f} msg/s (production plan: 50/s, 1,000/min)"),
        ("elapsed", f"{r.elapsed:.1f} s"),
        ("delivery callbacks received", f"{result.callbacks} (duplicates recognised and dropped)"),
        ("delivered", f"{result.delivered} (from the callbacks)"),
        ("not delivered", f"{result.not_delivered} (handsets the simulator never reaches)"),
        ("no final state yet", result.unknown),
    ):
        table.add_row(name, str(value))
    return table


def demo(
    messages: Annotated[int, typer.Option("--messages", "-n", help="How many to send.")] = 300,
    json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
) -> None:
    """Send a few hundred messages to an embedded simulator: no account, key or network."""
    if not 1 <= messages <= 1000:
        raise typer.BadParameter(
            "from 1 to 1000 (the demo runs inside a minute)", param_hint="--messages"
        )
    bar = Progress(
        TextColumn("[bold]sending"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:.0f} msg/s  {task.fields[retries]} retries"),
        TimeElapsedColumn(),
        console=out_console,
        disable=json,
    )
    task = bar.add_task("demo", total=messages, rate=0.0, retries=0)

    def on_progress(p: JobProgress) -> None:
        bar.update(task, completed=p.done, rate=p.rate, retries=p.retries)

    with bar:
        result = run(lambda: run_demo(messages, on_progress=on_progress))
        bar.update(task, completed=result.report.total)
    if json:
        print_json(
            {
                **to_builtins(result.report),
                "processed": result.processed,
                "delivery_callbacks": result.callbacks,
                "delivered": result.delivered,
                "not_delivered": result.not_delivered,
                "unknown": result.unknown,
            }
        )
    else:
        out_console.print(summary_table(result))
    if not result.report.ok:
        raise typer.Exit(1)
