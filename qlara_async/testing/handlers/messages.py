"""Delivery status (polling), message history and its export, over the messages sent through the
simulator's send endpoints (its send log, per API key).

Endpoints: ``GET /partner-gateway/v1/messages/status/{customerMessageId}?channel=``,
``GET .../messages/status`` (batch), ``GET /partner-gateway/v1/rcs/messages/{messageId}``,
``GET /partner-gateway/v1/whatsapp/messages/{messageId}``, ``GET .../messages/history`` and
``POST .../messages/history/export``.

The reference names the endpoints, their query parameters, the WhatsApp statuses and (in the
overview) ``{deliveryStatus: "DELIVERED"}``; the rest the simulator decides:

* a message is found by the ``messageId`` it was sent with (a legacy send's ``ids[j]``, or
  ``{globalId}-{i}-{j}`` when it gave none); ``SMS`` covers both SMS APIs; an id never sent on that
  channel by this account is 404;
* its state is a function of the simulator's clock: ``SENT`` when processed, ``DELIVERED``
  (``statusCode`` 3) once ``delivery_delay`` seconds (a :class:`Simulator` knob, default 2) have
  passed; a send answered ``accepted: false`` is ``NOT_DELIVERED`` (6) at once, ``ERROR`` on
  WhatsApp;
* ``channel`` is required on the single status (ids are per channel): ``SMS``, ``RCS`` or
  ``WHATSAPP``; a bad value is a 400 naming it;
* the single and batch statuses answer ``{"customerMessageId", "messageId", "channel",
  "destination", "deliveryStatus", "statusCode", "description", "sentDate", "eventDate"}``; the RCS
  endpoint the RCS callback's fields ``{"messageId", "channel", "destination", "status",
  "statusCode", "description", "eventDate"}``, the WhatsApp one the same without ``statusCode``;
* the batch's ``batchId`` is a legacy send's ``globalId``, matching the messages whose ids were
  generated from it (ids given in ``ids`` are not linked to their batch), or a ``messageId``;
* history items are ``{"id", "messageId", "channel", "destination", "status", "sentDate"}`` in
  sending order, filtered by ``channel``, ``from``/``to`` (ISO 8601, on ``sentDate``) and
  ``status`` (``SENT``, ``DELIVERED``, ``NOT_DELIVERED``, ``ERROR``);
* the history export takes the same filters in the query and answers 202 with an export job of
  type ``MESSAGE_HISTORY`` (see ``exports.py``).
"""

from __future__ import annotations

from typing import Any, Final

from ._api import (
    BadRequest,
    NotFound,
    Reply,
    Request,
    Sent,
    json,
    paginate_offset,
    route,
)
from ._exports_jobs import request_export
from ._messages_query import CHANNELS, date_range, in_range, iso, one_of

__all__: list[str] = []

PATH: Final = "/partner-gateway/v1/messages"

_CHANNEL_OF: Final = {"sms": "SMS", "sms_legacy": "SMS", "rcs": "RCS", "whatsapp": "WHATSAPP"}
STATUSES: Final = ("SENT", "DELIVERED", "NOT_DELIVERED", "ERROR")


def _state(request: Request, sent: Sent) -> tuple[str, int | None, str, float]:
    """``(deliveryStatus, statusCode, description, eventDate)`` of ``sent`` now."""
    wall = request.wall_of(sent.time)
    if not sent.accepted:
        if _CHANNEL_OF[sent.channel] == "WHATSAPP":
            return "ERROR", None, "rejected", wall
        return "NOT_DELIVERED", 6, "not delivered", wall
    delay = request.settings.delivery_delay
    if request.now - sent.time >= delay:
        return "DELIVERED", 3, "delivered", wall + delay
    return "SENT", None, "sent", wall


def _status(request: Request, sent: Sent) -> dict[str, Any]:
    word, code, description, when = _state(request, sent)
    return {
        "customerMessageId": sent.message_id,
        "messageId": sent.message_id,
        "channel": _CHANNEL_OF[sent.channel],
        "destination": sent.destination,
        "deliveryStatus": word,
        "statusCode": code,
        "description": description,
        "sentDate": iso(request.wall_of(sent.time)),
        "eventDate": iso(when),
    }


def _find(request: Request, channel: str, message_id: str) -> Sent:
    for sent in reversed(request.sent()):
        if sent.message_id == message_id and _CHANNEL_OF[sent.channel] == channel:
            return sent
    raise NotFound(f"Message {message_id} not found on channel {channel}.")


@route("GET", PATH + "/status/{customerMessageId}")
def _single(request: Request) -> Reply:
    channel = one_of(request, "channel", CHANNELS)
    if channel is None:
        raise BadRequest("'channel' can't be blank (SMS, RCS or WHATSAPP)")
    return json(_status(request, _find(request, channel, request.params["customerMessageId"])))


@route("GET", PATH + "/status")
def _batch(request: Request) -> Reply:
    channel = one_of(request, "channel", CHANNELS)
    start, stop = date_range(request)
    batch = request.query.get("batchId")
    items = [
        _status(request, sent)
        for sent in request.sent()
        if (channel is None or _CHANNEL_OF[sent.channel] == channel)
        and in_range(request.wall_of(sent.time), start, stop)
        and (
            batch is None
            or sent.message_id == batch
            or (sent.channel == "sms_legacy" and sent.message_id.startswith(batch + "-"))
        )
    ]
    return paginate_offset(request, items)


def _dedicated(request: Request, channel: str) -> dict[str, Any]:
    sent = _find(request, channel, request.params["messageId"])
    word, code, description, when = _state(request, sent)
    shown: dict[str, Any] = {
        "messageId": sent.message_id,
        "channel": channel,
        "destination": sent.destination,
        "status": word,
        "statusCode": code,
        "description": description,
        "eventDate": iso(when),
    }
    if channel == "WHATSAPP":
        del shown["statusCode"]
    return shown


@route("GET", "/partner-gateway/v1/rcs/messages/{messageId}")
def _rcs(request: Request) -> Reply:
    return json(_dedicated(request, "RCS"))


@route("GET", "/partner-gateway/v1/whatsapp/messages/{messageId}")
def _whatsapp(request: Request) -> Reply:
    return json(_dedicated(request, "WHATSAPP"))


def _history_filters(request: Request) -> dict[str, Any]:
    """The history filters, validated: channel, from, to, status."""
    date_range(request)
    return {
        "channel": one_of(request, "channel", CHANNELS),
        "from": request.query.get("from"),
        "to": request.query.get("to"),
        "status": one_of(request, "status", STATUSES),
    }


@route("GET", PATH + "/history")
def _history(request: Request) -> Reply:
    filters = _history_filters(request)
    start, stop = date_range(request)
    items = []
    for i, sent in enumerate(request.sent(), start=1):
        wall = request.wall_of(sent.time)
        word = _state(request, sent)[0]
        if filters["channel"] not in (None, _CHANNEL_OF[sent.channel]):
            continue
        if filters["status"] not in (None, word) or not in_range(wall, start, stop):
            continue
        items.append(
            {
                "id": i,
                "messageId": sent.message_id,
                "channel": _CHANNEL_OF[sent.channel],
                "destination": sent.destination,
                "status": word,
                "sentDate": iso(wall),
            }
        )
    return paginate_offset(request, items)


@route("POST", PATH + "/history/export")
def _history_export(request: Request) -> Reply:
    if request.body.strip() not in (b"", b"{}"):
        raise BadRequest("This request takes no body: pass the filters as query parameters")
    return request_export(request, "MESSAGE_HISTORY", _history_filters(request))
