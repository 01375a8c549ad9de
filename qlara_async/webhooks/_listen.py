"""``qlara webhooks listen``: the receiver on loopback, printing each event as it arrives.

Kept free of the command-line framework so the CLI only parses options and calls
:func:`run_listener`. Lines carry the event type, channel, message id, status and time; phone
numbers and message text are left out of the one-line form (it is a terminal log), while
``--json`` prints the whole event for piping into tools.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import IO, Any

import msgspec

from ._events import DeliveryEvent, InboundEvent, ReadEvent, UnknownEvent, WebhookEvent
from ._receiver import WebhookReceiver

__all__ = ["format_event", "listener_app", "run_listener"]


def _safe(text: str) -> str:
    # The listener takes unauthenticated POSTs by default: a newline in a message id would
    # forge extra event lines, an ESC sequence would drive the terminal. Escape control
    # characters (C0, DEL, C1) the way repr() would.
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == " " else repr(c)[1:-1] for c in text)


def _when(event: WebhookEvent) -> str:
    when = event.event_time
    return when.isoformat().replace("+00:00", "Z") if when is not None else "-"


def format_event(event: WebhookEvent, *, json_lines: bool = False) -> str:
    """One line for ``event``: readable, or (``json_lines``) a JSON object with ``eventType``."""
    if json_lines:
        if isinstance(event, UnknownEvent):
            return msgspec.json.encode(event.data).decode()
        data: dict[str, Any] = msgspec.to_builtins(event)
        data = {"eventType": event.event_type.value, **data}
        return msgspec.json.encode(data).decode()
    if isinstance(event, UnknownEvent):
        kind, channel, mid = _safe(event.event_type), _safe(event.channel), event.message_id
        return f"{kind:<8} {channel:<8} {_safe(mid or '-')} (unknown event)"
    head = f"{event.event_type.value:<8} {event.channel.value:<8} {_safe(event.message_id or '-')}"
    if isinstance(event, DeliveryEvent):
        code = event.status_code
        name = getattr(code, "name", None) or (str(code) if code is not None else "-")
        return f"{head} {name} {_when(event)}"
    if isinstance(event, ReadEvent):
        return f"{head} READ {_when(event)}"
    assert isinstance(event, InboundEvent)
    kind = str(getattr(event.message_type, "value", event.message_type) or "-")
    media = " mediaKey" if event.media_key else ""
    return f"{head} {kind}{media} {_when(event)}"


def listener_app(
    *, token: str | None = None, json_lines: bool = False, out: IO[str] | None = None
) -> WebhookReceiver:
    """The receiver :func:`run_listener` serves: prints each distinct event to ``out``."""
    stream = out if out is not None else sys.stdout

    def show(event: WebhookEvent) -> None:
        print(format_event(event, json_lines=json_lines), file=stream, flush=True)

    return WebhookReceiver(show, token=token)


def run_listener(
    port: int = 8787,
    token: str | None = None,
    *,
    json_lines: bool = False,
    out: IO[str] | None = None,
    host: str = "127.0.0.1",
    on_ready: Callable[[Callable[[], None]], None] | None = None,
) -> None:
    """Serve the receiver on ``host:port`` under uvicorn (the ``cli`` extra) until interrupted.

    ``on_ready(stop)`` is called once the socket listens, with a function that stops the server
    (for tests and embedding).
    """
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - the cli extra brings it
        raise RuntimeError(
            "`qlara webhooks listen` needs uvicorn: pip install 'qlara-async[cli]'"
        ) from exc

    app = listener_app(token=token, json_lines=json_lines, out=out)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="on")

    class Server(uvicorn.Server):
        # uvicorn has no "listening" event: signal it when its startup (bind, listen) is done.
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            if self.started and on_ready is not None:
                loop = asyncio.get_running_loop()

                def stop() -> None:
                    loop.call_soon_threadsafe(setattr, self, "should_exit", True)

                on_ready(stop)

    server = Server(config)

    asyncio.run(server.serve())
