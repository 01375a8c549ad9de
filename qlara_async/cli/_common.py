"""What every command shares: credentials, the client, output, errors, logging, rates.

Errors are one line on stderr and a non-zero exit, never a traceback: :func:`run` turns every
``QlaraError`` (and a bad option's ``ValueError``/``OSError``) into that line. The API key comes
from ``--api-key`` or ``QLARA_API_KEY`` and is never printed: the library scrubs it from its own
messages, and :func:`fail` masks it once more in case it appears in an echoed server body.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Annotated, Any, NoReturn, TypeVar

import msgspec
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .._client import AsyncQlara
from .._config import RateLimit
from .._exceptions import QlaraError

__all__ = [
    "ApiKeyOption",
    "BaseUrlOption",
    "JsonOption",
    "err_console",
    "fail",
    "make_client",
    "out_console",
    "parse_rate",
    "plan_rate",
    "print_json",
    "print_result",
    "run",
    "setup_logging",
]

T = TypeVar("T")

# soft_wrap: a message is one line however narrow the terminal (scripts grep it).
# emoji=False and no markup in data: a file name, an error or a server value holding "[/x]" or
# ":-1:" is printed as written, never parsed (rich would raise MarkupError or draw an emoji).
out_console = Console(highlight=False, soft_wrap=True, emoji=False, markup=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False, markup=False)

ApiKeyOption = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="QLARA_API_KEY",
        show_envvar=True,
        show_default=False,
        help="API key (default: $QLARA_API_KEY). Never printed.",
    ),
]
BaseUrlOption = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        envvar="QLARA_BASE_URL",
        show_envvar=True,
        help="API base URL (default: $QLARA_BASE_URL, else the production API).",
    ),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON for scripts.")]

_UNITS = {"ms": 0.001, "s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0}
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*\.?\d*)\s*([a-z]*)\s*$")
_PLANS = {"production": RateLimit.PRODUCTION, "trial": RateLimit.TRIAL}


def setup_logging() -> None:
    """``QLARA_LOG=debug`` (or ``info``) sends the library's logs to stderr, as ``OPENAI_LOG``
    does for openai-python. The library's redaction filter keeps the key out of them."""
    level = os.environ.get("QLARA_LOG", "").strip().lower()
    if level not in ("debug", "info"):
        # Quiet by default: without a handler, Python's last-resort handler would print every
        # library WARNING (one per bulk sender on a wrong key) above the command's own error.
        library = logging.getLogger("qlara_async")
        if not any(isinstance(h, logging.NullHandler) for h in library.handlers):
            library.addHandler(logging.NullHandler())
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    for name in ("qlara_async", "httpx"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
        logger.addHandler(handler)


def parse_rate(text: str) -> RateLimit:
    """``"200/1s"``, ``"50/s"``, ``"1000/1m"`` or several joined by commas
    (``"50/1s,1000/60s"``) as a :class:`RateLimit`; ``ValueError`` naming the option otherwise."""
    windows: list[tuple[int, float]] = []
    for part in text.split(","):
        m = _RATE.match(part.lower())
        unit = m.group(3) if m else ""
        if m is None or unit not in _UNITS or (unit == "" and not m.group(2)):
            raise typer.BadParameter(
                f"{part.strip()!r} is not a rate like 200/1s, 50/s or 1000/1m", param_hint="--rate"
            )
        count = int(m.group(1))
        try:
            period = float(m.group(2) or 1) * (_UNITS[unit] if unit else 1.0)
        except ValueError:  # "1/.s"
            raise typer.BadParameter(
                f"{part.strip()!r} is not a rate like 200/1s, 50/s or 1000/1m", param_hint="--rate"
            ) from None
        if count < 1 or period <= 0:
            raise typer.BadParameter(
                f"{part.strip()!r}: both sides must be positive", param_hint="--rate"
            )
        windows.append((count, period))
    try:
        return RateLimit(*windows)
    except QlaraError as exc:  # out of the bounds the limiter takes: a usage error, not a crash
        raise typer.BadParameter(f"{text.strip()!r}: {exc}", param_hint="--rate") from None


def plan_rate(plan: str | None, rate: str | None) -> RateLimit | None:
    """The rate limit of ``--rate`` or ``--plan`` (``production``, ``trial`` or ``none``)."""
    if rate is not None and plan is not None:
        raise typer.BadParameter("give either --plan or --rate, not both", param_hint="--rate")
    if rate is not None:
        return parse_rate(rate)
    name = (plan or "production").lower()
    if name == "none":
        return None
    if name not in _PLANS:
        raise typer.BadParameter(
            f"{plan!r}: expected production, trial or none", param_hint="--plan"
        )
    return _PLANS[name]


def make_client(
    api_key: str | None,
    base_url: str | None,
    *,
    rate_limit: RateLimit | None = RateLimit.PRODUCTION,
    **options: Any,
) -> AsyncQlara:
    """The client for a command; a missing key is one clear line, not a traceback."""
    if not api_key:
        fail("no API key: pass --api-key or set QLARA_API_KEY")
    return AsyncQlara(api_key=api_key, base_url=base_url, rate_limit=rate_limit, **options)


def fail(message: str, code: int = 1) -> NoReturn:
    """Print ``error: message`` on stderr (the key masked) and exit with ``code``."""
    key = os.environ.get("QLARA_API_KEY")
    if key and len(key) >= 4:
        message = message.replace(key, "***")
    err_console.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    raise typer.Exit(code)


def run(main: Callable[[], Awaitable[T]]) -> T:
    """Run ``main()`` on asyncio; every expected failure becomes one line and exit 1."""
    setup_logging()
    try:
        return asyncio.run(_call(main))
    except QlaraError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        err_console.print("interrupted")
        raise typer.Exit(130) from None
    except (OSError, ValueError) as exc:
        fail(f"{type(exc).__name__}: {exc}")


async def _call(main: Callable[[], Awaitable[T]]) -> T:
    return await main()


def to_builtins(value: Any) -> Any:
    """A library result (msgspec Structs, lists of them) as plain JSON-ready values."""
    return msgspec.to_builtins(value, str_keys=True)


def print_json(value: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(msgspec.json.encode(to_builtins(value)).decode() + "\n")
    sys.stdout.flush()


def print_result(value: Any, as_json: bool, *, title: str | None = None) -> None:
    """``value`` as JSON (``--json``) or as a table for people."""
    if as_json:
        print_json(value)
        return
    data = to_builtins(value)
    if data is None:
        out_console.print("done")
    elif isinstance(data, list):
        _print_rows(data, title)
    elif isinstance(data, Mapping):
        table = Table(title=title, show_header=False, box=None)
        for k, v in data.items():
            table.add_row(Text(str(k), style="bold"), _cell(v))
        out_console.print(table)
    else:
        out_console.print(str(data))


def _print_rows(rows: Iterable[Any], title: str | None) -> None:
    rows = list(rows)
    if not rows:
        out_console.print("(none)")
        return
    columns: list[str] = []
    for row in rows:
        for key in row if isinstance(row, Mapping) else ():
            if key not in columns:
                columns.append(key)
    table = Table(title=title)
    for name in columns[:8]:  # the rest stays readable with --json
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(_cell(row.get(name)) for name in columns[:8]))
    out_console.print(table)


def _cell(value: Any) -> Text:
    # Text, not a str: a cell is server data, never rich markup ("[link=...]" stays text).
    if value is None:
        return Text("")
    if isinstance(value, (dict, list)):
        return Text(msgspec.json.encode(value).decode())
    return Text(str(value))
