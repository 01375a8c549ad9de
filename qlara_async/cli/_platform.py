"""The platform's workflows from the shell: templates, contacts, campaigns, webhooks, exports.

Each command is one library call (or a short sequence, for ``exports download``) printed as a
table, or as JSON with ``--json``. Collections are read to the end (``--limit`` stops early).
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Callable
from typing import Annotated, Any, TypeVar

import anyio
import httpx
import typer

from .._client import AsyncQlara
from .._exceptions import APIConnectionError, APITimeoutError, ValidationError
from ._common import (
    ApiKeyOption,
    BaseUrlOption,
    JsonOption,
    err_console,
    make_client,
    out_console,
    print_result,
    run,
)

__all__ = ["campaigns_app", "contacts_app", "exports_app", "templates_app", "webhooks_app"]

T = TypeVar("T")

LimitOption = Annotated[int, typer.Option("--limit", help="At most this many items.")]
IdArg = Annotated[int, typer.Argument(help="The item's id.")]

templates_app = typer.Typer(help="RCS and WhatsApp templates.", no_args_is_help=True)
contacts_app = typer.Typer(help="Contacts.", no_args_is_help=True)
campaigns_app = typer.Typer(help="Campaigns: create, price, confirm, follow.", no_args_is_help=True)
webhooks_app = typer.Typer(
    help="The delivery-status webhook the platform POSTs events to.", no_args_is_help=True
)
exports_app = typer.Typer(help="History and report exports.", no_args_is_help=True)


def _call(
    api_key: str | None, base_url: str | None, fn: Callable[[AsyncQlara], Any], as_json: bool
) -> None:
    """Run ``await fn(client)`` and print what it returns."""

    async def main() -> Any:
        async with make_client(api_key, base_url) as client:
            return await fn(client)

    print_result(run(main), as_json)


async def _collect(items: AsyncIterable[T], limit: int) -> list[T]:
    out: list[T] = []
    async for item in items:
        out.append(item)
        if len(out) >= limit:
            break
    return out


# ---------------------------------------------------------------------------- templates


@templates_app.command("list")
def templates_list(
    channel: Annotated[str, typer.Option("--channel", help="rcs or whatsapp.")] = "rcs",
    limit: LimitOption = 100,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """List templates."""
    kind = channel.lower()
    if kind not in ("rcs", "whatsapp"):
        raise typer.BadParameter(f"{channel!r}: expected rcs or whatsapp", param_hint="--channel")

    async def fn(c: AsyncQlara) -> Any:
        items = c.rcs.templates.list() if kind == "rcs" else c.whatsapp.templates.list()
        return await _collect(items, limit)

    _call(api_key, base_url, fn, json)


@templates_app.command("get")
def templates_get(
    id: IdArg,
    channel: Annotated[str, typer.Option("--channel", help="rcs or whatsapp.")] = "rcs",
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Show one template."""

    async def fn(c: AsyncQlara) -> Any:
        res = c.whatsapp.templates if channel.lower() == "whatsapp" else c.rcs.templates
        return await res.get(id)

    _call(api_key, base_url, fn, json)


# ---------------------------------------------------------------------------- contacts


@contacts_app.command("list")
def contacts_list(
    name: Annotated[str | None, typer.Option("--name", help="Filter by name.")] = None,
    limit: LimitOption = 100,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """List contacts."""
    _call(api_key, base_url, lambda c: _collect(c.contacts.list(name=name), limit), json)


@contacts_app.command("add")
def contacts_add(
    phone: Annotated[str, typer.Argument(help="The number, e.g. +393201234567.")],
    first_name: Annotated[str | None, typer.Option("--first-name")] = None,
    last_name: Annotated[str | None, typer.Option("--last-name")] = None,
    city: Annotated[str | None, typer.Option("--city")] = None,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Create a contact."""
    _call(
        api_key,
        base_url,
        lambda c: c.contacts.create(
            phone=phone, first_name=first_name, last_name=last_name, city=city
        ),
        json,
    )


@contacts_app.command("get")
def contacts_get(
    id: IdArg,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Show one contact."""
    _call(api_key, base_url, lambda c: c.contacts.get(id), json)


@contacts_app.command("delete")
def contacts_delete(
    ids: Annotated[list[int], typer.Argument(help="Ids to delete.")],
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Delete contacts."""
    _call(api_key, base_url, lambda c: c.contacts.delete(ids), json)


# ---------------------------------------------------------------------------- campaigns


@campaigns_app.command("list")
def campaigns_list(
    limit: LimitOption = 100,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """List campaigns with their counters."""
    _call(api_key, base_url, lambda c: _collect(c.campaigns.list(), limit), json)


@campaigns_app.command("create")
def campaigns_create(
    name: Annotated[str, typer.Option("--name")],
    sender: Annotated[str, typer.Option("--sender", help="SMS sender.")],
    body: Annotated[str, typer.Option("--body", help="SMS text ({{placeholder}} syntax).")],
    contact_list: Annotated[
        list[int] | None, typer.Option("--list", help="A contact list id; repeatable.")
    ] = None,
    destination: Annotated[
        list[str] | None, typer.Option("--to", help="A number instead of lists; repeatable.")
    ] = None,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Create an SMS campaign (a draft until `campaigns confirm`)."""
    if bool(contact_list) == bool(destination):
        raise typer.BadParameter("give --list or --to (one of them)", param_hint="--list")

    async def fn(c: AsyncQlara) -> Any:
        return await c.campaigns.create(
            name=name,
            sending_mode="SMS",
            destination_type=1 if contact_list else 2,
            contact_list_ids=contact_list,
            destinations=destination,
            sms_sender=sender,
            sms_body=body,
        )

    _call(api_key, base_url, fn, json)


@campaigns_app.command("get")
def campaigns_get(
    id: IdArg,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Show one campaign."""
    _call(api_key, base_url, lambda c: c.campaigns.get(id), json)


@campaigns_app.command("cost")
def campaigns_cost(
    id: IdArg,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Calculate what a campaign will cost."""
    _call(api_key, base_url, lambda c: c.campaigns.calculate_cost(id), json)


@campaigns_app.command("confirm")
def campaigns_confirm(
    id: IdArg,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Schedule and send a campaign."""
    _call(api_key, base_url, lambda c: c.campaigns.confirm(id), json)


@campaigns_app.command("stats")
def campaigns_stats(
    api_key: ApiKeyOption = None, base_url: BaseUrlOption = None, json: JsonOption = False
) -> None:
    """Delivery statistics."""
    _call(api_key, base_url, lambda c: c.campaigns.stats(), json)


# ---------------------------------------------------------------------------- webhooks


@webhooks_app.command("configure")
def webhooks_configure(
    callback_url: Annotated[str, typer.Argument(help="Where the platform POSTs events.")],
    replace: Annotated[bool, typer.Option("--replace", help="Replace an existing one.")] = False,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Configure the delivery-status webhook."""
    _call(api_key, base_url, lambda c: c.webhooks.configure(callback_url, replace=replace), json)


@webhooks_app.command("get")
def webhooks_get(
    api_key: ApiKeyOption = None, base_url: BaseUrlOption = None, json: JsonOption = False
) -> None:
    """Show the configured webhook."""
    _call(api_key, base_url, lambda c: c.webhooks.get(), json)


@webhooks_app.command("update")
def webhooks_update(
    callback_url: Annotated[str, typer.Argument(help="The new callback URL.")],
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Change the webhook's callback URL."""
    _call(api_key, base_url, lambda c: c.webhooks.update(callback_url), json)


@webhooks_app.command("delete")
def webhooks_delete(
    api_key: ApiKeyOption = None, base_url: BaseUrlOption = None, json: JsonOption = False
) -> None:
    """Remove the webhook."""
    _call(api_key, base_url, lambda c: c.webhooks.delete(), json)


@webhooks_app.command("listen")
def webhooks_listen(
    port: Annotated[int, typer.Option("--port", help="Loopback port to listen on.")] = 8787,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            envvar="QLARA_WEBHOOK_TOKEN",
            help="Refuse (401) callbacks whose URL lacks ?token=THIS. Never printed.",
            show_default=False,
        ),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON object per event.")] = False,
) -> None:
    """Receive callbacks on loopback and print each distinct event as a line (Ctrl-C stops)."""
    if not 0 < port < 65536:
        raise typer.BadParameter(f"{port}: expected 1-65535", param_hint="--port")
    # Imported here: the receiver's module pulls in uvicorn only for this command.
    from ..webhooks._listen import run_listener

    where = f"http://127.0.0.1:{port}/?token=..." if token else f"http://127.0.0.1:{port}/"

    def ready(_stop: Callable[[], None]) -> None:
        # Printed once the socket listens, so a script can wait for this line.
        err_console.print(f"listening for callbacks on {where} (Ctrl-C stops)")

    try:
        run_listener(port, token, json_lines=json, on_ready=ready)
    except KeyboardInterrupt:
        pass


# ---------------------------------------------------------------------------- exports


@exports_app.command("list")
def exports_list(
    limit: LimitOption = 100,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """List export jobs."""
    _call(api_key, base_url, lambda c: _collect(c.exports.list(), limit), json)


@exports_app.command("history")
def exports_history(
    channel: Annotated[str | None, typer.Option("--channel", help="SMS, RCS or WHATSAPP.")] = None,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Start an export of the message history (then `exports download ID`)."""
    _call(
        api_key,
        base_url,
        lambda c: c.messages.export_history(channel=channel.upper() if channel else None),
        json,
    )


@exports_app.command("download")
def exports_download(
    export_id: Annotated[int, typer.Argument(help="The export's id.")],
    output: Annotated[
        str | None, typer.Option("--output", "-o", help="Save the file here (else print the URL).")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds for it all: the wait and the download.")
    ] = 600.0,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="Seconds.")] = 2.0,
    max_bytes: Annotated[
        int, typer.Option("--max-bytes", help="Refuse a download larger than this.")
    ] = 2**31,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Wait for an export to be ready; print its download link, or save it with --output."""

    async def main() -> Any:
        # --timeout bounds the whole command, the download included: a link that trickles
        # a byte a second must not hold it for ever.
        deadline = anyio.current_time() + timeout
        async with make_client(api_key, base_url) as client:
            link = await client.exports.wait(
                export_id, timeout=timeout, poll_interval=poll_interval
            )
        if output is None:
            return link
        url = link.link
        if not url:
            raise ValidationError("the export has no download link", field="url")
        size = 0
        try:
            with anyio.fail_after(max(0.0, deadline - anyio.current_time())):
                # The link is pre-signed: no API key goes with it.
                async with httpx.AsyncClient(timeout=60.0) as http, http.stream("GET", url) as r:
                    r.raise_for_status()
                    async with await anyio.open_file(output, "wb") as f:
                        async for chunk in r.aiter_bytes():
                            size += len(chunk)
                            if size > max_bytes:
                                raise ValidationError(
                                    f"the export is larger than --max-bytes {max_bytes}",
                                    field="max_bytes",
                                )
                            await f.write(chunk)
        except TimeoutError:
            raise APITimeoutError(
                f"download of export {export_id} did not finish within --timeout {timeout:g} s"
                f" ({size} bytes received; {output} is incomplete)"
            ) from None
        except httpx.HTTPError as exc:
            raise APIConnectionError(f"download of export {export_id} failed: {exc}") from None
        return {"export_id": export_id, "saved": output}

    result = run(main)
    if not json and isinstance(result, dict) and "saved" in result:
        out_console.print(f"saved export {export_id} to {result['saved']}")
    else:
        print_result(result, json)
