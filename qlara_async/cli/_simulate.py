"""``qlara simulate``: the simulator as a foreground server, for another process to use."""

from __future__ import annotations

import math
import signal
import sys
import threading
from types import FrameType
from typing import Annotated, Any

import typer

from ..testing import ArrivalLog, Faults, Simulator, SimulatorServer
from ..testing._ratemodels import MODELS
from ._common import err_console, fail, plan_rate

__all__ = ["parse_faults", "simulate"]

_FAULT_NAMES = {
    "503": "status_503",
    "500": "status_500",
    "reset": "reset",
    "drop": "drop",
    "slow": "slow",
}


def parse_faults(items: list[str] | None, slow_seconds: float) -> Faults:
    """``["503=0.1", "reset=0.02"]`` as :class:`Faults`; a bad item is a usage error."""
    values: dict[str, float] = {}
    for item in items or ():
        name, sep, value = item.partition("=")
        kind = _FAULT_NAMES.get(name.strip().lower())
        try:
            probability = float(value)
        except ValueError:
            probability = -1.0
        if not sep or kind is None or not 0.0 <= probability <= 1.0:
            raise typer.BadParameter(
                f"{item!r}: expected KIND=PROBABILITY with KIND one of"
                f" {', '.join(_FAULT_NAMES)} and a probability from 0 to 1",
                param_hint="--fault",
            )
        values[kind] = probability
    try:
        return Faults(slow_seconds=slow_seconds, **values)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--fault") from None


def simulate(
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: a free one).")] = 8808,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    plan: Annotated[
        str | None, typer.Option("--plan", help="production (default), trial or none.")
    ] = None,
    rate: Annotated[
        str | None, typer.Option("--rate", help="A custom limit instead: 200/1s, 50/1s,1000/60s.")
    ] = None,
    model: Annotated[
        str, typer.Option("--model", help=f"How the server counts: {', '.join(MODELS)}.")
    ] = "sliding",
    fault: Annotated[
        list[str] | None,
        typer.Option(
            "--fault", help="KIND=P: 503, 500, reset, drop or slow with probability P; repeatable."
        ),
    ] = None,
    slow_seconds: Annotated[
        float, typer.Option("--slow-seconds", help="How long a slow response waits.")
    ] = 5.0,
    seed: Annotated[
        int, typer.Option("--seed", help="Seeds the faults: the same run meets the same ones.")
    ] = 0,
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="An accepted API key (default: test-key); repeatable."),
    ] = None,
    reject: Annotated[
        list[str] | None,
        typer.Option("--reject", help="A destination answered accepted: false; repeatable."),
    ] = None,
    log: Annotated[
        str | None, typer.Option("--log", help="Append every arrival to FILE as a JSON line.")
    ] = None,
    log_bodies: Annotated[
        bool, typer.Option("--log-bodies", help="Put each request's JSON body in the log too.")
    ] = False,
) -> None:
    """Run the simulator in the foreground until Ctrl-C (a local Qlara API, no account needed).

    Clients use QLARA_BASE_URL=http://127.0.0.1:PORT/api and the key (test-key by default).
    GET /api/_simulator/stats answers its counters.
    """
    if not math.isfinite(slow_seconds) or slow_seconds < 0:
        raise typer.BadParameter(
            f"{slow_seconds!r}: expected a finite number of seconds, 0 or more",
            param_hint="--slow-seconds",
        )
    if key is not None and not all(k.strip() for k in key):
        raise typer.BadParameter("an API key cannot be empty", param_hint="--key")
    if model not in MODELS:
        raise typer.BadParameter(
            f"{model!r}: expected one of {', '.join(MODELS)}", param_hint="--model"
        )
    sim = Simulator(
        plan_rate(plan, rate),
        model=model,
        faults=parse_faults(fault, slow_seconds),
        seed=seed,
        api_keys=key or ("test-key",),
        rejected_destinations=reject or (),
    )
    app: Any = sim
    arrival_log: ArrivalLog | None = None
    if log is not None:
        try:
            arrival_log = app = ArrivalLog(sim, log, bodies=log_bodies)
        except OSError as exc:
            fail(f"--log {log}: {exc.strerror or exc}")
    server = SimulatorServer(app, host=host, port=port)
    try:
        url = server.start()
    except RuntimeError as exc:
        fail(f"cannot listen on {host}:{port}: {exc.__cause__ or exc}")
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    limit = "no limit" if sim.rate_limit is None else str(sim.rate_limit)
    # The URL goes to stdout alone on its line, flushed, so a script can read it.
    sys.stdout.write(f"QLARA_BASE_URL={url}\n")
    sys.stdout.flush()
    # The keys given are secrets like any API key: counted, never printed.
    keys = f"{len(key)} from --key" if key else "test-key"
    err_console.print(
        f"simulator on {url} ({limit}, model {model}, seed {seed}); keys: {keys}; Ctrl-C stops"
    )
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for s, handler in previous.items():
            signal.signal(s, handler)
        if arrival_log is not None:
            arrival_log.close()
    st = sim.stats
    err_console.print(
        f"stopped: {st.arrivals} requests, {st.processed} messages processed,"
        f" {st.duplicates} duplicates, {st.rate_limited} answered 429"
    )
