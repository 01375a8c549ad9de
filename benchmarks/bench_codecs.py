"""Benchmark: encoding a send request and decoding its response, three ways.

* msgspec: the library's own path (``SmsMessage`` Struct, ``msgspec.json`` encode; the
  response decoded into ``SendResult`` by ``decode_send_result``);
* stdlib: ``json`` + ``dataclasses`` (``json.dumps(asdict(...))``, ``json.loads`` and nested
  dataclasses built by hand, camelCase mapped);
* pydantic v2: ``BaseModel.model_dump_json(by_alias=True, exclude_none=True)`` and
  ``model_validate_json``.

µs per call, the best of ``--rounds``; ratios against msgspec measured in the same run.

    python benchmarks/bench_codecs.py
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import msgspec
from _common import SEND_OK, machine
from pydantic import BaseModel, ConfigDict, Field

from qlara_async import SmsMessage
from qlara_async.models import decode_send_result

MESSAGE = SmsMessage(
    destination="+393201234567",
    sender="MyBrand",
    body="Ciao {nome}, il tuo codice è 1234",
    message_id="5a0c1f3e-6f0e-4c1b-9a43-1b2c3d4e5f60",
    placeholders={"nome": "Marco"},
    simulation=False,
)
_encode = msgspec.json.Encoder().encode


@dataclasses.dataclass
class DcSms:
    destination: str
    sender: str
    body: str
    messageId: str | None = None
    placeholders: dict[str, str] | None = None
    simulation: bool | None = None
    campaignId: str | None = None


@dataclasses.dataclass
class DcSmsResult:
    accepted: bool
    unicode: bool = False
    parts: int = 1
    reasons: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class DcResults:
    sms: DcSmsResult | None = None


@dataclasses.dataclass
class DcSendResult:
    messageId: str
    simulation: bool
    results: DcResults


def dc_decode(data: bytes) -> DcSendResult:
    raw = json.loads(data)
    sms = raw["results"].get("sms")
    return DcSendResult(
        messageId=raw["messageId"],
        simulation=raw["simulation"],
        results=DcResults(sms=DcSmsResult(**sms) if sms is not None else None),
    )


class PdSms(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    destination: str
    sender: str
    body: str
    message_id: str | None = Field(None, alias="messageId")
    placeholders: dict[str, str] | None = None
    simulation: bool | None = None
    campaign_id: str | None = Field(None, alias="campaignId")


class PdSmsResult(BaseModel):
    accepted: bool
    unicode: bool = False
    parts: int = 1
    reasons: list[str] = []


class PdResults(BaseModel):
    sms: PdSmsResult | None = None


class PdSendResult(BaseModel):
    model_config = ConfigDict(populate_by_name=True)
    message_id: str = Field(alias="messageId")
    simulation: bool
    results: PdResults


DC = DcSms(
    "+393201234567",
    "MyBrand",
    "Ciao {nome}, il tuo codice è 1234",
    MESSAGE.message_id,
    {"nome": "Marco"},
    False,
)
PD = PdSms(
    destination="+393201234567",
    sender="MyBrand",
    body="Ciao {nome}, il tuo codice è 1234",
    message_id=MESSAGE.message_id,
    placeholders={"nome": "Marco"},
    simulation=False,
)


def _dc_encode() -> bytes:
    return json.dumps({k: v for k, v in dataclasses.asdict(DC).items() if v is not None}).encode()


CASES: dict[str, dict[str, Callable[[], Any]]] = {
    "msgspec (the library)": {
        "encode": lambda: _encode(MESSAGE),
        "decode": lambda: decode_send_result(SEND_OK),
    },
    "stdlib json + dataclasses": {"encode": _dc_encode, "decode": lambda: dc_decode(SEND_OK)},
    "pydantic v2": {
        "encode": lambda: PD.model_dump_json(by_alias=True, exclude_none=True).encode(),
        "decode": lambda: PdSendResult.model_validate_json(SEND_OK),
    },
}


def _per_call(n: int, f: Callable[[], Any]) -> float:
    start = time.process_time()
    for _ in range(n):
        f()
    return (time.process_time() - start) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    # The three produce the same request body (same keys and values).
    assert (
        json.loads(_encode(MESSAGE))
        == json.loads(_dc_encode())
        == json.loads(CASES["pydantic v2"]["encode"]())
    )
    best = {(lib, op): float("inf") for lib, ops in CASES.items() for op in ops}
    for _ in range(args.rounds):
        for lib, ops in CASES.items():
            for op, f in ops.items():
                best[lib, op] = min(best[lib, op], _per_call(args.n // args.rounds, f))
    base = best["msgspec (the library)", "encode"] + best["msgspec (the library)", "decode"]
    print("## Codecs: a send request encoded, its response decoded\n")
    print(machine())
    print(
        "\n| codec | encode µs | decode µs | encode+decode µs | x msgspec |\n|---|---:|---:|---:|---:|"
    )
    for lib in CASES:
        total = best[lib, "encode"] + best[lib, "decode"]
        print(
            f"| {lib} | {best[lib, 'encode']:.2f} | {best[lib, 'decode']:.2f} | {total:.2f} | {total / base:.1f} |"
        )


if __name__ == "__main__":
    main()
