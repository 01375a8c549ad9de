"""The ``qlara`` command line (the ``cli`` extra: typer and rich).

::

    qlara demo                                    # no account needed: a bulk job against a local simulator
    qlara send sms +393201234567 --sender MyBrand --body "Ciao"
    qlara bulk recipients.csv --sender MyBrand --body "Ciao {nome}" --output results.jsonl --journal job.sqlite
    qlara simulate --rate 200/1s --log arrivals.jsonl
    qlara status|templates|contacts|campaigns|webhooks|exports ...   (--json for scripts)

Credentials come from ``--api-key``/``--base-url`` or ``QLARA_API_KEY``/``QLARA_BASE_URL``; the
key is never printed. A failure is one line on stderr and a non-zero exit code.
``QLARA_LOG=debug`` turns the library's logs on.

One module per command group: ``_send`` (send, status), ``_bulk``, ``_simulate``, ``_demo``,
``_platform`` (templates, contacts, campaigns, webhooks, exports); ``_common`` holds what they
share.
"""

from __future__ import annotations

import typer

from .._version import __version__
from ._bulk import bulk
from ._demo import demo
from ._platform import campaigns_app, contacts_app, exports_app, templates_app, webhooks_app
from ._send import send_app, status
from ._simulate import simulate

__all__ = ["app", "main"]

app = typer.Typer(
    name="qlara",
    help="Send SMS, RCS and WhatsApp through the Qlara API, or try it on a local simulator.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"qlara-async {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
) -> None:
    """Send SMS, RCS and WhatsApp through the Qlara API, or try it on a local simulator."""


app.command()(demo)
app.add_typer(send_app, name="send")
app.command()(bulk)
app.command()(simulate)
app.command()(status)
app.add_typer(templates_app, name="templates")
app.add_typer(contacts_app, name="contacts")
app.add_typer(campaigns_app, name="campaigns")
app.add_typer(webhooks_app, name="webhooks")
app.add_typer(exports_app, name="exports")


def main() -> None:
    """The console script's entry point."""
    app(prog_name="qlara")
