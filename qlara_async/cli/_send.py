"""``qlara send sms|rcs|whatsapp`` (one message) and ``qlara status`` (its delivery status)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
import typer

from .._exceptions import ValidationError
from ..models import SendResult
from ._common import (
    ApiKeyOption,
    BaseUrlOption,
    JsonOption,
    make_client,
    out_console,
    print_result,
    run,
)

__all__ = ["send_app", "status"]

send_app = typer.Typer(help="Send one SMS, RCS or WhatsApp message.", no_args_is_help=True)

DestinationArg = Annotated[str, typer.Argument(help="The recipient, e.g. +393201234567.")]
PlaceholderOption = Annotated[
    list[str] | None,
    typer.Option("--placeholder", "-p", help="NAME=VALUE for a {NAME} of the body; repeatable."),
]
MessageIdOption = Annotated[
    str | None, typer.Option("--message-id", help="Your id for the message (default: a UUID).")
]
SimulationOption = Annotated[
    bool, typer.Option("--simulation", help="Validate and price only; nothing is delivered.")
]


def _placeholders(items: list[str] | None) -> dict[str, str] | None:
    if not items:
        return None
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValidationError(f"--placeholder {item!r} is not NAME=VALUE", field="placeholders")
        out[name] = value
    return out


def _json_option(text: str | None, name: str) -> dict[str, Any] | None:
    if text is None:
        return None
    # A usage error (one line, exit 2): this runs before run(), which turns errors into lines.
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        raise typer.BadParameter(f"not valid JSON: {exc}", param_hint=f"--{name}") from None
    if not isinstance(value, dict):
        raise typer.BadParameter("must be a JSON object", param_hint=f"--{name}")
    return value


def _show(result: SendResult, as_json: bool) -> None:
    if as_json:
        print_result(result, True)
        return
    channels = {
        name: r
        for name, r in (
            ("sms", result.results.sms),
            ("rcs", result.results.rcs),
            ("whatsapp", result.results.whatsapp),
        )
        if r is not None
    }
    verdict = "[green]accepted[/]" if result.accepted else "[red]not accepted[/]"
    out_console.print(f"{verdict}  messageId {result.message_id}")
    for name, r in channels.items():
        reasons = f" ({', '.join(map(str, r.reasons))})" if r.reasons else ""
        state = "accepted" if r.accepted else "rejected"
        out_console.print(f"  {name}: {state}{reasons}")
    if not result.accepted:
        raise typer.Exit(1)


@send_app.command("sms")
def send_sms(
    destination: DestinationArg,
    sender: Annotated[str, typer.Option("--sender", help="Sender name or number.")],
    body: Annotated[str, typer.Option("--body", help="Text; {name} placeholders allowed.")],
    placeholder: PlaceholderOption = None,
    message_id: MessageIdOption = None,
    simulation: SimulationOption = False,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Send one SMS."""

    async def main() -> SendResult:
        async with make_client(api_key, base_url) as client:
            return await client.sms.send(
                destination=destination,
                sender=sender,
                body=body,
                placeholders=_placeholders(placeholder),
                message_id=message_id,
                simulation=simulation or None,
            )

    _show(run(main), json)


@send_app.command("rcs")
def send_rcs(
    destination: DestinationArg,
    agent_id: Annotated[int, typer.Option("--agent-id", help="The RCS agent.")],
    text: Annotated[str | None, typer.Option("--text", help="A plain text message.")] = None,
    template_id: Annotated[
        int | None, typer.Option("--template-id", help="An RCS template instead of --text.")
    ] = None,
    body_json: Annotated[
        str | None, typer.Option("--body-json", help="The body as the docs' JSON object.")
    ] = None,
    placeholder: PlaceholderOption = None,
    message_id: MessageIdOption = None,
    simulation: SimulationOption = False,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Send one RCS message: --text, --template-id or --body-json."""
    body = _json_option(body_json, "body-json")
    if text is not None:
        body = {"type": "TEXT", "body": {"text": text}}

    async def main() -> SendResult:
        async with make_client(api_key, base_url) as client:
            return await client.rcs.send(
                destination=destination,
                agent_id=agent_id,
                body=body,
                template_id=template_id,
                placeholders=_placeholders(placeholder),
                message_id=message_id,
                simulation=simulation or None,
            )

    _show(run(main), json)


@send_app.command("whatsapp")
def send_whatsapp(
    destination: DestinationArg,
    phone_number_id: Annotated[
        int, typer.Option("--phone-number-id", help="Your WhatsApp business number's id.")
    ],
    text: Annotated[
        str | None, typer.Option("--text", help="Free text (within 24 h of the user's message).")
    ] = None,
    template_id: Annotated[int | None, typer.Option("--template-id", help="A template.")] = None,
    body_json: Annotated[
        str | None, typer.Option("--body-json", help="The body as the docs' JSON object.")
    ] = None,
    placeholder: PlaceholderOption = None,
    message_id: MessageIdOption = None,
    simulation: SimulationOption = False,
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """Send one WhatsApp message: --template-id, --text or --body-json."""
    body = _json_option(body_json, "body-json")
    if text is not None:
        body = {"text": {"body": text}}
    template = {"id": template_id} if template_id is not None else None

    async def main() -> SendResult:
        async with make_client(api_key, base_url) as client:
            return await client.whatsapp.send(
                destination=destination,
                phone_number_id=phone_number_id,
                template=template,
                body=body,
                placeholders=_placeholders(placeholder),
                message_id=message_id,
                simulation=simulation or None,
            )

    _show(run(main), json)


def status(
    message_id: Annotated[str, typer.Argument(help="The messageId the message was sent with.")],
    channel: Annotated[str, typer.Option("--channel", help="sms, rcs or whatsapp.")] = "sms",
    api_key: ApiKeyOption = None,
    base_url: BaseUrlOption = None,
    json: JsonOption = False,
) -> None:
    """A message's delivery status (the overview's workflow 1)."""

    async def main() -> Any:
        async with make_client(api_key, base_url) as client:
            return await client.messages.status(message_id, channel=channel.upper())

    print_result(run(main), json, title="status")
