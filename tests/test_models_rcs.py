"""RCS models: inline bodies are a tagged union on ``type``; dicts become the right Struct."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest

from qlara_async.models import (
    RcsCard,
    RcsCardBody,
    RcsCarouselBody,
    RcsMessage,
    RcsSuggestion,
    RcsText,
    RcsTextBody,
    prepare_message,
    validate_message,
)

BASE: dict[str, Any] = {"destination": "+393401234567", "agent_id": 10}


@pytest.mark.parametrize(
    ("body", "cls"),
    [
        pytest.param({"type": "TEXT", "body": {"text": "hi"}}, RcsTextBody, id="TEXT"),
        pytest.param({"type": "CARD", "body": {"title": "t"}}, RcsCardBody, id="CARD"),
        pytest.param(
            {"type": "CAROUSEL", "body": {"cards": [{"title": "t"}]}},
            RcsCarouselBody,
            id="CAROUSEL",
        ),
    ],
)
def test_dict_body_becomes_its_struct(body: dict[str, Any], cls: type):
    """A docs-style dict body is converted to the Struct of its ``type``, and encodes back."""
    normalised = validate_message(RcsMessage(**BASE, body=body))
    assert isinstance(normalised, RcsMessage)
    assert isinstance(normalised.body, cls)
    assert msgspec.to_builtins(normalised.body) == body


def test_struct_body_encodes_its_type_tag():
    """A Struct body carries its ``type`` on the wire without the caller setting it."""
    body = RcsTextBody(
        body=RcsText(text="hi", suggestions=[RcsSuggestion(type="REPLY", text="ok")])
    )
    wire = json.loads(prepare_message(RcsMessage(**BASE, body=body)).content)
    assert wire["body"] == {
        "type": "TEXT",
        "body": {"text": "hi", "suggestions": [{"type": "REPLY", "text": "ok"}]},
    }


def test_card_fields_are_optional():
    """An empty card encodes as an empty object: every card field is optional."""
    wire = json.loads(prepare_message(RcsMessage(**BASE, body=RcsCardBody(body=RcsCard()))).content)
    assert wire["body"] == {"type": "CARD", "body": {}}


def test_template_send_has_no_body():
    """A template send encodes templateId and no body."""
    wire = json.loads(prepare_message(RcsMessage(**BASE, template_id=42)).content)
    assert "body" not in wire
    assert wire["templateId"] == 42


def test_dict_with_nested_structs_is_accepted():
    """A dict body may hold library Structs inside (e.g. suggestions)."""
    body = {
        "type": "CARD",
        "body": {"title": "t", "suggestions": [RcsSuggestion(type="URL", text="Go", value="u")]},
    }
    normalised = validate_message(RcsMessage(**BASE, body=body))
    assert isinstance(normalised, RcsMessage)
    assert isinstance(normalised.body, RcsCardBody)
    assert normalised.body.body.suggestions == [RcsSuggestion(type="URL", text="Go", value="u")]
