"""Messages from rows: dicts, CSV and JSON lines, with placeholders passed through as written."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qlara_async import QlaraError, ValidationError
from qlara_async.bulk import InvalidRow, messages_from_rows, read_csv, read_jsonl
from qlara_async.models import RcsMessage, SmsMessage, WhatsAppMessage


def test_sms_from_dicts_keeps_the_template_and_fills_placeholders() -> None:
    """The body is the template as written; the row's other fields become placeholders."""
    rows = [{"destination": "+393201234567", "nome": "Marco", "citta": "Roma"}]
    (m,) = messages_from_rows(rows, sender="Brand", body="Ciao {nome} da {citta}")
    assert isinstance(m, SmsMessage)
    assert m.body == "Ciao {nome} da {citta}"
    assert m.destination == "+393201234567" and m.sender == "Brand"
    assert m.placeholders == {"nome": "Marco", "citta": "Roma"}


def test_placeholder_fields_and_message_ids() -> None:
    """``placeholder_fields`` picks the placeholders; ``message_id_field`` sets the ids."""
    rows = [{"tel": "+393201234567", "nome": "Ada", "note": "x", "id": "r1"}]
    (m,) = messages_from_rows(
        rows,
        sender="B",
        body="Ciao {nome}",
        destination_field="tel",
        placeholder_fields=["nome"],
        message_id_field="id",
    )
    assert m.placeholders == {"nome": "Ada"} and m.message_id == "r1"


@pytest.mark.parametrize(
    ("channel", "fields", "cls"),
    [
        pytest.param("rcs", {"agent_id": 10, "template_id": 4}, RcsMessage, id="rcs"),
        pytest.param(
            "whatsapp", {"phone_number_id": 5, "template": {"id": 7}}, WhatsAppMessage, id="wa"
        ),
    ],
)
def test_other_channels(channel: str, fields: dict[str, object], cls: type) -> None:
    """RCS and WhatsApp messages take their fixed fields from keywords."""
    (m,) = messages_from_rows([{"destination": "+393201234567", "n": 1}], channel=channel, **fields)  # type: ignore[arg-type]
    assert isinstance(m, cls) and m.placeholders == {"n": "1"}


def test_unknown_channel() -> None:
    """A misspelled channel is refused."""
    with pytest.raises(ValueError, match="channel"):
        list(messages_from_rows([], channel="fax"))  # type: ignore[arg-type]


def test_read_csv_and_jsonl(tmp_path: Path) -> None:
    """CSV (with a byte-order mark) and JSON lines read lazily into dicts."""
    csv_path = tmp_path / "r.csv"
    csv_path.write_text("\ufeffdestination,nome\n+393201234567,Marco\n+393207654321,Anna\n")
    rows = list(read_csv(csv_path))
    assert rows == [
        {"destination": "+393201234567", "nome": "Marco"},
        {"destination": "+393207654321", "nome": "Anna"},
    ]
    jl = tmp_path / "r.jsonl"
    jl.write_text('{"destination": "+393201234567", "nome": "Marco"}\n\n{"destination": "+1"}\n')
    assert [r["destination"] for r in read_jsonl(jl)] == ["+393201234567", "+1"]
    jl.write_text("{oops\n")
    (bad,) = list(read_jsonl(jl))
    assert isinstance(bad, InvalidRow) and "line 1" in str(bad.error)


def test_a_row_without_destination_still_gives_a_message() -> None:
    """The job rejects it by validation, so every row has an outcome."""
    (m,) = messages_from_rows([{"nome": "x"}], sender="B", body="b")
    assert isinstance(m, SmsMessage) and m.destination == ""


def test_list_rows_are_refused_up_front() -> None:
    """6: rows that are not mappings are a ValidationError when the call is made."""
    with pytest.raises(ValidationError, match="mapping"):
        messages_from_rows([["+393201234567", "Marco"]], sender="B", body="Ciao")  # type: ignore[list-item]


def test_an_unknown_keyword_is_refused_up_front() -> None:
    """6: a keyword that is not a field of the message class names itself, before any row."""
    with pytest.raises(ValidationError, match="sendr") as info:
        messages_from_rows([{"destination": "+393201234567"}], sendr="B", body="Ciao")
    assert info.value.field == "sendr"


@pytest.mark.parametrize("reader", ["csv", "jsonl"])
def test_bad_utf8_names_the_file_and_line(tmp_path: Path, reader: str) -> None:
    """6: undecodable bytes give an InvalidRow whose error names the file and the line, and
    reading goes on (one damaged line costs its row, not the job)."""
    path = tmp_path / f"rows.{reader}"
    if reader == "csv":
        path.write_bytes(
            b"destination,nome\n+393201234567,Marco\n+393207654321,Ren\xe9e\n+39320111,Ok\n"
        )
        read = read_csv
    else:
        path.write_bytes(
            b'{"destination": "+1"}\n{"destination": "+2", "n": "Ren\xe9e"}\n{"destination": "+3"}\n'
        )
        read = read_jsonl  # type: ignore[assignment]
    rows = list(read(path))
    assert len(rows) == 3 and isinstance(rows[1], InvalidRow)
    assert not isinstance(rows[2], InvalidRow)
    error = rows[1].error
    assert isinstance(error, QlaraError)
    line = 3 if reader == "csv" else 2
    assert str(path) in str(error) and f"line {line}" in str(error)


def test_nested_jsonl_values_become_json_text(tmp_path: Path) -> None:
    """6: a nested value in a JSON line is sent as JSON text, not as a Python repr."""
    jl = tmp_path / "r.jsonl"
    jl.write_text('{"destination": "+393201234567", "extra": {"a": 1}, "tags": ["x", true]}\n')
    (m,) = messages_from_rows(read_jsonl(jl), sender="B", body="Ciao")
    assert m.placeholders == {"extra": '{"a":1}', "tags": '["x",true]'}


def test_a_placeholder_no_column_fills_is_refused_when_called() -> None:
    """21: a body placeholder that the first row's columns do not fill is refused at once,
    naming it and the columns there are."""
    rows = iter([{"destination": "+393201234567", "nome": "Marco"}])
    with pytest.raises(ValidationError) as info:
        messages_from_rows(rows, sender="B", body="Ciao {name}")
    assert info.value.field == "body"
    assert "{name}" in str(info.value) and "nome" in str(info.value)


def test_the_checked_first_row_is_still_yielded_and_the_rest_read_lazily() -> None:
    """21: the first row is read to check the template, then yielded first; the rest lazily."""
    pulled = []

    def rows() -> Iterator[dict[str, str]]:
        for i in range(3):
            pulled.append(i)
            yield {"destination": f"+39320123456{i}", "nome": str(i)}

    messages = messages_from_rows(
        rows(), sender="B", body="Ciao {nome} {shortLinkT1} {extra}", placeholders={"extra": "x"}
    )
    assert pulled == [0]
    assert [m.placeholders["nome"] for m in messages] == ["0", "1", "2"]  # type: ignore[index]


@pytest.mark.parametrize("reader", [read_csv, read_jsonl], ids=["csv", "jsonl"])
def test_a_missing_file_is_a_validation_error(reader: Any, tmp_path: Path) -> None:
    """A path that does not exist (or a directory) names the path, as a QlaraError."""
    for bad in (tmp_path / "nope.csv", tmp_path):
        with pytest.raises(ValidationError, match="cannot open") as info:
            list(reader(bad))
        assert info.value.field == "path"


def test_an_oversized_csv_field_names_the_line(tmp_path: Path) -> None:
    """csv's own errors (a field over its size limit) give an InvalidRow naming the line."""
    path = tmp_path / "big.csv"
    path.write_text("destination,nome\n+393201234567," + "x" * 200_000 + "\n+39320111,ok\n")
    rows = list(read_csv(path))
    assert isinstance(rows[0], InvalidRow) and "line 2" in str(rows[0].error)
    assert rows[1] == {"destination": "+39320111", "nome": "ok"}


@pytest.mark.anyio
async def test_a_bad_row_is_rejected_and_the_job_goes_on(tmp_path: Path) -> None:
    """Hostile review 5: one damaged line was the end of the job; now it is that row's
    rejected outcome and every other row is sent."""
    from ._fakes import SMS_OK, make_client

    path = tmp_path / "rows.csv"
    path.write_bytes(b"destination,nome\n+393201234567,A\n+393201234568,B\xff\n+393201234569,C\n")
    client, _, _ = make_client(lambda r: httpx.Response(200, json=SMS_OK))
    outcomes = []
    async with client:
        report = await client.bulk.run(
            messages_from_rows(read_csv(path), sender="MyBrand", body="Ciao {nome}"),
            on_outcome=outcomes.append,
        )
    assert (report.accepted, report.rejected, report.total) == (2, 1, 3)
    (bad,) = [o for o in outcomes if o.status == "rejected"]
    assert bad.index == 1 and "line 3" in str(bad.error) and bad.attempts == 0
