"""API keys: ``/partner-gateway/v1/authentication`` (list, create, find by value, delete).

The reference gives the create body (``username``, ``operations``), says the full ``apiKey`` is
visible only at creation, that the list is paginated and that delete answers 204. Where it is
silent, the simulator decides:

* an item is ``{"id", "username", "operations", "creationDate"}``; the create answer (201) adds
  ``apiKey``, and no other answer ever shows it;
* both create fields are required; ``operations`` is a list of strings, not checked against a list
  of operation names (the reference gives none);
* ``GET .../authentication/{value}`` finds a key by its full value (404 when none matches);
* keys created here are account data only: they do not authenticate requests to the simulator
  (``Simulator(api_keys=...)`` does that).
"""

from __future__ import annotations

import secrets
from typing import Any

from ._api import (
    Item,
    NotFound,
    Reply,
    Request,
    Strict,
    created,
    define_collection,
    json,
    no_content,
    paginate_offset,
    route,
)

__all__ = ["ApiKeyCreate"]

PATH = "/partner-gateway/v1/authentication"


def _new_key() -> str:
    return "qk_" + secrets.token_hex(16)


def _seed(i: int) -> dict[str, Any]:
    return {"username": f"user{i:04d}", "operations": ["SEND_SMS"], "apiKey": _new_key()}


API_KEYS = define_collection("api_keys", "API key", updated=None, seed=_seed)


class ApiKeyCreate(Strict):
    """``POST /partner-gateway/v1/authentication``."""

    username: str
    operations: list[str]


def _public(item: Item) -> Item:
    """The key as list and find show it: without the secret."""
    return {k: v for k, v in item.items() if k != "apiKey"}


@route("GET", PATH)
def _list(request: Request) -> Reply:
    items = [_public(item) for item in request.collection(API_KEYS.name).list()]
    return paginate_offset(request, items)


@route("POST", PATH)
def _create(request: Request) -> Reply:
    body = request.decode(ApiKeyCreate)
    item = request.collection(API_KEYS.name).create(
        {"username": body.username, "operations": body.operations, "apiKey": _new_key()}
    )
    return created(item)


@route("GET", PATH + "/{value}")
def _find(request: Request) -> Reply:
    item = request.collection(API_KEYS.name).find(apiKey=request.params["value"])
    if item is None:
        raise NotFound("API key not found.")  # the message does not repeat the secret
    return json(_public(item))


@route("DELETE", PATH + "/{id}")
def _delete(request: Request) -> Reply:
    request.collection(API_KEYS.name).delete(request.path_int("id"))
    return no_content()
