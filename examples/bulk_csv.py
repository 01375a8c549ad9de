"""Send one SMS per row of a CSV file, resumably, with a progress line.

    python examples/bulk_csv.py examples/recipients.csv            # against the embedded simulator
    QLARA_API_KEY=... python examples/bulk_csv.py recipients.csv --live

The body is a template: ``{nome}`` and ``{citta}`` are filled by the API from each row's columns.
Run it again with the same ``--journal`` after a crash and nothing already sent goes out twice.
"""

from __future__ import annotations

import argparse
import contextlib
import logging

import anyio

from qlara_async import AsyncQlara
from qlara_async.bulk import Outcome, Progress, messages_from_rows, read_csv


def show_progress(p: Progress) -> None:
    total = f"/{p.total}" if p.total is not None else ""
    paused = "  (server failing: paused)" if p.paused else ""
    if p.cooldown > 0:
        paused += f"  (429: waiting {p.cooldown:.0f}s)"
    print(
        f"  {p.done}{total} done, {p.rate:.0f}/s, {p.retries} retries, {p.throttles} 429s{paused}"
    )


def show_outcome(o: Outcome) -> None:
    if o.status != "accepted" and not o.resumed:
        print(f"  row {o.index + 1}: {o.status}: {o.error or o.reasons}")


async def main(path: str, journal: str | None, live: bool) -> None:
    async with contextlib.AsyncExitStack() as stack:
        if live:
            client = AsyncQlara()
        else:
            from qlara_async.testing import Simulator, serve

            url = await stack.enter_async_context(serve(Simulator()))
            client = AsyncQlara(api_key="test-key", base_url=url)
        await stack.enter_async_context(client)

        # The one line: a CSV of recipients becomes a bulk job.
        report = await client.bulk.run(
            messages_from_rows(read_csv(path), sender="MyBrand", body="Ciao {nome} da {citta}!"),
            journal=journal,
            on_outcome=show_outcome,
            on_progress=show_progress,
        )
    print(
        f"{report.accepted} accepted, {report.rejected} rejected, {report.failed} failed,"
        f" ({report.skipped} of them settled by an earlier run) in {report.elapsed:.1f}s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Send an SMS per CSV row.")
    parser.add_argument("csv")
    parser.add_argument("--journal", help="SQLite file that makes the job resumable")
    parser.add_argument("--live", action="store_true", help="send for real (QLARA_API_KEY)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per request is too much
    anyio.run(main, args.csv, args.journal, args.live)
