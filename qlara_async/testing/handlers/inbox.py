"""The inbox (two-way messaging): ``/partner-gateway/v1/inbox/conversations`` (list, reply,
messages, read, archive, unarchive).

The reference gives the parameters, the 202 of a reply and the 204s. Where it is silent, the
simulator decides:

* a conversation is ``{"id", "chatId" (the same), "channel" (``WHATSAPP`` or ``RCS``, the
  channels with inbound messages), "channelId" (the WhatsApp phone number or RCS agent),
  "contact": {"phone", "name"}, "lastMessageDate", "unreadCount", "archived",
  "creationDate"}``; its messages are kept in it (as ``_messages``, never shown) with ids from 1
  per conversation: ``{"id", "direction" (``INBOUND``/``OUTBOUND``), "messageType", "text",
  "mediaKey"?, "receivedDate" or "sentDate"}``;
* ``sim.seed("conversations", n)`` makes conversations with three messages each, the last one
  inbound; every third (from the first) has one unread message;
* the list pages with ``offset``/``limit`` (the partner-gateway style), in ``id`` order unless
  ``orderBy`` names ``id``, ``lastMessageDate``, ``creationDate`` or ``unreadCount`` (``+`` or
  no prefix ascending, ``-`` descending); archived conversations are listed, with
  ``archived: true``; ``dateFrom`` keeps conversations whose last message is at or after it;
* the messages list pages the same way, oldest first; ``idFrom`` > ``idTo`` is a 400;
* a reply is ``{"chatId", "text"?, "mediaKey"?}`` (one of the two at least); it is stored as an
  ``OUTBOUND`` message on the conversation's channel and answered
  ``{"id", "chatId", "channel", "status": "ACCEPTED"}`` (202);
* an unknown ``chatId`` (in the path or a reply) is a 404.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Final

import msgspec

from ._api import (
    BadRequest,
    Item,
    NotFound,
    Reply,
    Request,
    Strict,
    accepted,
    define_collection,
    no_content,
    paginate_offset,
    route,
)

__all__ = ["ReplyBody"]

PATH = "/partner-gateway/v1/inbox/conversations"

_BASE: Final = datetime(2026, 4, 9, 8, 0, tzinfo=timezone.utc).timestamp()


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _seed(i: int) -> dict[str, Any]:
    whatsapp = i % 2 == 0
    start = _BASE + i * 60
    messages = [
        ("INBOUND", "Buongiorno, vorrei informazioni sull'ordine."),
        ("OUTBOUND", "Certo! Ci può indicare il numero d'ordine?"),
        ("INBOUND", f"È il numero {1000 + i}."),
    ]
    return {
        "channel": "WHATSAPP" if whatsapp else "RCS",
        "channelId": 5 if whatsapp else 10,
        "contact": {"phone": f"+39320{i:07d}", "name": f"Cliente {i}"},
        "lastMessageDate": _iso(start + 2),
        "unreadCount": 1 if i % 3 == 0 else 0,
        "archived": False,
        "_messages": [
            {
                "id": n + 1,
                "direction": direction,
                "messageType": "TEXT",
                "text": text,
                ("receivedDate" if direction == "INBOUND" else "sentDate"): _iso(start + n),
            }
            for n, (direction, text) in enumerate(messages)
        ],
    }


CONVERSATIONS = define_collection("conversations", "Conversation", updated=None, seed=_seed)

_ORDER_FIELDS: Final = ("id", "lastMessageDate", "creationDate", "unreadCount")

NonEmpty = Annotated[str, msgspec.Meta(min_length=1)]


class ReplyBody(Strict, kw_only=True):
    """``POST .../conversations/reply``."""

    chat_id: NonEmpty | Annotated[int, msgspec.Meta(ge=1)]
    text: NonEmpty | None = None
    media_key: NonEmpty | None = None


def _public(item: Item) -> Item:
    out = {k: v for k, v in item.items() if not k.startswith("_")}
    return {"id": out.pop("id"), "chatId": item["id"], **out}


def _only_query(request: Request, allowed: set[str]) -> None:
    for name, _ in request.raw_query:
        if name not in allowed:
            raise BadRequest(f"Unsupported query parameter '{name}'")


def _conversation(request: Request, chat_id: str | int) -> Item:
    text = str(chat_id)
    if text.isdigit() and len(text) <= 18:
        found = request.collection(CONVERSATIONS.name).find(id=int(text))
        if found is not None:
            return found
    raise NotFound(f"Conversation {text} not found.")


def _parse_date(value: str) -> datetime:
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(f"'dateFrom' must be an ISO 8601 date, got {value!r}") from None
    return when if when.tzinfo else when.replace(tzinfo=timezone.utc)


@route("GET", PATH)
def _list(request: Request) -> Reply:
    _only_query(request, {"channelIds", "dateFrom", "orderBy", "unreadOnly", "offset", "limit"})
    channels: set[int] | None = None
    if "channelIds" in request.query:
        parts = request.query["channelIds"].split(",")
        if not all(p.strip().isdigit() for p in parts):
            raise BadRequest(
                f"'channelIds' must be comma-separated integers, got {request.query['channelIds']!r}"
            )
        channels = {int(p) for p in parts}
    since = _parse_date(request.query["dateFrom"]) if "dateFrom" in request.query else None
    unread = request.query.get("unreadOnly", "false")
    if unread not in ("true", "false"):
        raise BadRequest(f"'unreadOnly' must be true or false, got {unread!r}")
    order = request.query.get("orderBy", "+id")
    descending = order.startswith("-")
    field = order.lstrip("+-") if order[:1] in "+-" else order
    if field not in _ORDER_FIELDS or len(order) - len(field) > 1:
        raise BadRequest(
            f"'orderBy' must be one of {', '.join(_ORDER_FIELDS)} with a +/- prefix, got {order!r}"
        )

    def where(item: Item) -> bool:
        if channels is not None and item.get("channelId") not in channels:
            return False
        if unread == "true" and not item.get("unreadCount"):
            return False
        return since is None or _parse_date(item["lastMessageDate"]) >= since

    items = request.collection(CONVERSATIONS.name).list(where)
    items.sort(key=lambda item: (item.get(field), item["id"]), reverse=descending)
    return paginate_offset(request, [_public(item) for item in items])


@route("POST", PATH + "/reply")
def _reply(request: Request) -> Reply:
    body = request.decode(ReplyBody)
    if body.text is None and body.media_key is None:
        raise BadRequest("'text' can't be blank (give 'text', 'mediaKey' or both)")
    chat = _conversation(request, body.chat_id)
    messages: list[Item] = chat.get("_messages", [])
    message: Item = {
        "id": max((m["id"] for m in messages), default=0) + 1,
        "direction": "OUTBOUND",
        "messageType": "TEXT" if body.media_key is None else "MEDIA",
    }
    if body.text is not None:
        message["text"] = body.text
    if body.media_key is not None:
        message["mediaKey"] = body.media_key
    now = request.timestamp()
    message["sentDate"] = now
    request.collection(CONVERSATIONS.name).update(
        chat["id"], {"_messages": [*messages, message], "lastMessageDate": now}
    )
    return accepted(
        {
            "id": message["id"],
            "chatId": chat["id"],
            "channel": chat["channel"],
            "status": "ACCEPTED",
        }
    )


@route("GET", PATH + "/{chatId}/messages")
def _messages(request: Request) -> Reply:
    _only_query(request, {"idFrom", "idTo", "offset", "limit"})
    chat = _conversation(request, request.params["chatId"])
    low = request.query_int("idFrom", 0)
    high = request.query_int("idTo", 2**62)
    if low > high:
        raise BadRequest(f"'idFrom' ({low}) must not be greater than 'idTo' ({high})")
    items = [m for m in chat.get("_messages", []) if low <= m["id"] <= high]
    return paginate_offset(request, items)


def _flag(request: Request, changes: dict[str, Any]) -> Reply:
    chat = _conversation(request, request.params["chatId"])
    request.collection(CONVERSATIONS.name).update(chat["id"], changes)
    return no_content()


@route("PATCH", PATH + "/{chatId}/read")
def _read(request: Request) -> Reply:
    return _flag(request, {"unreadCount": 0})


@route("PATCH", PATH + "/{chatId}/archive")
def _archive(request: Request) -> Reply:
    return _flag(request, {"archived": True})


@route("PATCH", PATH + "/{chatId}/unarchive")
def _unarchive(request: Request) -> Reply:
    return _flag(request, {"archived": False})
